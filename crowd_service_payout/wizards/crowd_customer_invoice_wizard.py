from odoo import fields, models


class CrowdCustomerInvoiceWizard(models.TransientModel):
    _name = "crowd.customer.invoice.wizard"
    _inherit = "crowd.move.wizard"
    _description = "Create Customer Invoices from Completed Visits"
    _records_field = "charge_ids"
    _move_action = "account.action_move_out_invoice_type"

    charge_ids = fields.Many2many(
        "crowd.customer.charge",
        string="Visits",
        help="The selected visits; those still to invoice are invoiced, grouped per customer, currency and "
        "month. Nothing else is invoiced.",
    )
    post = fields.Boolean(string="Post Invoices")
    record_count = fields.Integer(string="Visits to Invoice")

    def action_create_invoices(self):
        """Invoice exactly the selected visits still to invoice; refuse when there are none."""
        return self._action_create_moves(
            self.env._("None of the selected visits can be invoiced: only visits still to invoice can."),
            self.env._("These visits were invoiced meanwhile."),
        )
