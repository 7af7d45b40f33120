from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    crowd_payout_double_threshold = fields.Monetary(
        string="Second Approval Above",
        currency_field="currency_id",
        help="Payouts above this amount (company currency) need a second approval by another approver. "
        "0 disables the second approval.",
    )
    crowd_payout_auto_post = fields.Boolean(string="Post Payout Bills", help="Post vendor bills made from payouts.")
    crowd_payout_journal_id = fields.Many2one(
        "account.journal",
        string="Payout Bills Journal",
        domain="[('type', '=', 'purchase'), ('company_id', '=', id)]",
    )
    crowd_payout_analytic_account_id = fields.Many2one(
        "account.analytic.account", string="Default Payout Analytic Account"
    )
    crowd_pay_max_multiplier = fields.Float(
        string="Highest Pay Multiplier",
        default=2.0,
        help="Cap on the product of the pay rules and shortage pay: 2 pays at most twice the package rate. 0: no cap.",
    )
    crowd_internal_cost_per_job = fields.Monetary(
        string="Internal Cost per Job",
        currency_field="currency_id",
        help="Cost of a job done by an own technician, to compare with crowd payouts.",
    )
    crowd_internal_hourly_cost = fields.Monetary(
        string="Internal Hourly Cost",
        currency_field="currency_id",
        help="Cost of an hour of an own technician on site, for the margin report (a technician can have their own).",
    )
    crowd_invoice_auto_post = fields.Boolean(
        string="Post Visit Invoices", help="Post the customer invoices made from completed visits."
    )
    crowd_invoice_journal_id = fields.Many2one(
        "account.journal",
        string="Visit Invoices Journal",
        domain="[('type', '=', 'sale'), ('company_id', '=', id)]",
    )
