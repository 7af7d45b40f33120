"""Day routes of planned work: one ``crowd.route`` per technician and day, its ordered ``crowd.route.stop``.

The engine plans (``crowd_dispatch.routing``: PyVRP, every plan checked); this file translates records
into the engine's visits and technicians and writes the plan back:

- visits: the company's planned work of the day (jobs of preventive requests, and corrective ones that
  are not urgent), new or escalated, with a site position, plus the stops already planned that are not
  started yet. The site's availability (``visit_window_start``/``_end``) is the visit's time window;
  the job's planned visit is its service time. Every visit is optional (a prize by priority), so a day
  that cannot hold everything still gets routes, and each visit left out is listed with its reason.
- technicians: the company's active experts with a home base who do planned work (own and partner
  technicians; freelancers who accepted it), on shift that day: their working hours (their calendar,
  else the company's) minus their unavailabilities, from the first hour to the last.
- who may do which visit: the engine's own gates (``crowd_dispatch.gates.evaluate``: tier, skills,
  certificates valid that day, cost ceiling, service radius from the home base), with every pool open
  and everybody free; each distinct set of eligible technicians becomes one routing profile.
- kept: a stop whose visit is en route, on site or done stays as it is, and the technician's day
  resumes from its site after it; a locked stop keeps its technician and its planned start.

Times in the engine are minutes from midnight of the planned day in the planning time zone (the
company's working hours' time zone).
"""

import logging
import time as time_module
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import numpy as np
import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.misc import format_datetime

import crowd_dispatch
from crowd_dispatch import Expert, ExpertPool
from crowd_dispatch.gates import evaluate
from crowd_dispatch.geo import haversine_km
from crowd_dispatch.model import Pool, PoolStep
from crowd_dispatch.routing import (
    NO_ROOM,
    NO_SKILLED_TECHNICIAN,
    OUT_OF_REACH,
    ROAD_FACTOR,
    InfeasiblePlan,
    RoutePlan,
    Technician,
    Visit,
    insert_urgent,
    plan_routes,
)
from crowd_dispatch.routing import Stop as EngineStop

_logger = logging.getLogger(__name__)

ROUTE_STATES = [("planned", "Planned"), ("in_progress", "In Progress"), ("done", "Done")]
STARTED_STATES = ("en_route", "on_site", "done")
PLANNABLE_STATES = ("new", "escalated")
URGENT_PRIORITY = "3"
DAY_MIN = 24 * 60.0
DEFAULT_SPEED_KMH = 40.0
DEFAULT_TIME_LIMIT_S = 10.0
MAX_TIME_LIMIT_S = 600.0
NO_IMPROVEMENT = 2000  # iterations without a better plan before the solver stops early
MOVED_MIN = 5.0  # a visit that moves by at least this many minutes is announced to the customer
MAX_PLAN_DAYS_AHEAD = 366
LOCK_SLACK_MIN = 0.5  # a locked stop starts at its planned start, or at most this late
REASONS = [
    ("no_technician", "No technician on shift"),
    ("not_eligible", "No eligible technician"),
    (NO_SKILLED_TECHNICIAN, "No eligible technician"),
    (OUT_OF_REACH, "Out of reach of every eligible technician"),
    (NO_ROOM, "No room left in the day"),
]


def _km(lat1, lon1, lat2, lon2):
    """Road km between two points, as the engine counts them (great circle times the road factor)."""
    return float(haversine_km(lat1, lon1, np.array([lat2]), np.array([lon2]))[0]) * ROAD_FACTOR


def _is_planned_work(job):
    """Preventive work, and corrective work that is not urgent."""
    return job.maintenance_type == "preventive" or job.priority != URGENT_PRIORITY


