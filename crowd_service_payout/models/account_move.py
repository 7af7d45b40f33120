from odoo import api, fields, models
from odoo.exceptions import UserError


class AccountMove(models.Model):
    _inherit = "account.move"

    crowd_payout_ids = fields.One2many("crowd.payout", "move_id", string="Crowd Payouts")
    crowd_payout_count = fields.Integer(compute="_compute_crowd_payout_count", string="Payout Count")

    @api.depends("crowd_payout_ids")
    def _compute_crowd_payout_count(self):
        for move in self:
            move.crowd_payout_count = len(move.crowd_payout_ids)

    def _compute_payment_state(self):
        res = super()._compute_payment_state()
        # keep payouts in step with their bill (paid, or back to billed when a payment is undone)
        bills = self.filtered(lambda m: m.id and m.move_type == "in_invoice")
        if bills:
            bills.sudo().crowd_payout_ids._sync_payment()  # sudo: accountant may not read payouts
        return res

    def _invoice_paid_hook(self):
        res = super()._invoice_paid_hook()
        self.sudo().crowd_payout_ids._sync_payment()  # sudo: payment by an accountant without payout rights
        return res

    def _post(self, soft=True):
        # A bill reset to draft released its payouts; re-posting it must not pay them twice.
        lines = self.invoice_line_ids.filtered("crowd_payout_origin_id")
        for line in lines:
            payout = line.crowd_payout_origin_id.sudo()  # sudo: consistency check on the bill's origin
            if payout.move_line_id == line:
                continue
            if payout.state != "approved" or payout.move_line_id:
                raise UserError(
                    self.env._(
                        "Line “%(line)s” pays payout %(payout)s, which is %(state)s elsewhere: "
                        "remove the line before posting.",
                        line=line.name,
                        payout=payout.name,
                        state=dict(payout._fields["state"].selection)[payout.state],
                    )
                )
            payout.with_context(crowd_payout_system=True).write({"state": "billed", "move_line_id": line.id})
        return super()._post(soft=soft)

    def button_draft(self):
        res = super().button_draft()
        self.sudo().crowd_payout_ids._release_from_bill()  # sudo: the accountant resets the bill
        return res

    def button_cancel(self):
        res = super().button_cancel()
        self.sudo().crowd_payout_ids._release_from_bill()  # sudo: the accountant cancels the bill
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_release_crowd_payouts(self):
        self.sudo().crowd_payout_ids._release_from_bill()  # sudo: payouts follow their bill

    def action_view_crowd_payouts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_payout")
        action["domain"] = [("move_id", "=", self.id)]
        return action


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    crowd_payout_origin_id = fields.Many2one(
        "crowd.payout", string="Crowd Payout", readonly=True, copy=False, index="btree_not_null"
    )

    @api.ondelete(at_uninstall=False)
    def _unlink_release_crowd_payouts(self):
        payouts = self.env["crowd.payout"].sudo().search([("move_line_id", "in", self.ids)])
        payouts._release_from_bill()  # sudo: removing a line from a draft bill frees its payout
