from odoo import api, fields, models


class CrowdSkillLevel(models.Model):
    _name = "crowd.skill.level"
    _description = "Crowd Skill Level"
    _order = "skill_type_id, level_progress, sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    skill_type_id = fields.Many2one(
        "crowd.skill.type", string="Skill Type", required=True, ondelete="cascade", index=True
    )
    level_progress = fields.Integer(
        string="Progress", help="Progress from zero knowledge (0%) to fully mastered (100%)."
    )

    _sql_constraints = [
        (
            "level_progress_range",
            "CHECK(level_progress >= 0 AND level_progress <= 100)",
            "The progress of a skill level must be between 0 and 100.",
        ),
    ]

    @api.depends("name", "level_progress")
    def _compute_display_name(self):
        for level in self:
            level.display_name = f"{level.name or ''} ({level.level_progress}%)"
