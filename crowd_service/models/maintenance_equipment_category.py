from odoo import fields, models


class MaintenanceEquipmentCategory(models.Model):
    _inherit = "maintenance.equipment.category"

    crowd_required_skill_ids = fields.One2many(
        "crowd.required.skill", "category_id", string="Required Skills", copy=True
    )
    crowd_certificate_type_ids = fields.Many2many(
        "crowd.certificate.type",
        "crowd_category_certificate_type_rel",
        "category_id",
        "type_id",
        string="Required Certificates",
    )
