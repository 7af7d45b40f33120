from odoo import api, fields, models
from odoo.exceptions import AccessError

from .maintenance_request import CHARGE_READERS

ORIGIN_FIELDS = ("crowd_payout_origin_id", "crowd_charge_origin_ids")


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    crowd_payout_origin_id = fields.Many2one(
        "crowd.payout", string="Crowd Payout", readonly=True, copy=False, index="btree_not_null"
    )
    # The visits a customer invoice line was made for (like visits share a line): kept when the
    # invoice is reset to draft, which releases them, so that posting it again takes them back.
    crowd_charge_origin_ids = fields.Many2many(
        "crowd.customer.charge",
        "account_move_line_crowd_charge_origin_rel",
        "line_id",
        "charge_id",
        string="Crowd Visits Invoiced",
        readonly=True,
        copy=False,
    )
    # The visits invoiced by this line now (their many2one move_line_id).
    crowd_charge_ids = fields.One2many(
        "crowd.customer.charge", "move_line_id", string="Crowd Visits", readonly=True, groups=CHARGE_READERS
    )

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get(fname) for vals in vals_list for fname in ORIGIN_FIELDS):
            self._check_crowd_origin_link()
        return super().create(vals_list)

    def write(self, vals):
        if any(fname in vals for fname in ORIGIN_FIELDS):
            self._check_crowd_origin_link()
        return super().write(vals)

    def _check_crowd_origin_link(self):
        # Only the billing and invoicing runs (as superuser, after their own checks) link lines to
        # payouts and visits: a line pointing at someone else's record would pay or release it.
        if not self.env.su:
            raise AccessError(
                self.env._("Lines are linked to crowd payouts and visits by the crowd billing and invoicing only.")
            )

    def _reconcile_post_hook(self, data):
        res = super()._reconcile_post_hook(data)
        # A move fully reversed by its credit note releases its records: they can go on a move again.
        reversed_moves = data["not_paid_invoices"].filtered(lambda move: move.payment_state == "reversed")
        for records in reversed_moves._crowd_sources():
            records._release_from_move()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_release_crowd_payouts(self):
        # sudo: removing a line from a draft move frees its payout or visit
        for model in ("crowd.payout", "crowd.customer.charge"):
            self.env[model].sudo().search([("move_line_id", "in", self.ids)])._release_from_move()
