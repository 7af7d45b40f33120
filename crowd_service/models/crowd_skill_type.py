from odoo import fields, models


class CrowdSkillType(models.Model):
    _name = "crowd.skill.type"
    _description = "Crowd Skill Type"
    _order = "sequence, name, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    skill_ids = fields.One2many("crowd.skill", "skill_type_id", string="Skills")
    level_ids = fields.One2many("crowd.skill.level", "skill_type_id", string="Levels")
