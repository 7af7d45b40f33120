from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError


class CrowdRequiredSkill(models.Model):
    _name = "crowd.required.skill"
    _description = "Crowd Required Skill"
    _order = "sequence, id"

    sequence = fields.Integer(default=10)
    skill_id = fields.Many2one("crowd.skill", string="Skill", required=True, ondelete="cascade")
    skill_type_id = fields.Many2one(related="skill_id.skill_type_id", store=True, string="Skill Type")
    min_level_id = fields.Many2one(
        "crowd.skill.level",
        string="Minimum Level",
        ondelete="restrict",
        domain="[('skill_type_id', '=', skill_type_id)]",
        help="Leave empty when any level of the skill is enough.",
    )
    min_level_progress = fields.Integer(related="min_level_id.level_progress", store=True, string="Minimum Progress")
    category_id = fields.Many2one(
        "maintenance.equipment.category", string="Equipment Category", ondelete="cascade", index=True
    )
    equipment_id = fields.Many2one("maintenance.equipment", string="Equipment", ondelete="cascade", index=True)
    request_id = fields.Many2one("maintenance.request", string="Maintenance Request", ondelete="cascade", index=True)
    job_id = fields.Many2one("crowd.job", string="Job", ondelete="cascade", index=True)

    @api.constrains("skill_id", "min_level_id")
    def _check_level_type(self):
        for line in self:
            if line.min_level_id and line.min_level_id.skill_type_id != line.skill_id.skill_type_id:
                raise ValidationError(
                    self.env._(
                        "The level %(level)s does not belong to the skill type %(type)s of %(skill)s.",
                        level=line.min_level_id.display_name,
                        type=line.skill_id.skill_type_id.name,
                        skill=line.skill_id.name,
                    )
                )

    @api.constrains("skill_id", "category_id", "equipment_id", "request_id", "job_id")
    def _check_owner(self):
        for line in self:
            owners = [o for o in (line.category_id, line.equipment_id, line.request_id, line.job_id) if o]
            if len(owners) != 1:
                raise ValidationError(
                    self.env._("A required skill belongs to exactly one equipment category, equipment, request or job.")
                )

    @api.onchange("skill_id")
    def _onchange_skill_id(self):
        if self.min_level_id and self.min_level_id.skill_type_id != self.skill_id.skill_type_id:
            self.min_level_id = False

    def _crowd_copy_vals(self):
        """Values to copy these lines onto another owner (Command.create payloads)."""
        return [
            {"sequence": line.sequence, "skill_id": line.skill_id.id, "min_level_id": line.min_level_id.id}
            for line in self
        ]

    def _crowd_check_owner_access(self):
        """A requirement line is edited by those who may edit what it belongs to (the equipment category,
        the equipment or the request: their access rights and company rules apply)."""
        if self.env.su:
            return
        for line in self:
            owner = line.category_id or line.equipment_id or line.request_id
            if owner:
                owner.check_access("write")

    # a job's requirements are set by the system when the job is created or escalated
    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("job_id") for vals in vals_list) and not self.env.su:
            raise AccessError(self.env._("A job's required skills are set by the dispatch system."))
        lines = super().create(vals_list)
        lines._crowd_check_owner_access()
        return lines

    def write(self, vals):
        if not self.env.su and (vals.get("job_id") or any(line.job_id for line in self)):
            raise AccessError(self.env._("A job's required skills are set by the dispatch system."))
        self._crowd_check_owner_access()
        result = super().write(vals)
        self._crowd_check_owner_access()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_job_requirement(self):
        if not self.env.su and any(line.job_id for line in self):
            raise AccessError(self.env._("A job's required skills are set by the dispatch system."))
        self._crowd_check_owner_access()
