from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

VERIFIER_FIELDS = {"verified_by_id", "verified_on"}


class CrowdExpertSkill(models.Model):
    _name = "crowd.expert.skill"
    _description = "Crowd Expert Skill"
    _order = "partner_id, skill_type_id, level_progress desc, id"

    partner_id = fields.Many2one("res.partner", string="Expert", required=True, ondelete="cascade", index=True)
    skill_id = fields.Many2one("crowd.skill", string="Skill", required=True, ondelete="cascade")
    skill_type_id = fields.Many2one(related="skill_id.skill_type_id", store=True, string="Skill Type")
    level_id = fields.Many2one(
        "crowd.skill.level",
        string="Level",
        required=True,
        ondelete="restrict",
        domain="[('skill_type_id', '=', skill_type_id)]",
    )
    level_progress = fields.Integer(related="level_id.level_progress", store=True, string="Progress")
    verified = fields.Boolean()
    verified_by_id = fields.Many2one("res.users", string="Verified By", readonly=True)
    verified_on = fields.Date(readonly=True)
    company_id = fields.Many2one("res.company", related="partner_id.crowd_company_id", store=True, string="Company")

    _sql_constraints = [
        (
            "partner_skill_unique",
            "unique(partner_id, skill_id)",
            "An expert can have each skill only once: edit the existing line instead.",
        ),
    ]

    @api.constrains("skill_id", "level_id")
    def _check_level_type(self):
        for line in self:
            if line.level_id.skill_type_id != line.skill_id.skill_type_id:
                raise ValidationError(
                    self.env._(
                        "The level %(level)s does not belong to the skill type %(type)s of %(skill)s.",
                        level=line.level_id.display_name,
                        type=line.skill_id.skill_type_id.name,
                        skill=line.skill_id.name,
                    )
                )

    @api.onchange("skill_id")
    def _onchange_skill_id(self):
        if self.level_id and self.level_id.skill_type_id != self.skill_id.skill_type_id:
            self.level_id = False

    def _crowd_check_verifier_fields(self, vals):
        """Who verified a skill, and when, is recorded from the verifying user: never sent by a client."""
        if not self.env.su and vals.keys() & VERIFIER_FIELDS:
            raise AccessError(self.env._("Who verified a skill is recorded when it is verified."))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._crowd_check_verifier_fields(vals)
        for vals in vals_list:
            if vals.get("verified"):
                vals.setdefault("verified_by_id", self.env.user.id)
                vals.setdefault("verified_on", fields.Date.context_today(self))
        return super().create(vals_list)

    def write(self, vals):
        self._crowd_check_verifier_fields(vals)
        if "verified" in vals:
            if vals["verified"]:
                vals.setdefault("verified_by_id", self.env.user.id)
                vals.setdefault("verified_on", fields.Date.context_today(self))
            else:
                vals.update(verified_by_id=False, verified_on=False)
        return super().write(vals)

    def action_verify(self):
        self.write({"verified": True})
