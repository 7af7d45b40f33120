"""Recruiting suggestions: where adding experts of which skill would help most, by the engine's simulator
run on the company's own demand (its job history) and supply (its expert pool)."""

import logging
import math
from collections import defaultdict
from datetime import timedelta

import pytz

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError

import crowd_dispatch
from crowd_dispatch.coverage import DemandJob, recruiting_suggestions

from ..models.crowd_map import map_settings

_logger = logging.getLogger(__name__)

MAX_REPLAY_JOBS = 300  # jobs replayed at most (the busiest days first)
MAX_AREAS = 3  # the areas with the most urgent jobs missing 60 minutes
MAX_SKILLS_PER_AREA = 2  # in each, the skills those jobs needed most: at most 6 cases, plus the baseline
DEFAULT_RECRUIT_RADIUS_KM = 30.0
SIM_SPEED_KMH = 40.0
BOUNDS = {
    "days": (1, 365),
    "busiest_days": (1, 5),
    "add_experts": (1, 10),
    "seeds": (1, 3),
}  # the simulator's travel speed (the engine's default road speed)


class CrowdRecruitWizard(models.TransientModel):
    _name = "crowd.recruit.wizard"
    _description = "Crowd Recruiting Suggestions"

    company_id = fields.Many2one("res.company", required=True, readonly=True, default=lambda self: self.env.company)
    days = fields.Integer(
        "History (days)", default=30, required=True, help="Jobs reported in this many days before today."
    )
    busiest_days = fields.Integer(
        "Days Replayed",
        default=1,
        required=True,
        help="The simulator replays the busiest days of the history (most urgent jobs first), one by one.",
    )
    add_experts = fields.Integer("Experts Added", default=2, required=True, help="Recruits simulated per suggestion.")
    seeds = fields.Integer(
        "Runs per Case", default=1, required=True, help="Simulation runs per case (different answers and travel)."
    )
    state = fields.Selection([("draft", "Draft"), ("done", "Done")], default="draft", readonly=True)
    urgent_jobs = fields.Integer("Urgent Jobs Replayed", readonly=True)
    baseline_share = fields.Float("Urgent On Site ≤ 60 min Today (%)", readonly=True, digits=(5, 1))
    missed = fields.Float("Urgent Jobs Missing 60 min", readonly=True, digits=(10, 1))
    line_ids = fields.One2many("crowd.recruit.wizard.line", "wizard_id", string="Suggestions", readonly=True)

    @api.constrains("days", "busiest_days", "add_experts", "seeds")
    def _check_bounds(self):
        for wizard in self:
            for name, (low, high) in BOUNDS.items():
                if not low <= wizard[name] <= high:
                    raise ValidationError(
                        self.env._(
                            "%(field)s must be from %(low)s to %(high)s.",
                            field=self._fields[name].get_description(self.env)["string"],
                            low=low,
                            high=high,
                        )
                    )

    def action_run(self):
        """Run the simulator on the company's history and list the suggestions, best first."""
        self.ensure_one()
        self.env["crowd.job"]._crowd_check_dispatcher()
        if self.company_id not in self.env.companies:
            raise UserError(self.env._("Choose one of your companies."))
        self._check_bounds()
        demand = self._crowd_demand()
        experts, radius = self._crowd_supply()
        _url, _attribution, cell_km = map_settings(self.env)
        try:
            result = recruiting_suggestions(
                demand,
                experts,
                cell_km=cell_km,
                add=self.add_experts,
                seeds=tuple(range(1, self.seeds + 1)),
                max_cells=MAX_AREAS,
                max_skills=MAX_SKILLS_PER_AREA,
                speed_kmh=SIM_SPEED_KMH,
                recruit_radius_km=radius,
            )
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("The simulation refused its input: %s", exc)) from exc
        skills = {
            skill.code: skill
            for skill in self.env["crowd.skill"].search([("code", "in", [s.skill for s in result["suggestions"]])])
        }
        self.write(
            {
                "state": "done",
                "urgent_jobs": result["urgent_jobs"],
                "baseline_share": 100.0 * result["baseline_share"],
                "missed": result["missed"],
                "line_ids": [Command.clear()]
                + [
                    Command.create(
                        {
                            "sequence": rank,
                            "skill_id": skills[s.skill].id if s.skill in skills else False,
                            "skill_code": s.skill,
                            "cell_key": s.cell,
                            "latitude": s.lat,
                            "longitude": s.lon,
                            "gain_points": s.gain_points,
                            "recovered": s.recovered,
                            "share": 100.0 * s.share,
                            "missed_in_cell": s.missed_in_cell,
                        }
                    )
                    for rank, s in enumerate(result["suggestions"], start=1)
                ],
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Recruiting Suggestions"),
        }

    def _crowd_demand(self):
        """DemandJobs of the busiest days of the history (the caller's record rules apply)."""
        Job = self.env["crowd.job"]
        engine = self.env["crowd.dispatch.engine"]
        now = Job._crowd_now()
        since = now - timedelta(days=self.days)
        jobs = Job.search(
            [
                ("company_id", "=", self.company_id.id),
                ("requested_at", ">=", since),
                ("requested_at", "<=", now),
                ("state", "!=", "cancelled"),
                "|",
                ("latitude", "!=", 0.0),
                ("longitude", "!=", 0.0),
            ],
            order="requested_at, id",
            limit=20 * MAX_REPLAY_JOBS,
        )
        tz = pytz.timezone(self.env.user.tz or "UTC")
        by_day = defaultdict(list)
        for job in jobs:
            local = pytz.UTC.localize(job.requested_at).astimezone(tz)
            by_day[local.date()].append((local, job))
        busiest = sorted(
            by_day,
            key=lambda d: (-sum(1 for _l, j in by_day[d] if j.priority == "3"), -len(by_day[d]), d),
        )[: self.busiest_days]
        demand = []
        for day in sorted(busiest):
            for local, job in by_day[day]:
                if len(demand) >= MAX_REPLAY_JOBS:
                    break
                created = job.requested_at
                sla_min = (
                    (job.sla_deadline - created).total_seconds() / 60.0
                    if job.sla_deadline and job.sla_deadline > created
                    else float(job._crowd_sla_minutes() or 480)
                )
                demand.append(
                    DemandJob(
                        day=str(day),
                        minute=local.hour * 60.0 + local.minute + local.second / 60.0,
                        lat=job.latitude,
                        lon=job.longitude,
                        priority=int(job.priority or 0),
                        skills=engine._required_levels(job),
                        service_min=float(job.planned_duration_min or 60.0),
                        sla_min=sla_min,
                    )
                )
        return demand

    def _crowd_supply(self):
        """Engine Experts of the company's active pool (the caller's record rules apply), and the radius
        given to recruits (the pool's median radius)."""
        partners = self.env["res.partner"].search(
            [
                ("is_crowd_expert", "=", True),
                ("crowd_state", "=", "active"),
                ("crowd_company_id", "=", self.company_id.id),
                "|",
                ("partner_latitude", "!=", 0.0),
                ("partner_longitude", "!=", 0.0),
            ],
            limit=5000,
        )
        skills = self.env["crowd.dispatch.engine"]._expert_skills(partners.ids)
        experts = []
        for partner in partners:
            try:
                experts.append(
                    crowd_dispatch.Expert(
                        id=partner.id,
                        kind=partner.crowd_kind or "freelance",
                        tier=partner.crowd_tier or "technician",
                        lat=partner.partner_latitude,
                        lon=partner.partner_longitude,
                        radius_km=float(partner.crowd_radius_km or 0.0),
                        skills=skills.get(partner.id, {}),
                        capacity=max(int(partner.crowd_max_jobs or 1), 1),
                        rating=min(max(float(partner.crowd_rating or 0.0), 0.0), 5.0),
                        cost_per_job=max(float(partner.crowd_cost_per_job or 0.0), 0.0),
                    )
                )
            except crowd_dispatch.InvalidInput as exc:
                _logger.warning("Crowd expert %s left out of the recruiting simulation: %s", partner.id, exc)
        radii = sorted(e.radius_km for e in experts if e.radius_km > 0)
        radius = radii[len(radii) // 2] if radii else DEFAULT_RECRUIT_RADIUS_KM
        return experts, radius if math.isfinite(radius) and radius > 0 else DEFAULT_RECRUIT_RADIUS_KM


class CrowdRecruitWizardLine(models.TransientModel):
    _name = "crowd.recruit.wizard.line"
    _description = "Crowd Recruiting Suggestion"
    _order = "sequence, id"

    wizard_id = fields.Many2one("crowd.recruit.wizard", required=True, ondelete="cascade")
    sequence = fields.Integer("Rank")
    skill_id = fields.Many2one("crowd.skill", string="Skill")
    skill_code = fields.Char("Skill Code")
    skill_label = fields.Char("Skill to Recruit", compute="_compute_skill_label")
    cell_key = fields.Char("Cell")
    area = fields.Char(compute="_compute_area", help="Where the recruits were placed: latitude, longitude.")
    latitude = fields.Float(digits=(10, 5))
    longitude = fields.Float(digits=(10, 5))
    gain_points = fields.Float("Expected Gain (points)", digits=(6, 1), help="Urgent jobs on site within 60 min.")
    recovered = fields.Float("Urgent Jobs Recovered", digits=(10, 1))
    share = fields.Float("Urgent On Site ≤ 60 min (%)", digits=(5, 1))
    missed_in_cell = fields.Integer("Missed in Area")

    @api.depends("skill_id", "skill_code")
    @api.depends_context("lang")
    def _compute_skill_label(self):
        for line in self:
            line.skill_label = line.skill_id.display_name or line.skill_code or self.env._("Any skill")

    @api.depends("latitude", "longitude")
    def _compute_area(self):
        for line in self:
            line.area = f"{line.latitude:.3f}, {line.longitude:.3f}"
