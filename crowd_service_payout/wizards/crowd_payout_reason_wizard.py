from odoo import fields, models


class CrowdPayoutReasonWizard(models.TransientModel):
    _name = "crowd.payout.reason.wizard"
    _description = "Reject or Cancel Crowd Payouts"

    mode = fields.Selection([("reject", "Reject"), ("cancel", "Cancel")], required=True, default="reject")
    payout_ids = fields.Many2many("crowd.payout", string="Payouts", required=True)
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.ensure_one()
        if self.mode == "reject":
            self.payout_ids._action_reject(self.reason)
        else:
            self.payout_ids._action_cancel(self.reason)
        return {"type": "ir.actions.act_window_close"}
