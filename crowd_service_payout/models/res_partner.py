from odoo import fields, models

from .maintenance_request import PAYOUT_READERS


class ResPartner(models.Model):
    _inherit = "res.partner"

    # groups: reading a partner must not fail for internal users without rights on payouts
    crowd_payout_ids = fields.One2many("crowd.payout", "expert_id", string="Crowd Payouts", groups=PAYOUT_READERS)
    crowd_payout_count = fields.Integer(
        compute="_compute_crowd_payout_count", string="Payout Count", groups=PAYOUT_READERS
    )

    # groups: a cost figure of the crowd's own technicians, set by who manages the experts
    crowd_hourly_cost = fields.Float(
        string="Hourly Cost",
        groups="crowd_service.group_crowd_user",
        help="Cost of an hour on site of this own technician, for the margin report (default: the company's).",
    )

    _sql_constraints = [
        ("crowd_hourly_cost_positive", "CHECK(crowd_hourly_cost >= 0)", "The hourly cost cannot be negative."),
    ]

    def _compute_crowd_payout_count(self):
        counts = dict(self.env["crowd.payout"]._read_group([("expert_id", "in", self.ids)], ["expert_id"], ["__count"]))
        for partner in self:
            partner.crowd_payout_count = counts.get(partner._origin, 0)

    def action_view_crowd_payouts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_payout")
        action["domain"] = [("expert_id", "=", self.id)]
        action["context"] = {"default_expert_id": self.id}
        return action
