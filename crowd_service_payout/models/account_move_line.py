from odoo import api, fields, models
from odoo.exceptions import AccessError


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    crowd_payout_origin_id = fields.Many2one(
        "crowd.payout", string="Crowd Payout", readonly=True, copy=False, index="btree_not_null"
    )

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("crowd_payout_origin_id") for vals in vals_list):
            self._check_crowd_payout_link()
        return super().create(vals_list)

    def write(self, vals):
        if "crowd_payout_origin_id" in vals:
            self._check_crowd_payout_link()
        return super().write(vals)

    def _check_crowd_payout_link(self):
        # Only the payout billing (as superuser, after its own checks) links bill lines to
        # payouts: a line pointing at someone else's payout would pay or release it.
        if not self.env.su:
            raise AccessError(self.env._("Bill lines are linked to crowd payouts by the payout billing only."))

    def _reconcile_post_hook(self, data):
        res = super()._reconcile_post_hook(data)
        # A bill fully reversed by its credit note releases its payouts: they can be billed again.
        reversed_bills = data["not_paid_invoices"].filtered(lambda move: move.payment_state == "reversed")
        reversed_bills.sudo().crowd_payout_ids._release_from_bill()  # sudo: payouts follow their bill
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_release_crowd_payouts(self):
        # sudo: removing a line from a draft bill frees its payout
        self.env["crowd.payout"].sudo().search([("move_line_id", "in", self.ids)])._release_from_bill()
