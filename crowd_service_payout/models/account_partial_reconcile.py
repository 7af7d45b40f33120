from odoo import models


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    def unlink(self):
        # A payment undone (unreconciled, reset to draft, cancelled): paid payouts and visits whose
        # move is no longer paid are billed (invoiced) again.
        moves = (self.debit_move_id | self.credit_move_id).move_id
        paid = [records.filtered(lambda r: r.state == "paid") for records in moves._crowd_sources()]
        res = super().unlink()
        for records in paid:
            records._mark_unpaid()
        return res
