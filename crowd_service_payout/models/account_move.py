from odoo import api, fields, models
from odoo.exceptions import UserError

from .maintenance_request import PAYOUT_READERS


class AccountMove(models.Model):
    _inherit = "account.move"

    # groups: accountants without rights on payouts read bills all the same
    crowd_payout_ids = fields.One2many("crowd.payout", "move_id", string="Crowd Payouts", groups=PAYOUT_READERS)
    crowd_payout_count = fields.Integer(
        compute="_compute_crowd_payout_count", string="Payout Count", groups=PAYOUT_READERS
    )

    @api.depends("crowd_payout_ids")
    def _compute_crowd_payout_count(self):
        for move in self:
            move.crowd_payout_count = len(move.crowd_payout_ids)

    def _invoice_paid_hook(self):
        res = super()._invoice_paid_hook()
        # sudo: the accountant who pays the bill may have no rights on payouts
        self.sudo().crowd_payout_ids.filtered(lambda p: p.state == "billed")._write_workflow({"state": "paid"})
        return res

    def _post(self, soft=True):
        # A bill reset to draft released its payouts; posting it again takes them back, unless
        # they were billed elsewhere meanwhile: a payout is never on two bills.
        for line in self.invoice_line_ids.filtered("crowd_payout_origin_id"):
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
                        state=dict(payout._fields["state"]._description_selection(self.env))[payout.state],
                    )
                )
            payout._write_workflow({"state": "billed", "move_line_id": line.id})
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
        action["context"] = {}
        return action
