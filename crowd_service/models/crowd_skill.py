from odoo import fields, models


class CrowdSkill(models.Model):
    _name = "crowd.skill"
    _description = "Crowd Skill"
    _order = "skill_type_id, sequence, name, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, help="Stable code used by dispatch rules and the engine.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    skill_type_id = fields.Many2one(
        "crowd.skill.type", string="Skill Type", required=True, ondelete="cascade", index=True
    )

    _sql_constraints = [
        ("code_unique", "unique(code)", "The code of a skill must be unique."),
    ]