class CrowdRoute(models.Model):
    _name = "crowd.route"
    _description = "Crowd Day Route"
    _inherit = ["mail.thread"]
    _order = "date desc, technician_id"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    technician_id = fields.Many2one(
        "res.partner", string="Technician", required=True, readonly=True, index=True, ondelete="restrict"
    )
    date = fields.Date(required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    stop_ids = fields.One2many("crowd.route.stop", "route_id", string="Stops", readonly=True)
    stop_count = fields.Integer("Number of Stops", compute="_compute_totals", store=True)
    travel_min = fields.Float("Travel (min)", readonly=True, digits=(10, 1))
    distance_km = fields.Float("Distance (km)", readonly=True, digits=(10, 1))
    start_at = fields.Datetime("Leaves", readonly=True, help="When the technician leaves their home base.")
    end_at = fields.Datetime("Back", readonly=True, help="When the technician is back at their home base.")
    shift_start = fields.Datetime(readonly=True)
    shift_end = fields.Datetime(readonly=True)
    home_latitude = fields.Float(digits=(10, 7), readonly=True)
    home_longitude = fields.Float(digits=(10, 7), readonly=True)
    state = fields.Selection(ROUTE_STATES, compute="_compute_state", store=True, index=True, tracking=True)
    note = fields.Text()
    color = fields.Integer(compute="_compute_color")

    _sql_constraints = [
        ("technician_date_unique", "UNIQUE(technician_id, date)", "A technician has one route per day."),
    ]

    @api.depends("technician_id", "date")
    def _compute_name(self):
        for route in self:
            route.name = f"{route.technician_id.name or ''} / {route.date or ''}"

    @api.depends("stop_ids")
    def _compute_totals(self):
        for route in self:
            route.stop_count = len(route.stop_ids)

    @api.depends("stop_ids.job_state")
    def _compute_state(self):
        for route in self:
            states = set(route.stop_ids.mapped("job_state"))
            if states and states <= {"done", "cancelled"}:
                route.state = "done"
            elif states & set(STARTED_STATES):
                route.state = "in_progress"
            else:
                route.state = "planned"

    def _compute_color(self):
        for route in self:
            route.color = route.technician_id.id % 11 + 1 if route.technician_id else 0

    # ------------------------------------------------------------------ CRUD: the planner writes
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(self.env._("Routes are written by Plan day, not by hand."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and vals.keys() - {"note"}:
            raise AccessError(self.env._("Routes are written by Plan day; a dispatcher locks stops or adds a note."))
        if not self.env.su:
            self._crowd_check_dispatcher()
        return super().write(vals)

    # ------------------------------------------------------------------ checks
    def _crowd_check_dispatcher(self):
        self.env["crowd.job"]._crowd_check_dispatcher()

    @api.model
    def _crowd_plan_tz(self, company):
        # sudo: the time zone of the company's working hours (portal users read no calendar)
        return pytz.timezone(company.sudo().resource_calendar_id.tz or self.env.user.tz or "UTC")

    @api.model
    def _crowd_today(self, company):
        now = self.env["crowd.job"]._crowd_now()
        return pytz.utc.localize(now).astimezone(self._crowd_plan_tz(company)).date()

    @api.model
    def _crowd_day_origin(self, day, company):
        """Midnight of ``day`` in the planning time zone, as naive UTC: minute 0 of the engine's day."""
        local = self._crowd_plan_tz(company).localize(datetime.combine(day, time.min))
        return local.astimezone(pytz.utc).replace(tzinfo=None)

    @api.model
    def _crowd_check_day(self, day, company):
        """The day to plan as a date: today or later (in the planning time zone), within a year."""
        try:
            day = fields.Date.to_date(day)
        except (TypeError, ValueError):
            day = None
        if not isinstance(day, date):
            raise ValidationError(self.env._("Give the day to plan as a date (YYYY-MM-DD)."))
        today = self._crowd_today(company)
        if day < today:
            raise ValidationError(self.env._("%s is in the past: plan today or a later day.", day))
        if day > today + timedelta(days=MAX_PLAN_DAYS_AHEAD):
            raise ValidationError(self.env._("Plan at most a year ahead."))
        return day

    # ------------------------------------------------------------------ public actions
    @api.model
    def action_plan_day(self, day, company_id=None):
        """A dispatcher plans ``day`` for a company of theirs (the current one by default): the routes are
        written and the result returned (see :meth:`_crowd_plan_day`)."""
        self._crowd_check_dispatcher()
        if company_id is None:
            company = self.env.company
        else:
            if isinstance(company_id, bool) or not isinstance(company_id, int):
                raise ValidationError(self.env._("Unknown company."))
            company = self.env["res.company"].browse(company_id)
        if company not in self.env.user.company_ids:
            raise AccessError(self.env._("You can only plan the days of your own companies."))
        if not self.env.su and not self.env["crowd.route"].has_access("write"):
            raise AccessError(self.env._("Only crowd dispatchers can plan a day."))
        day = self._crowd_check_day(day, company)
        return self.sudo().with_company(company)._crowd_plan_day(day, company)

    # ------------------------------------------------------------------ planning
    @api.model
    def _crowd_lock_day(self, day, company, wait=True):
        """Serialise the planning of one company's day (two dispatchers, or the cron and a dispatcher)."""
        key = SQL("hashtext(%s)", f"crowd.route:{company.id}:{day}")
        if wait:
            self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s)", key))
            return True
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s)", key))
        return self.env.cr.fetchone()[0]

    @api.model
    def _crowd_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        try:
            limit = float(params.get_param("crowd_service.plan_time_limit_s", DEFAULT_TIME_LIMIT_S))
            speed = float(params.get_param("crowd_service.plan_speed_kmh", DEFAULT_SPEED_KMH))
        except ValueError:
            limit, speed = DEFAULT_TIME_LIMIT_S, DEFAULT_SPEED_KMH
        return min(max(limit, 0.1), MAX_TIME_LIMIT_S), max(speed, 1.0)

    @api.model
    def _crowd_plannable_jobs(self, day, company):
        """The company's planned work of ``day`` that waits for a technician: new or escalated jobs with a
        site position whose site window starts that day, or, without a window, whose request is scheduled
        that day (in the planning time zone)."""
        origin = self._crowd_day_origin(day, company)
        end = origin + timedelta(days=1)
        Job = self.env["crowd.job"].sudo()
        jobs = Job.search(
            [
                ("company_id", "=", company.id),
                ("state", "in", PLANNABLE_STATES),
                "|",
                "&",
                ("visit_window_start", ">=", origin),
                ("visit_window_start", "<", end),
                "&",
                ("visit_window_start", "=", False),
                "&",
                ("request_id.schedule_date", ">=", origin),
                ("request_id.schedule_date", "<", end),
            ]
        )
        return jobs.filtered(lambda j: (j.latitude or j.longitude) and _is_planned_work(j))

    @api.model
    def _crowd_technicians(self, day, company):
        """{partner: (shift_start, shift_end)} (naive UTC) of the experts who do planned work on ``day``."""
        Partner = self.env["res.partner"].sudo()
        experts = Partner.search(
            [
                ("is_crowd_expert", "=", True),
                ("crowd_state", "=", "active"),
                ("crowd_company_id", "in", (company.id, False)),
                "|",
                ("crowd_kind", "in", ("employee", "partner")),
                ("crowd_planned_work", "=", True),
            ]
        )
        experts = experts.filtered(lambda p: p.partner_latitude or p.partner_longitude)
        origin = self._crowd_day_origin(day, company)
        windows = experts._crowd_day_shift(origin, origin + timedelta(days=1), company)
        return {partner: windows[partner.id] for partner in experts if windows.get(partner.id)}

    @api.model
    def _crowd_eligibility(self, jobs, technicians, day):
        """{job id: (eligible partner ids, rejections)} from the engine's gates, as the dispatch applies
        them, with every pool open and every technician free and online (a planned day, not now)."""
        adapter = self.env["crowd.dispatch.engine"]
        ids = [p.id for p in technicians]
        if not ids:
            return {}
        skills = adapter._expert_skills(ids)
        certificates = adapter._expert_certificates(ids, day)
        experts = []
        for partner in technicians:
            experts.append(
                Expert(
                    id=partner.id,
                    kind=partner.crowd_kind or "freelance",
                    tier=partner.crowd_tier or "technician",
                    lat=partner.partner_latitude,
                    lon=partner.partner_longitude,
                    radius_km=float(partner.crowd_radius_km or 0.0),
                    skills=skills.get(partner.id, {}),
                    certificates=certificates.get(partner.id, {}),
                    online=True,
                    capacity=1,
                    load=0,
                    rating=min(max(float(partner.crowd_rating or 0.0), 0.0), 5.0),
                    cost_per_job=max(float(partner.crowd_cost_per_job or 0.0), 0.0),
                )
            )
        pool = ExpertPool.from_experts(experts)
        moment = datetime.combine(day, time(12))
        all_open = tuple(PoolStep(p, 0.0) for p in Pool)
        result = {}
        policies = {}
        for job in jobs:
            rule = adapter._rule_for(job)
            if rule.id not in policies or not rule.id:
                policies[rule.id] = replace(adapter._policy(rule), pools=all_open)
            engine_job = adapter._job(job)
            engine_job = replace(engine_job, created_at=min(engine_job.created_at, moment))
            if engine_job.sla_deadline < engine_job.created_at:
                engine_job = replace(engine_job, sla_deadline=engine_job.created_at)
            gates = evaluate(engine_job, pool, policies[rule.id], moment)
            result[job.id] = ({pool.experts[row].id for row in gates.index}, dict(gates.rejections))
        return result

    @api.model
    def _crowd_plan_day(self, day, company, time_limit_s=None, timings=None):
        """Plan ``day`` for ``company`` (system: the caller was checked) and write the routes.

        Returns ``{"routes": ids, "planned": n, "unplanned": ids of crowd.route.unplanned}``. ``timings``,
        when a dict, receives the seconds spent reading, solving and writing."""
        clock = _Clock(timings)
        self._crowd_lock_day(day, company)
        limit, speed = self._crowd_settings()
        limit = limit if time_limit_s is None else time_limit_s
        origin = self._crowd_day_origin(day, company)
        Route = self.env["crowd.route"].sudo()
        routes = Route.search([("company_id", "=", company.id), ("date", "=", day)])
        if routes:
            self.env.cr.execute(SQL("SELECT id FROM crowd_route WHERE id = ANY(%s) FOR UPDATE", routes.ids))
        stops = routes.stop_ids
        started = stops.filtered(lambda s: s.job_state in STARTED_STATES)
        gone = stops.filtered(lambda s: s.job_state == "cancelled")
        locked = stops.filtered(lambda s: s.locked and s.job_state == "assigned")
        movable = stops - started - gone - locked
        technicians = self._crowd_technicians(day, company)
        jobs = self._crowd_plannable_jobs(day, company) | movable.job_id | locked.job_id
        eligibility = self._crowd_eligibility(jobs, list(technicians), day)
        # the technicians of locked and started stops who are no longer on shift still keep those stops
        for stop in started | locked:
            if stop.route_id.technician_id not in technicians:
                route = stop.route_id
                technicians[route.technician_id] = (route.shift_start, route.shift_end)

        def minutes(moment):
            return (moment - origin).total_seconds() / 60.0

        engine_techs = []
        # today: nobody leaves before now
        not_before = minutes(self.env["crowd.job"]._crowd_now())
        for partner, (shift_from, shift_to) in technicians.items():
            start, free_at = None, max(minutes(shift_from), not_before)
            done = started.filtered(lambda s, p=partner: s.route_id.technician_id == p).sorted("sequence")
            if done:
                last = done[-1]
                start = (last.job_id.latitude, last.job_id.longitude)
                end = last.job_id.done_at or last.planned_end or shift_from
                free_at = max(free_at, minutes(end))
            try:
                engine_techs.append(
                    Technician(
                        id=partner.id,
                        x=partner.partner_latitude,
                        y=partner.partner_longitude,
                        shift=(max(free_at, 0.0), max(min(minutes(shift_to), DAY_MIN * 2), max(free_at, 0.0))),
                        skills={},
                        start=start,
                    )
                )
            except crowd_dispatch.InvalidInput as exc:
                _logger.warning("Crowd route: technician %s skipped: %s", partner.id, exc)
        # one routing profile per distinct set of eligible technicians
        groups, visits, reasons = {}, [], {}
        all_ids = frozenset(t.id for t in engine_techs)
        locked_by_job = {stop.job_id.id: stop for stop in locked}
        for job in jobs:
            eligible, rejections = eligibility.get(job.id, (set(), {}))
            stop = locked_by_job.get(job.id)
            if stop:
                eligible = {stop.route_id.technician_id.id}
            eligible = frozenset(eligible) & all_ids
            if not eligible:
                reasons[job.id] = ("no_technician" if not engine_techs else "not_eligible", rejections)
                continue
            skills = {}
            if eligible != all_ids:
                code = groups.setdefault(eligible, f"g{len(groups)}")
                skills = {code: 0}
            window = (0.0, DAY_MIN * 2)
            if job.visit_window_start:
                window = (max(minutes(job.visit_window_start), 0.0), window[1])
            if job.visit_window_end:
                window = (window[0], max(min(minutes(job.visit_window_end), window[1]), window[0]))
            technician = None
            if stop:
                # its planned start, to the second (the engine's integer minutes need a window, however small)
                at = round(max(minutes(stop.planned_start), 0.0), 2)
                window, technician = (at, at + LOCK_SLACK_MIN), stop.route_id.technician_id.id
            visits.append(
                Visit(
                    id=job.id,
                    x=job.latitude,
                    y=job.longitude,
                    service_min=float(job.planned_duration_min or 0.0),
                    window=window,
                    skills=skills,
                    priority=int(job.priority or 0) + 1,
                    optional=not stop,
                    technician=technician,
                )
            )
        engine_techs = [
            replace(t, skills={code: 0 for members, code in groups.items() if t.id in members}) for t in engine_techs
        ]
        clock.lap("read")
        plan = None
        if visits and engine_techs:
            try:
                plan = plan_routes(
                    visits,
                    engine_techs,
                    time_limit_s=limit,
                    geographic=True,
                    speed_kmh=speed,
                    max_no_improvement=NO_IMPROVEMENT,
                )
            except InfeasiblePlan as exc:
                raise UserError(
                    self.env._(
                        "The day cannot be planned with the locked stops where they are: %s. Unlock them and "
                        "plan again.",
                        "; ".join(exc.violations[:3]),
                    )
                ) from exc
            except (crowd_dispatch.InvalidInput, ValueError) as exc:
                raise UserError(self.env._("The day cannot be planned: %s", exc)) from exc
        clock.lap("solve")
        result = self._crowd_write_plan(
            day,
            company,
            plan,
            origin,
            speed,
            technicians,
            routes,
            started,
            movable | locked,
            jobs,
            reasons,
            set(locked.job_id.ids),
        )
        clock.lap("write")
        return result

    @api.model
    def _crowd_write_plan(self, day, company, plan, origin, speed, technicians, routes, started, replanned, jobs,
                          reasons, locked_job_ids):  # fmt: skip
        """Write the plan: routes per technician, stops in order with their times; assign the planned jobs,
        release the re-planned ones left out, and list every visit left out with its reason."""
        Route, Stop = self.env["crowd.route"].sudo(), self.env["crowd.route.stop"].sudo()
        Job = self.env["crowd.job"].sudo().with_context(tracking_disable=True, mail_notrack=True)
        now = Job._crowd_now()
        orders = plan.routes if plan else {}
        if plan:
            for vid in plan.dropped:
                reasons[vid] = (plan.reasons.get(vid, NO_ROOM), {})
        planned_ids = {stop.visit_id for stops in orders.values() for stop in stops}
        previous_expert = {s.job_id.id: s.route_id.technician_id.id for s in replanned}
        replanned.unlink()
        by_tech = {route.technician_id.id: route for route in routes}
        kept_by_tech = {}
        for stop in started.sorted("sequence"):
            kept_by_tech.setdefault(stop.route_id.technician_id.id, []).append(stop)
        busy = [p for p in technicians if orders.get(p.id) or kept_by_tech.get(p.id)]

        def route_vals(partner):
            shift_from, shift_to = technicians[partner]
            return {
                "shift_start": shift_from,
                "shift_end": shift_to,
                "home_latitude": partner.partner_latitude,
                "home_longitude": partner.partner_longitude,
            }

        for partner in busy:
            if partner.id in by_tech:
                by_tech[partner.id].write(route_vals(partner))
        missing = [p for p in busy if p.id not in by_tech]
        created = Route.with_context(mail_create_nolog=True).create(
            [dict(route_vals(p), technician_id=p.id, date=day, company_id=company.id) for p in missing]
        )
        by_tech.update(zip([p.id for p in missing], created, strict=True))
        touched = Route.browse([by_tech[p.id].id for p in busy])
        stop_vals, job_updates = [], {}
        for partner in busy:
            stops = orders.get(partner.id, [])
            kept = kept_by_tech.get(partner.id, [])
            route = by_tech[partner.id]
            sequence = len(kept)
            if kept:
                last = kept[-1].job_id
                lat, lon = last.latitude, last.longitude
            else:
                lat, lon = partner.partner_latitude, partner.partner_longitude
            job_records = Job.browse([stop.visit_id for stop in stops])
            for stop, job in zip(stops, job_records):
                sequence += 1
                km = _km(lat, lon, job.latitude, job.longitude)
                arrival = origin + timedelta(minutes=stop.arrival)
                start = origin + timedelta(minutes=stop.start)
                stop_vals.append(
                    {
                        "route_id": route.id,
                        "job_id": job.id,
                        "sequence": sequence,
                        "arrival_at": arrival,
                        "planned_start": start,
                        "planned_end": start + timedelta(minutes=job.planned_duration_min or 0.0),
                        "travel_km": km,
                        "travel_min": km / speed * 60.0,
                        "locked": job.id in locked_job_ids,
                    }
                )
                job_updates[job.id] = (partner.id, start)
                lat, lon = job.latitude, job.longitude
        Stop.create(stop_vals)
        # the jobs: newly planned ones are assigned, moved ones change technician and time
        to_assign = Job.browse([jid for jid in job_updates if jid not in previous_expert])
        to_assign = to_assign.filtered(lambda j: j.state in PLANNABLE_STATES)
        to_assign._crowd_withdraw_pending(now)
        for job in Job.browse(list(job_updates)):
            expert_id, start = job_updates[job.id]
            vals = {"eta_at": start}
            if job in to_assign:
                vals.update(state="assigned", assigned_at=now, next_check_at=False, wait_code=False,
                            wait_params=False, wait_until=False, waiting_expert_id=False)  # fmt: skip
            if job.expert_id.id != expert_id:
                vals["expert_id"] = expert_id
            job.write(vals)
        # re-planned jobs left out go back to waiting for a plan
        released = Job.browse([jid for jid in previous_expert if jid not in planned_ids]).filtered(
            lambda j: j.state == "assigned"
        )
        released.write({"state": "new", "expert_id": False, "assigned_at": False, "eta_at": False})
        # the requests keep their stage: a planned visit is not under way yet (it is when the technician
        # goes en route, through the job's own action)
        for route in touched:
            route._crowd_recompute()
        # routes left empty (their visits moved elsewhere) are removed
        (routes - touched).filtered(lambda r: not r.stop_ids).unlink()
        # the visits left out, with their reason (the last plan's list replaces the previous one)
        Unplanned = self.env["crowd.route.unplanned"].sudo()
        Unplanned.search([("company_id", "=", company.id), ("date", "=", day)]).unlink()
        unplanned = Unplanned.create(
            [
                {
                    "date": day,
                    "company_id": company.id,
                    "job_id": jid,
                    "reason": code,
                    "rejections": {k: v for k, v in (rejections or {}).items() if v} or False,
                }
                for jid, (code, rejections) in reasons.items()
                if jid in jobs.ids
            ]
        )
        # one note per route, in one batch (no notification: the dispatcher sees the result in the wizard)
        touched._message_log_batch(
            bodies={
                route.id: self.env._(
                    "Day planned: %(count)s stop(s), %(km)s km of travel.",
                    count=route.stop_count,
                    km=round(route.distance_km, 1),
                )
                for route in touched
            }
        )
        return {"routes": touched.ids, "planned": len(job_updates), "unplanned": unplanned.ids}

    def _crowd_recompute(self):
        """Totals and times of the route from its stops (in order): travel, distance, leave and return."""
        for route in self:
            stops = route.stop_ids.sorted("sequence")
            travel = sum(stops.mapped("travel_min"))
            distance = sum(stops.mapped("travel_km"))
            vals = {"start_at": False, "end_at": False}
            if stops:
                first, last = stops[0], stops[-1]
                back_km = _km(last.job_id.latitude, last.job_id.longitude, route.home_latitude, route.home_longitude)
                speed = self._crowd_settings()[1]
                travel += back_km / speed * 60.0
                distance += back_km
                vals["start_at"] = (first.arrival_at or first.planned_start) - timedelta(minutes=first.travel_min)
                vals["end_at"] = (last.planned_end or last.planned_start) + timedelta(minutes=back_km / speed * 60.0)
            vals.update(travel_min=travel, distance_km=distance)
            route.sudo().write(vals)

    # ------------------------------------------------------------------ the nightly cron
    @api.model
    def _cron_plan_next_day(self):
        """Plan tomorrow for every company with planned work or technicians. A company whose day is being
        planned right now (a dispatcher) is skipped: the dispatcher's plan stands."""
        for company in self.env["res.company"].sudo().search([("active", "=", True)]):
            day = self._crowd_today(company) + timedelta(days=1)
            try:
                with self.env.cr.savepoint():
                    if not self._crowd_lock_day(day, company, wait=False):
                        continue
                    if not self._crowd_plannable_jobs(day, company) and not self.sudo().search_count(
                        [("company_id", "=", company.id), ("date", "=", day)]
                    ):
                        continue
                    self.sudo().with_company(company)._crowd_plan_day(day, company)
            except UserError as exc:
                _logger.warning("Crowd: planning %s for %s failed: %s", day, company.name, exc)
        return True

    # ------------------------------------------------------------------ urgent insertion
    @api.model
    def _crowd_insert_urgent(self, job):
        """An urgent job was just assigned to a technician: when they have a route today, insert the visit
        at the cheapest feasible place (the engine's ``insert_urgent``), give the later stops their new
        times and tell the customers whose visit moved. Returns the stop, or False."""
        job = job.sudo()
        if _is_planned_work(job) or not job.expert_id or not (job.latitude or job.longitude):
            return False
        company = job.company_id
        day = self._crowd_today(company)
        route = self.sudo().search(
            [("technician_id", "=", job.expert_id.id), ("date", "=", day), ("company_id", "=", company.id)], limit=1
        )
        if not route or job in route.stop_ids.job_id:
            return False
        self.env.cr.execute(SQL("SELECT id FROM crowd_route WHERE id = %s FOR UPDATE", route.id))
        route.invalidate_recordset()
        return route._crowd_insert(job)

    def _crowd_insert(self, job):
        self.ensure_one()
        route = self
        _limit, speed = self._crowd_settings()
        origin = self._crowd_day_origin(route.date, route.company_id)
        now = job._crowd_now()

        def minutes(moment):
            return (moment - origin).total_seconds() / 60.0

        stops = route.stop_ids.sorted("sequence")
        fixed = stops.filtered(lambda s: s.job_state in (*STARTED_STATES, "cancelled"))
        open_stops = stops - fixed
        free_at = max(minutes(now), minutes(route.shift_start or now), 0.0)
        start = None
        started = fixed.filtered(lambda s: s.job_state in STARTED_STATES)
        if started:
            last = started[-1]
            start = (last.job_id.latitude, last.job_id.longitude)
            if last.job_state != "done":
                free_at = max(free_at, minutes(last.planned_end or now))
        shift_end = max(minutes(route.shift_end or origin + timedelta(days=1)), free_at)
        technician = Technician(
            id=route.technician_id.id,
            x=route.home_latitude,
            y=route.home_longitude,
            shift=(free_at, max(shift_end, free_at)),
            start=start,
        )
        visits = []
        for stop in open_stops:
            job_open = stop.job_id
            window = (0.0, DAY_MIN * 2)
            if stop.locked:
                at = round(max(minutes(stop.planned_start), 0.0), 2)
                window = (at, at + LOCK_SLACK_MIN)
            else:
                if job_open.visit_window_start:
                    window = (max(minutes(job_open.visit_window_start), 0.0), window[1])
                if job_open.visit_window_end:
                    window = (window[0], max(minutes(job_open.visit_window_end), window[0]))
            visits.append(
                Visit(
                    id=job_open.id,
                    x=job_open.latitude,
                    y=job_open.longitude,
                    service_min=float(job_open.planned_duration_min or 0.0),
                    window=window,
                )
            )
        urgent = Visit(
            id=job.id,
            x=job.latitude,
            y=job.longitude,
            service_min=float(job.planned_duration_min or 0.0),
            window=(free_at, DAY_MIN * 2),
        )
        current = _current_plan(technician, open_stops, minutes)
        try:
            plan = insert_urgent(current, visits, [technician], urgent, geographic=True, speed_kmh=speed)
        except crowd_dispatch.DispatchError as exc:
            _logger.info("Crowd route %s: urgent job %s not inserted: %s", route.id, job.id, exc)
            route.message_post(
                body=self.env._(
                    "Urgent visit %(job)s could not be fitted into this route (%(error)s): plan the day again or "
                    "move visits by hand.",
                    job=job.name,
                    error=str(exc),
                ),
                subtype_xmlid="mail.mt_note",
            )
            return False
        old = {s.job_id.id: s.planned_start for s in open_stops}
        order = plan.routes.get(technician.id, [])
        Stop = self.env["crowd.route.stop"].sudo()
        stop_of = {s.job_id.id: s for s in open_stops}
        if start:
            lat, lon = start
        else:
            lat, lon = route.home_latitude, route.home_longitude
        sequence = len(fixed)
        new_stop = Stop
        moved = []
        for engine_stop in order:
            sequence += 1
            record_job = stop_of[engine_stop.visit_id].job_id if engine_stop.visit_id in stop_of else job
            km = _km(lat, lon, record_job.latitude, record_job.longitude)
            begin = origin + timedelta(minutes=engine_stop.start)
            vals = {
                "sequence": sequence,
                "arrival_at": origin + timedelta(minutes=engine_stop.arrival),
                "planned_start": begin,
                "planned_end": begin + timedelta(minutes=record_job.planned_duration_min or 0.0),
                "travel_km": km,
                "travel_min": km / speed * 60.0,
            }
            if engine_stop.visit_id in stop_of:
                stop = stop_of[engine_stop.visit_id]
                stop.write(vals)
                if abs((begin - old[record_job.id]).total_seconds()) >= MOVED_MIN * 60:
                    moved.append(stop)
            else:
                new_stop = Stop.create(dict(vals, route_id=route.id, job_id=job.id, urgent=True))
            record_job.with_context(tracking_disable=True).write({"eta_at": begin})
            lat, lon = record_job.latitude, record_job.longitude
        route._crowd_recompute()
        route.message_post(
            body=self.env._(
                "Urgent visit %(job)s inserted as stop %(position)s; %(count)s later visit(s) moved.",
                job=job.name,
                position=new_stop.sequence,
                count=len(moved),
            ),
            subtype_xmlid="mail.mt_note",
        )
        # the customers are told right after this commits (a cron triggered now): the route is rewritten at once
        for stop in moved:
            if not stop.moved_from:
                stop.write({"moved_from": old[stop.job_id.id]})
        if moved:
            cron = self.env.ref("crowd_service.ir_cron_crowd_notify_moved", raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
        return new_stop

    # ------------------------------------------------------------------ the dispatcher's map
    @api.model
    def _crowd_map_features(self, day):
        """Routes of ``day`` the current user may read, for the dispatcher's map: one dict per route with its
        stops in order (ETA in ISO-8601 UTC) and its path (home base, stops, home base)."""
        day = fields.Date.to_date(day)
        routes = self.search([("date", "=", day)], order="technician_id, id")
        features = []
        for route in routes:
            home = [route.home_latitude, route.home_longitude]
            stops = []
            for stop in route.stop_ids.sorted("sequence"):
                eta = stop.arrival_at or stop.planned_start
                stops.append(
                    {
                        "job_id": stop.job_id.id,
                        "name": stop.job_id.name,
                        "lat": float(stop.latitude),
                        "lon": float(stop.longitude),
                        "eta": eta.replace(tzinfo=pytz.utc).isoformat() if eta else "",
                        "locked": bool(stop.locked),
                    }
                )
            features.append(
                {
                    "route_id": route.id,
                    "technician": route.technician_id.name or "",
                    "partner_id": route.technician_id.id,
                    "color_index": route.color,
                    "stops": stops,
                    "path": [home, *([s["lat"], s["lon"]] for s in stops), home],
                }
            )
        return features


def _current_plan(technician, stops, minutes):
    """The engine's RoutePlan of a route's open stops, in their order."""
    order = [
        EngineStop(
            visit_id=s.job_id.id, arrival=minutes(s.arrival_at or s.planned_start), start=minutes(s.planned_start)
        )
        for s in stops
    ]
    return RoutePlan(routes={technician.id: order}, dropped=[], distance=0.0)


class _Clock:
    """Seconds spent per step, written into ``timings`` when it is a dict."""

    def __init__(self, timings):
        self._now = time_module.perf_counter
        self.timings = timings
        self.last = self._now()

    def lap(self, name):
        now = self._now()
        if isinstance(self.timings, dict):
            self.timings[name] = self.timings.get(name, 0.0) + now - self.last
        self.last = now


class CrowdRouteStop(models.Model):
    _name = "crowd.route.stop"
    _description = "Crowd Route Stop"
    _order = "route_id, sequence, id"
    _check_company_auto = True

    route_id = fields.Many2one("crowd.route", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="route_id.company_id", store=True, index=True)
    technician_id = fields.Many2one(related="route_id.technician_id", store=True, string="Technician")
    date = fields.Date(related="route_id.date", store=True)
    job_id = fields.Many2one("crowd.job", string="Visit", required=True, readonly=True, index=True, ondelete="cascade")
    job_state = fields.Selection(related="job_id.state", store=True, string="Visit State")
    request_id = fields.Many2one(related="job_id.request_id", string="Request")
    customer_id = fields.Many2one(related="job_id.customer_id", string="Customer")
    site_id = fields.Many2one(related="job_id.site_id", string="Site")
    latitude = fields.Float(related="job_id.latitude")
    longitude = fields.Float(related="job_id.longitude")
    sequence = fields.Integer(readonly=True)
    arrival_at = fields.Datetime("ETA", readonly=True)
    planned_start = fields.Datetime(readonly=True)
    planned_end = fields.Datetime(readonly=True)
    travel_min = fields.Float("Travel (min)", readonly=True, digits=(10, 1), help="From the previous stop.")
    travel_km = fields.Float("Travel (km)", readonly=True, digits=(10, 1), help="From the previous stop.")
    locked = fields.Boolean(
        help="A locked stop keeps its technician and its planned start when the day is planned again."
    )
    urgent = fields.Boolean("Urgent Insertion", readonly=True)
    moved_from = fields.Datetime(
        "Moved From", readonly=True, copy=False, index="btree_not_null",
        help="Planned start before an urgent visit moved this one; the customer is told, then it is cleared.",
    )  # fmt: skip

    _sql_constraints = [("job_unique", "UNIQUE(job_id)", "A visit is on one route only.")]

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(self.env._("Route stops are written by Plan day, not by hand."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            if vals.keys() - {"locked"}:
                raise AccessError(self.env._("A dispatcher locks or unlocks a stop; the planner writes the rest."))
            self.env["crowd.job"]._crowd_check_dispatcher()
            if any(stop.job_state in STARTED_STATES for stop in self):
                raise UserError(self.env._("A visit under way or done stays where it is anyway."))
        return super().write(vals)

    @api.model
    def _cron_notify_moved(self, limit=200):
        """Tell the customers whose visit moved (queued by the urgent insertion). Each stop is row-locked with
        SKIP LOCKED, so two workers never tell a customer twice."""
        self.flush_model(["moved_from"])
        self.env.cr.execute(
            SQL(
                "SELECT id FROM crowd_route_stop WHERE moved_from IS NOT NULL ORDER BY id LIMIT %s "
                "FOR UPDATE SKIP LOCKED",
                limit,
            )
        )
        stops = self.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        for stop in stops:
            stop._crowd_notify_moved(stop.moved_from)
        stops.write({"moved_from": False})
        self.env["ir.cron"]._notify_progress(done=len(stops), remaining=int(len(stops) >= limit))
        return len(stops)

    def _crowd_notify_moved(self, old_start):
        """Tell the customer of this visit that it moved (their language and time zone)."""
        for stop in self.sudo():
            job = stop.job_id
            customer = job.customer_id or job.request_id._crowd_customer()
            if not customer:
                continue
            tz = customer.tz or job.company_id.resource_calendar_id.tz or "UTC"
            lang_env = job.with_context(lang=customer.lang or self.env.lang).env
            body = lang_env._(
                "Your visit %(job)s moved: the technician now arrives around %(new)s (planned before: %(old)s).",
                job=job.name,
                new=format_datetime(lang_env, stop.planned_start, tz=tz, dt_format="short"),
                old=format_datetime(lang_env, old_start, tz=tz, dt_format="short"),
            )
            job.message_post(
                body=body,
                partner_ids=customer.ids,
                subtype_xmlid="mail.mt_comment",
                message_type="comment",
            )


class CrowdRouteUnplanned(models.Model):
    _name = "crowd.route.unplanned"
    _description = "Crowd Visit Left Out of a Day Plan"
    _order = "date desc, id"
    _check_company_auto = True

    date = fields.Date(required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    job_id = fields.Many2one("crowd.job", string="Visit", required=True, readonly=True, ondelete="cascade")
    request_id = fields.Many2one(related="job_id.request_id", string="Request")
    priority = fields.Selection(related="job_id.priority")
    reason = fields.Selection(REASONS, readonly=True, required=True)
    rejections = fields.Json(readonly=True, help="The engine's rejection counts (technical).")
    reason_text = fields.Char("Why", compute="_compute_reason_text")

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(self.env._("The visits left out are listed by Plan day."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            raise AccessError(self.env._("The visits left out are listed by Plan day."))
        return super().write(vals)

    @api.depends("reason", "rejections")
    @api.depends_context("lang")
    def _compute_reason_text(self):
        labels = dict(self._fields["reason"]._description_selection(self.env))
        adapter = self.env["crowd.dispatch.engine"]
        for line in self:
            text = labels.get(line.reason, line.reason or "")
            if line.reason == "not_eligible" and line.rejections:
                text = f"{text} ({adapter._rejections_text(line.rejections)})"
            line.reason_text = text
