from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..models.crowd_vocabulary import CROWD_POOLS, CROWD_TIERS


class CrowdAssignWizard(models.TransientModel):
    """Assign an expert by hand, choosing among the engine's ranked suggestions and their explanations."""

    _name = "crowd.assign.wizard"
    _description = "Assign a Crowd Expert"

    job_id = fields.Many2one("crowd.job", required=True, readonly=True)
    line_ids = fields.One2many("crowd.assign.wizard.line", "wizard_id", string="Suggestions")
    expert_id = fields.Many2one(
        "res.partner", string="Expert", domain=[("is_crowd_expert", "=", True)], help="Chosen expert."
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        job = self.env["crowd.job"].browse(values.get("job_id"))
        if job and "line_ids" in fields_list:
            job._crowd_check_dispatcher()
            suggestions = self.env["crowd.dispatch.engine"]._rank(job, job._crowd_now(), k=10)
            values["line_ids"] = [
                Command.create(
                    {
                        "sequence": index,
                        "expert_id": s["expert_id"],
                        "score": s["score"],
                        "distance_km": s["distance_km"],
                        "eta_min": s["eta_min"],
                        "tier": s["tier"],
                        "expert_pool": s["expert_pool"],
                        "explanation": self.env["crowd.dispatch.engine"]._reasons_text(s["reason_codes"]),
                    }
                )
                for index, s in enumerate(suggestions, start=1)
            ]
            if suggestions and not values.get("expert_id"):
                values["expert_id"] = suggestions[0]["expert_id"]
        return values

    def action_assign(self):
        self.ensure_one()
        if not self.expert_id:
            raise UserError(self.env._("Choose an expert to assign."))
        self.job_id._crowd_assign_manual(self.expert_id)
        return {"type": "ir.actions.act_window_close"}


class CrowdAssignWizardLine(models.TransientModel):
    _name = "crowd.assign.wizard.line"
    _description = "Ranked Crowd Suggestion"
    _order = "sequence, id"

    wizard_id = fields.Many2one("crowd.assign.wizard", required=True, ondelete="cascade")
    sequence = fields.Integer("Rank")
    expert_id = fields.Many2one("res.partner", string="Expert", required=True)
    score = fields.Float(digits=(6, 4))
    distance_km = fields.Float("Distance (km)", digits=(10, 2))
    eta_min = fields.Float("ETA (min)", digits=(10, 1))
    tier = fields.Selection(CROWD_TIERS)
    expert_pool = fields.Selection(CROWD_POOLS)
    explanation = fields.Text()

    def action_choose(self):
        self.ensure_one()
        self.wizard_id.expert_id = self.expert_id
        return self.wizard_id.action_assign()
