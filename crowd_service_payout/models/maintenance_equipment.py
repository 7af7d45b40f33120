from odoo import fields, models


class MaintenanceEquipment(models.Model):
    _inherit = "maintenance.equipment"

    crowd_analytic_account_id = fields.Many2one(
        "account.analytic.account",
        string="Payout Analytic Account",
        check_company=True,
        help="Analytic account charged with crowd payouts for jobs on this equipment "
        "(falls back to the company default).",
    )
