from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    crowd_sla_minutes_0 = fields.Integer(related="company_id.crowd_sla_minutes_0", readonly=False)
    crowd_sla_minutes_1 = fields.Integer(related="company_id.crowd_sla_minutes_1", readonly=False)
    crowd_sla_minutes_2 = fields.Integer(related="company_id.crowd_sla_minutes_2", readonly=False)
    crowd_sla_minutes_3 = fields.Integer(related="company_id.crowd_sla_minutes_3", readonly=False)
    crowd_manager_id = fields.Many2one(related="company_id.crowd_manager_id", readonly=False)
