from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    crowd_cost_per_job = fields.Monetary(
        string="Internal Cost per Job",
        currency_field="crowd_cost_currency_id",
        help="For own technicians: cost of one job, used to compare with crowd payouts "
        "(falls back to the company setting).",
    )
    crowd_cost_currency_id = fields.Many2one("res.currency", compute="_compute_crowd_cost_currency_id")
    crowd_payout_ids = fields.One2many("crowd.payout", "expert_id", string="Crowd Payouts")
    crowd_payout_count = fields.Integer(compute="_compute_crowd_payout_count", string="Payout Count")

    def _compute_crowd_cost_currency_id(self):
        for partner in self:
            partner.crowd_cost_currency_id = (partner.company_id or self.env.company).currency_id

    def _compute_crowd_payout_count(self):
        counts = dict(
            self.env["crowd.payout"]._read_group([("expert_id", "in", self.ids)], ["expert_id"], ["__count"])
        )
        for partner in self:
            partner.crowd_payout_count = counts.get(partner._origin, 0)

    def action_view_crowd_payouts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_payout")
        action["domain"] = [("expert_id", "=", self.id)]
        action["context"] = {"default_expert_id": self.id}
        return action
