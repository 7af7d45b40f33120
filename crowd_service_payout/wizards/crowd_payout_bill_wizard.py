from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class CrowdPayoutBillWizard(models.TransientModel):
    _name = "crowd.payout.bill.wizard"
    _description = "Create Vendor Bills from Crowd Payouts"

    payout_ids = fields.Many2many(
        "crowd.payout",
        string="Payouts",
        domain=[("state", "=", "approved")],
        help="Approved payouts to bill; they are grouped per vendor, currency and month.",
    )
    date_to = fields.Date(
        string="Jobs Up To",
        help="Only bill payouts of jobs done on or before this date (when no payouts are selected).",
    )
    post = fields.Boolean(string="Post Bills", default=lambda self: self.env.company.crowd_payout_auto_post)
    payout_count = fields.Integer(compute="_compute_payout_count")

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        if self.env.context.get("active_model") == "crowd.payout" and self.env.context.get("active_ids"):
            payouts = self.env["crowd.payout"].browse(self.env.context["active_ids"])
            res["payout_ids"] = [Command.set(payouts.filtered(lambda p: p.state == "approved").ids)]
        return res

    @api.depends("payout_ids", "date_to")
    def _compute_payout_count(self):
        for wizard in self:
            wizard.payout_count = len(wizard._get_payouts())

    def _get_payouts(self):
        self.ensure_one()
        if self.payout_ids:
            return self.payout_ids.filtered(lambda p: p.state == "approved")
        domain = [("state", "=", "approved"), ("company_id", "in", self.env.companies.ids)]
        if self.date_to:
            domain.append(("date", "<=", self.date_to))
        return self.env["crowd.payout"].search(domain)

    def action_create_bills(self):
        self.ensure_one()
        payouts = self._get_payouts()
        if not payouts:
            raise UserError(self.env._("There are no approved payouts to bill."))
        moves = payouts._create_bills(post=self.post)
        if not moves:
            raise UserError(self.env._("These payouts are already being billed or were billed meanwhile."))
        action = self.env["ir.actions.act_window"]._for_xml_id("account.action_move_in_invoice_type")
        action["domain"] = [("id", "in", moves.ids)]
        action["context"] = {"default_move_type": "in_invoice"}
        if len(moves) == 1:
            action.update({"views": [(False, "form")], "res_id": moves.id, "view_mode": "form"})
        return action
