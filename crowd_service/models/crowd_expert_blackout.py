from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CrowdExpertBlackout(models.Model):
    _name = "crowd.expert.blackout"
    _description = "Crowd Expert Unavailability"
    _order = "date_from desc, id"

    partner_id = fields.Many2one("res.partner", string="Expert", required=True, ondelete="cascade", index=True)
    date_from = fields.Datetime(string="From", required=True)
    date_to = fields.Datetime(string="To", required=True)
    reason = fields.Char()
    company_id = fields.Many2one("res.company", related="partner_id.crowd_company_id", store=True, string="Company")

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for blackout in self:
            if blackout.date_to < blackout.date_from:
                raise ValidationError(self.env._("An unavailability cannot end before it starts."))
