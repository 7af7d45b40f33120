from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    crowd_payout_double_threshold = fields.Monetary(
        related="company_id.crowd_payout_double_threshold", readonly=False, currency_field="currency_id"
    )
    crowd_payout_auto_post = fields.Boolean(related="company_id.crowd_payout_auto_post", readonly=False)
    crowd_payout_journal_id = fields.Many2one(related="company_id.crowd_payout_journal_id", readonly=False)
    crowd_payout_analytic_account_id = fields.Many2one(
        related="company_id.crowd_payout_analytic_account_id", readonly=False
    )
    crowd_pay_max_multiplier = fields.Float(related="company_id.crowd_pay_max_multiplier", readonly=False)
    crowd_internal_cost_per_job = fields.Monetary(
        related="company_id.crowd_internal_cost_per_job", readonly=False, currency_field="currency_id"
    )
    crowd_internal_hourly_cost = fields.Monetary(
        related="company_id.crowd_internal_hourly_cost", readonly=False, currency_field="currency_id"
    )
    crowd_invoice_auto_post = fields.Boolean(related="company_id.crowd_invoice_auto_post", readonly=False)
    crowd_invoice_journal_id = fields.Many2one(related="company_id.crowd_invoice_journal_id", readonly=False)
