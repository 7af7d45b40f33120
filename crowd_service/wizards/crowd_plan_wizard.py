from datetime import timedelta

from odoo import Command, api, fields, models


class CrowdPlanWizard(models.TransientModel):
    """Plan day: the dispatcher picks the day, the planner writes the routes, the wizard shows the result."""

    _name = "crowd.plan.wizard"
    _description = "Plan a Day of Planned Work"

    date = fields.Date("Day", required=True, default=lambda self: self._default_date())
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    state = fields.Selection([("draft", "Draft"), ("done", "Planned")], default="draft", readonly=True)
    route_ids = fields.Many2many("crowd.route", string="Routes", readonly=True)
    unplanned_ids = fields.Many2many("crowd.route.unplanned", string="Left Out", readonly=True)
    planned_count = fields.Integer("Visits Planned", readonly=True)
    unplanned_count = fields.Integer("Visits Left Out", compute="_compute_counts")
    distance_km = fields.Float("Distance (km)", compute="_compute_counts", digits=(10, 1))

    @api.model
    def _default_date(self):
        return self.env["crowd.route"]._crowd_today(self.env.company) + timedelta(days=1)

    @api.depends("unplanned_ids", "route_ids")
    def _compute_counts(self):
        for wizard in self:
            wizard.unplanned_count = len(wizard.unplanned_ids)
            wizard.distance_km = sum(wizard.route_ids.mapped("distance_km"))

    def action_plan(self):
        """Plan the day (the planner checks who plans, the day and the company) and show the result."""
        self.ensure_one()
        result = self.env["crowd.route"].action_plan_day(fields.Date.to_string(self.date), self.company_id.id)
        self.write(
            {
                "state": "done",
                "route_ids": [Command.set(result["routes"])],
                "unplanned_ids": [Command.set(result["unplanned"])],
                "planned_count": result["planned"],
            }
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Plan Day"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_view_routes(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service.action_crowd_route")
        action["domain"] = [("date", "=", self.date)]
        return action
