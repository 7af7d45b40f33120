from odoo import fields, models

PAYOUT_READERS = "crowd_service.group_crowd_user,crowd_service_payout.group_payout_approver"
# customer charges of visits: dispatchers and billing users
CHARGE_READERS = "crowd_service.group_crowd_user,account.group_account_invoice"


class MaintenanceRequest(models.Model):
    _inherit = "maintenance.request"

    crowd_payout_count = fields.Integer(
        compute="_compute_crowd_payout_count", string="Payout Count", groups=PAYOUT_READERS
    )

    def _compute_crowd_payout_count(self):
        """Payouts of the request's jobs (one per job)."""
        counts = dict(
            self.env["crowd.payout"]._read_group([("request_id", "in", self.ids)], ["request_id"], ["__count"])
        )
        for request in self:
            request.crowd_payout_count = counts.get(request._origin, 0)

    def action_view_crowd_payouts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_payout")
        action["domain"] = [("request_id", "=", self.id)]
        action["context"] = {}
        return action
