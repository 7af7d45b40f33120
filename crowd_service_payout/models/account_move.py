from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from .maintenance_request import CHARGE_READERS, PAYOUT_READERS


class AccountMove(models.Model):
    _inherit = "account.move"

    # groups: accountants without rights on payouts read bills all the same
    crowd_payout_ids = fields.One2many("crowd.payout", "move_id", string="Crowd Payouts", groups=PAYOUT_READERS)
    crowd_payout_count = fields.Integer(
        compute="_compute_crowd_payout_count", string="Payout Count", groups=PAYOUT_READERS
    )
    crowd_charge_ids = fields.One2many("crowd.customer.charge", "move_id", string="Crowd Visits", groups=CHARGE_READERS)
    crowd_charge_count = fields.Integer(
        compute="_compute_crowd_charge_count", string="Visit Count", groups=CHARGE_READERS
    )

    @api.depends("crowd_payout_ids")
    def _compute_crowd_payout_count(self):
        for move in self:
            move.crowd_payout_count = len(move.crowd_payout_ids)

    @api.depends("crowd_charge_ids")
    def _compute_crowd_charge_count(self):
        for move in self:
            move.crowd_charge_count = len(move.crowd_charge_ids)

    def _crowd_sources(self):
        """The crowd records on these moves (payouts, customer charges), one recordset per model.
        sudo: they follow their move, whoever acts on it (the accountant may have no rights on them)."""
        moves = self.sudo()
        return [moves.crowd_payout_ids, moves.crowd_charge_ids]

    def _invoice_paid_hook(self):
        res = super()._invoice_paid_hook()
        for records in self._crowd_sources():
            records._mark_paid()
        return res

    def _post(self, soft=True):
        # A move reset to draft released its records; posting it again takes them back, unless
        # they went on another move meanwhile: a payout or a visit is never on two.
        for line in self.invoice_line_ids:
            visits = line.sudo().crowd_charge_origin_ids  # sudo: counted only
            if visits and float_compare(line.quantity, len(visits), precision_digits=6):
                # a lower quantity would leave visits invoiced that nobody billed
                raise UserError(
                    self.env._(
                        "Line “%(line)s” invoices %(count)s visits: its quantity must stay %(count)s. Change its "
                        "price instead, or remove the line to invoice its visits again.",
                        line=(line.name or "").split("\n")[0],
                        count=len(visits),
                    )
                )
            for origin in (line.crowd_payout_origin_id, line.crowd_charge_origin_ids):
                if origin:
                    origin.sudo()._take_back(line)  # sudo: consistency check on the line's origin
        posted = super()._post(soft=soft)
        # sudo: the visits follow the credit notes, whoever posts them
        self.env["crowd.customer.charge"].sudo()._release_credited_lines(
            posted.filtered(lambda m: m.move_type == "out_refund" and m.reversed_entry_id)
        )
        return posted

    def button_draft(self):
        res = super().button_draft()
        for records in self._crowd_sources():
            records._release_from_move()
        return res

    def button_cancel(self):
        res = super().button_cancel()
        for records in self._crowd_sources():
            records._release_from_move()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_release_crowd_payouts(self):
        for records in self._crowd_sources():
            records._release_from_move()

    def action_view_crowd_payouts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_payout")
        action["domain"] = [("move_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_crowd_charges(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_customer_charge")
        action["domain"] = [("move_id", "=", self.id)]
        action["context"] = {}
        return action
