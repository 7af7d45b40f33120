from odoo import models


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    def unlink(self):
        # A payment undone (unreconciled, reset to draft, cancelled): paid payouts whose bill is
        # no longer paid are billed again.
        bills = (self.debit_move_id | self.credit_move_id).move_id
        paid = bills.sudo().crowd_payout_ids.filtered(lambda p: p.state == "paid")  # sudo: payouts follow their bill
        res = super().unlink()
        paid.filtered(lambda p: p.move_id.payment_state not in ("paid", "in_payment"))._write_workflow(
            {"state": "billed"}
        )
        return res
