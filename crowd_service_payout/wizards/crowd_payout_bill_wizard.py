from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class CrowdPayoutBillWizard(models.TransientModel):
    _name = "crowd.payout.bill.wizard"
    _description = "Create Vendor Bills from Crowd Payouts"

    payout_ids = fields.Many2many(
        "crowd.payout",
        string="Payouts",
        help="The selected payouts; the approved, unbilled ones among them are billed, grouped per vendor, "
        "currency and month. Nothing else is billed.",
    )
    post = fields.Boolean(string="Post Bills", default=lambda self: self.env.company.crowd_payout_auto_post)
    payout_count = fields.Integer(string="Payouts to Bill", compute="_compute_payout_count")

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        if self.env.context.get("active_model") == "crowd.payout" and self.env.context.get("active_ids"):
            res["payout_ids"] = [Command.set(self.env.context["active_ids"])]
        return res

    @api.depends("payout_ids")
    def _compute_payout_count(self):
        for wizard in self:
            wizard.payout_count = len(wizard._billable_payouts())

    def _billable_payouts(self):
        self.ensure_one()
        return self.payout_ids.filtered(lambda p: p.state == "approved" and not p.move_line_id)

    def action_create_bills(self):
        """Bill exactly the selected payouts that can be billed; refuse when none can."""
        self.ensure_one()
        payouts = self._billable_payouts()
        if not payouts:
            raise UserError(
                self.env._("None of the selected payouts can be billed: only approved, unbilled payouts can.")
            )
        moves = payouts._create_bills(post=self.post)
        if not moves:
            raise UserError(self.env._("These payouts were billed meanwhile."))
        action = self.env["ir.actions.act_window"]._for_xml_id("account.action_move_in_invoice_type")
        action["domain"] = [("id", "in", moves.ids)]
        action["context"] = {"default_move_type": "in_invoice"}
        if len(moves) == 1:
            action.update({"views": [(False, "form")], "res_id": moves.id, "view_mode": "form"})
        return action
