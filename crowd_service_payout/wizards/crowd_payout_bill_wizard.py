from odoo import fields, models


class CrowdPayoutBillWizard(models.TransientModel):
    _name = "crowd.payout.bill.wizard"
    _inherit = "crowd.move.wizard"
    _description = "Create Vendor Bills from Crowd Payouts"
    _records_field = "payout_ids"
    _move_action = "account.action_move_in_invoice_type"

    payout_ids = fields.Many2many(
        "crowd.payout",
        string="Payouts",
        help="The selected payouts; the approved, unbilled ones among them are billed, grouped per vendor, "
        "currency and month. Nothing else is billed.",
    )
    post = fields.Boolean(string="Post Bills")
    record_count = fields.Integer(string="Payouts to Bill")

    def action_create_bills(self):
        """Bill exactly the selected payouts that can be billed; refuse when none can."""
        return self._action_create_moves(
            self.env._("None of the selected payouts can be billed: only approved, unbilled payouts can."),
            self.env._("These payouts were billed meanwhile."),
        )
