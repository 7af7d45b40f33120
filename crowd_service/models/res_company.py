from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    crowd_sla_minutes_0 = fields.Integer(
        string="SLA Very Low (min)", default=2880, help="SLA in minutes for very low priority requests."
    )
    crowd_sla_minutes_1 = fields.Integer(
        string="SLA Low (min)", default=1440, help="SLA in minutes for low priority requests."
    )
    crowd_sla_minutes_2 = fields.Integer(
        string="SLA Normal (min)", default=480, help="SLA in minutes for normal priority requests."
    )
    crowd_sla_minutes_3 = fields.Integer(
        string="SLA High (min)", default=60, help="SLA in minutes for high priority requests."
    )
    crowd_manager_id = fields.Many2one(
        "res.users",
        string="Crowd Manager",
        domain="[('share', '=', False)]",
        help="Receives certificate renewal reminders when a certificate has no responsible.",
    )

    _sql_constraints = [
        (
            "crowd_sla_positive",
            "CHECK(crowd_sla_minutes_0 >= 0 AND crowd_sla_minutes_1 >= 0 "
            "AND crowd_sla_minutes_2 >= 0 AND crowd_sla_minutes_3 >= 0)",
            "SLA durations cannot be negative.",
        ),
    ]
