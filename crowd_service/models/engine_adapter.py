"""The one path between Odoo records and the pure-Python engine ``crowd_dispatch``.

Records -> engine inputs (Job, Expert, Policy, OfferRecord) here, engine decisions -> offers here.
No scoring or matching logic lives in the addon: the engine decides, this file translates.
"""

import logging
import math
from datetime import date, datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.misc import format_datetime, formatLang

import crowd_dispatch
from crowd_dispatch import (
    DispatchSettings,
    Expert,
    ExpertPool,
    Job,
    OfferRecord,
    Policy,
    PoolStep,
    Trip,
    Weights,
    assign_batch,
    assign_greedy,
    assignment_details,
    escalate_to_specialist,
    evaluate,
    explain,
    rank,
)
from crowd_dispatch.geo import KM_PER_DEGREE_LAT
from crowd_dispatch.policy import OVERDUE_BUSY_MIN, ExpertHistory, decide, free_share, learned_acceptance
from crowd_dispatch.supply import STANDBY_CALL_OPEN_MIN, standby_calls

_logger = logging.getLogger(__name__)

ACTIVE_VISIT_STATES = ("assigned", "en_route", "on_site")
OPEN_DISPATCH_STATES = ("dispatching", "offered")
FAIRNESS_WINDOW_DAYS = 7
MAX_TRAVEL_MIN = 24 * 60  # a trip longer than this is a data error, not history
LAST_SITE_HOURS = 2  # an expert who finished a visit this recently is placed at its site
# an assigned visit that starts later than this (a planned day, tomorrow's route) is not work in hand: the
# expert is free until then (an urgent visit given to them goes into their planned day, see crowd.route)
LATER_VISIT_MIN = 60
# an expert on the way to a visit may be diverted to an urgent job only while their phone's position is this fresh
TRIP_POSITION_MAX_AGE_MIN = 10
MAX_PLANNED_HORIZON_MIN = 24 * 60  # shifts are read this far beyond the longest deferral (a visit's length)
# rejections of experts who are qualified but not free now: they may free up, so a job without
# candidates waits for them instead of going to a dispatcher
WAITABLE_REJECTIONS = ("busy", "capacity")
# decision codes a job waits under (crowd.job.wait_code), rendered by _wait_text
WAIT_CODES = ("pending", "lookahead", "deferred", "no_candidate")
# batch assignment: cost minutes per minute of expected lateness, and candidate experts per job (the K nearest)
BATCH_SLA_PENALTY = 1.0
BATCH_CANDIDATES_PER_JOB = 20
PARTNER_COLUMNS = [
    "crowd_kind",
    "crowd_tier",
    "partner_latitude",
    "partner_longitude",
    "crowd_radius_km",
    "crowd_max_jobs",
    "crowd_online",
    "crowd_rating",
    "crowd_cost_per_job",
    "crowd_calendar_id",
]
PARTNER_FILTER_COLUMNS = ["active", "is_crowd_expert", "crowd_state", "crowd_company_id"]


class CrowdDispatchEngine(models.AbstractModel):
    _name = "crowd.dispatch.engine"
    _description = "Crowd Dispatch Engine Adapter"

    # ------------------------------------------------------------------ policy and job
    @api.model
    def _rule_for(self, job):
        """The job's rule, or an unsaved rule with default values when none matches."""
        rule = job.rule_id or self.env["crowd.dispatch.rule"]._find_for_request(job.request_id)
        if not rule:
            rule = self.env["crowd.dispatch.rule"].new({"name": "Default", "company_id": job.company_id.id})
        return rule

    @api.model
    def _policy(self, rule):
        return Policy(
            pools=tuple(PoolStep(pool, float(delay)) for pool, delay in rule._pool_steps()),
            max_radius_km=float(rule.max_radius_km),
            min_rating=float(rule.min_rating),
            tier_policy=rule.tier_policy,
            weights=Weights(**rule._weights_dict()),
            strategy=rule.strategy,
            top_n=int(rule.top_n) if rule.strategy == "broadcast" else 1,
            offer_timeout_min=float(rule.offer_timeout_min),
            max_rounds=int(rule.max_rounds),
            check_certificates=rule.certificate_policy == "required",
        )

    @api.model
    def _job(self, job, level_ranks=None):
        """The engine Job of ``job``; ``level_ranks`` ({level id: rank}) saves a query per job in a batch."""
        if not job.latitude and not job.longitude:
            raise UserError(self.env._("Job %s has no site position: set the site's coordinates first.", job.name))
        now = job._crowd_now()
        # never after the dispatch clock (clock skew, a demo job dated by the wall clock): the engine's
        # pool cascade counts from the creation, which cannot lie in the future
        created = min(job.requested_at or job.create_date or now, now)
        deadline = job.sla_deadline or created + timedelta(minutes=job._crowd_sla_minutes())
        try:
            return Job(
                id=job.id,
                lat=job.latitude,
                lon=job.longitude,
                created_at=created,
                sla_deadline=max(deadline, created),
                skills=self._required_levels(job, level_ranks),
                certificates=tuple(job.certificate_type_ids.mapped("code")),
                min_tier=job.min_tier or None,
                priority=int(job.priority or 0),
                duration_min=float(job.planned_duration_min or 0.0),
                equipment_model=job.equipment_id.model or None,
                max_cost=float(job.cost_ceiling or 0.0),
            )
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("Job %(name)s: %(error)s", name=job.name, error=exc)) from exc

    # ------------------------------------------------------------------ experts
    @api.model
    def _bounding_box(self, lat, lon, radius_km):
        dlat = radius_km / KM_PER_DEGREE_LAT
        dlon = radius_km / (KM_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
        return lat - dlat, lat + dlat, lon - dlon, lon + dlon

    @api.model
    def _candidate_rows(self, job, rule, now):
        """SQL prefilter of a large pool, which only narrows it: the active experts of the job's company
        whose home base lies in the bounding box of the rule's radius around the site. Every gate
        (pool, tier, skills, certificates, online, capacity, rating, cost, radius) is the engine's, so its
        rejection counts are complete.

        Returns one dict per expert with the columns the engine needs (no ORM read: 10,000s of experts).
        """
        box = self._bounding_box(job.latitude, job.longitude, rule.max_radius_km)
        return self._expert_rows(job.company_id, *box)

    @api.model
    def _expert_rows(self, company, lat_min, lat_max, lon_min, lon_max):
        """The active experts of ``company`` (or of no company) whose home base lies in the box, one dict
        per expert with the columns the engine needs (see :meth:`_candidate_rows`)."""
        self.env["res.partner"].flush_model(PARTNER_COLUMNS + PARTNER_FILTER_COLUMNS)
        self.env["crowd.expert.blackout"].flush_model(["partner_id"])
        self.env.cr.execute(
            SQL(
                """SELECT p.id, p.crowd_kind, p.crowd_tier, p.partner_latitude, p.partner_longitude,
                          p.crowd_radius_km, p.crowd_max_jobs, p.crowd_online, p.crowd_rating, p.crowd_cost_per_job,
                          (p.crowd_calendar_id IS NOT NULL
                           OR EXISTS (SELECT 1 FROM crowd_expert_blackout b WHERE b.partner_id = p.id))
                              AS has_schedule
                     FROM res_partner p
                    WHERE p.active AND p.is_crowd_expert AND p.crowd_state = 'active'
                      AND (p.crowd_company_id = %s OR p.crowd_company_id IS NULL)
                      AND p.partner_latitude BETWEEN %s AND %s
                      AND p.partner_longitude BETWEEN %s AND %s""",
                company.id,
                lat_min,
                lat_max,
                lon_min,
                lon_max,
            )
        )
        return self.env.cr.dictfetchall()

    @api.model
    def _candidate_ids(self, job, rule, now):
        """Ids of the prefiltered experts (see :meth:`_candidate_rows`)."""
        return [row["id"] for row in self._candidate_rows(job, rule, now)]

    @api.model
    def _later_visit_delta(self):
        """An assigned visit that starts later than now plus this is not work in hand (a planned day)."""
        return timedelta(minutes=LATER_VISIT_MIN)

    @api.model
    def _expert_stats(self, partner_ids, now, settings, company=None):
        """Per expert of ``partner_ids``: what they are doing now.

        Returns ``{partner_id: {"load", "busy_until", "lat", "lon", "held"}}`` for the experts with an
        active visit or a pending offer, and ``{partner_id: recent offers}`` (fairness). An expert whose
        active visits fill their capacity is busy until the earliest planned end of those visits (past
        it but not done: a few minutes from now) and is placed at that visit's site; that visit no
        longer counts in their load, so they are free at that moment (the engine's look-ahead). An
        expert with room left counts their visits as load. A visit assigned but planned to start more than
        LATER_VISIT_MIN minutes from now (a planned day) is not counted. An expert who finished a visit in the last
        LAST_SITE_HOURS hours is placed at its site, the others at their home base. With
        ``one_open_offer_per_expert``, an expert holding a pending offer has no capacity left.
        """
        if not partner_ids:
            return {}, {}
        self.env["crowd.job"].flush_model(
            ["expert_id", "state", "planned_end_at", "eta_at", "latitude", "longitude", "done_at"]
        )
        self.env["res.partner"].flush_model(["crowd_max_jobs"])
        self.env["crowd.dispatch.offer"].flush_model(["expert_id", "state", "sent_at"])
        overdue = now + timedelta(minutes=OVERDUE_BUSY_MIN)
        state = {}
        # without a live position, an expert who finished a visit lately is still near its site
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT ON (expert_id) expert_id, latitude, longitude
                     FROM crowd_job
                    WHERE expert_id = ANY(%s) AND state = 'done' AND done_at > %s AND done_at <= %s
                 ORDER BY expert_id, done_at DESC, id DESC""",
                list(partner_ids),
                now - timedelta(hours=LAST_SITE_HOURS),
                now,
            )
        )
        for partner_id, lat, lon in self.env.cr.fetchall():
            if lat or lon:
                state[partner_id] = {"load": 0, "lat": lat, "lon": lon}
        self.env.cr.execute(
            SQL(
                """SELECT j.expert_id, count(*) AS visits,
                          (array_agg(j.planned_end_at ORDER BY j.planned_end_at NULLS LAST, j.id))[1] AS ends,
                          (array_agg(j.latitude ORDER BY j.planned_end_at NULLS LAST, j.id))[1] AS lat,
                          (array_agg(j.longitude ORDER BY j.planned_end_at NULLS LAST, j.id))[1] AS lon,
                          max(p.crowd_max_jobs) AS capacity
                     FROM crowd_job j JOIN res_partner p ON p.id = j.expert_id
                    WHERE j.expert_id = ANY(%s) AND j.state IN %s
                      AND NOT (j.state = 'assigned' AND j.eta_at IS NOT NULL AND j.eta_at > %s)
                 GROUP BY j.expert_id""",
                list(partner_ids),
                ACTIVE_VISIT_STATES,
                now + self._later_visit_delta(),
            )
        )
        for partner_id, visits, ends, lat, lon, capacity in self.env.cr.fetchall():
            if visits >= (capacity or 0) and (lat or lon):
                busy_until = max(ends or overdue, overdue)
                state[partner_id] = {"load": visits - 1, "busy_until": busy_until, "lat": lat, "lon": lon}
            else:
                state[partner_id] = dict(state.get(partner_id, {}), load=visits)
        if settings.divert:
            for partner_id, trip in self._trips(partner_ids, now, company=company).items():
                state.setdefault(partner_id, {"load": 0})["trip"] = trip
        if settings.one_open_offer_per_expert:
            self.env.cr.execute(
                SQL(
                    """SELECT DISTINCT expert_id FROM crowd_dispatch_offer
                        WHERE expert_id = ANY(%s) AND state = 'pending'""",
                    list(partner_ids),
                )
            )
            for (partner_id,) in self.env.cr.fetchall():
                state.setdefault(partner_id, {"load": 0})["held"] = True
        recent = dict(
            self.env["crowd.dispatch.offer"]
            .sudo()
            ._read_group(
                [("expert_id", "in", partner_ids), ("sent_at", ">=", now - timedelta(days=FAIRNESS_WINDOW_DAYS))],
                ["expert_id"],
                ["__count"],
            )
        )
        return state, {p.id: c for p, c in recent.items()}

    @api.model
    def _trips(self, partner_ids, now, company=None, job_ids=False):
        """{partner_id: Trip} of the experts of ``partner_ids`` who are on the way to a visit (``en_route``, their
        only visit in hand, not a stop of a planned day, of ``company`` if given) and whose phone sent its
        position in the last TRIP_POSITION_MAX_AGE_MIN minutes: the visit's priority and SLA deadline, the
        expert's position. An urgent job may divert them (the dispatch policy's ``divert``). With ``job_ids``,
        {partner_id: visit id}."""
        self.env["crowd.job"].flush_model(["expert_id", "state", "priority", "sla_deadline"])
        self.env["res.partner"].flush_model(["partner_latitude", "partner_longitude", "crowd_position_at"])
        self.env["crowd.route.stop"].flush_model(["job_id"])
        self.env.cr.execute(
            SQL(
                """SELECT j.expert_id, j.id, j.priority, j.sla_deadline, p.partner_latitude, p.partner_longitude
                     FROM crowd_job j JOIN res_partner p ON p.id = j.expert_id
                    WHERE j.expert_id = ANY(%s) AND j.state = 'en_route' AND j.sla_deadline IS NOT NULL
                      AND p.crowd_position_at >= %s AND p.crowd_position_at <= %s
                      AND NOT EXISTS (SELECT 1 FROM crowd_route_stop s WHERE s.job_id = j.id)
                      AND (%s IS NULL OR j.company_id = %s)
                      AND NOT EXISTS (SELECT 1 FROM crowd_job o
                                       WHERE o.expert_id = j.expert_id AND o.id != j.id AND o.state IN %s)""",
                list(partner_ids),
                now - timedelta(minutes=TRIP_POSITION_MAX_AGE_MIN),
                now,
                company.id if company else None,
                company.id if company else None,
                ACTIVE_VISIT_STATES,
            )
        )
        trips = {}
        for partner_id, job_id, priority, deadline, lat, lon in self.env.cr.fetchall():
            if job_ids:
                trips[partner_id] = job_id
                continue
            try:
                trips[partner_id] = Trip(int(priority or 0), float(lat or 0.0), float(lon or 0.0), deadline)
            except crowd_dispatch.InvalidInput as exc:
                _logger.warning("Crowd expert %s: position on the way skipped: %s", partner_id, exc)
        return trips

    @api.model
    def _learning(self, partner_ids, company):
        """{partner_id: ExpertHistory} from the company's own offers and visits (see crowd_dispatch.policy).

        - offers answered or expired, and how many were accepted;
        - trips: the engine's predicted travel (the accepted offer's ETA) against the actual one (en route
          to on site), for visits with both;
        - per equipment model, the expert's finished visits and how many fixed it the first time (no later
          visit of the same request that was not cancelled).

        Three aggregate queries, whatever the number of experts.
        """
        if not partner_ids:
            return {}
        self.env["crowd.dispatch.offer"].flush_model(["expert_id", "state", "company_id", "job_id", "eta_min"])
        self.env["crowd.job"].flush_model(
            ["expert_id", "state", "company_id", "request_id", "equipment_id", "en_route_at", "on_site_at"]
        )
        self.env["maintenance.equipment"].flush_model(["model"])
        cr = self.env.cr
        histories = {}

        def history(partner_id):
            if partner_id not in histories:
                histories[partner_id] = ExpertHistory(visits_by_model={})
            return histories[partner_id]

        cr.execute(
            SQL(
                """SELECT expert_id, count(*), count(*) FILTER (WHERE state = 'accepted')
                     FROM crowd_dispatch_offer
                    WHERE expert_id = ANY(%s) AND company_id = %s AND state IN ('accepted', 'declined', 'expired')
                 GROUP BY expert_id""",
                list(partner_ids),
                company.id,
            )
        )
        for partner_id, offers, accepted in cr.fetchall():
            record = history(partner_id)
            record.offers, record.accepted = offers, accepted
        cr.execute(
            SQL(
                """SELECT j.expert_id, count(*), sum(o.eta_min),
                          sum(EXTRACT(EPOCH FROM j.on_site_at - j.en_route_at) / 60.0)
                     FROM crowd_job j
                     JOIN crowd_dispatch_offer o ON o.job_id = j.id AND o.state = 'accepted'
                    WHERE j.expert_id = ANY(%s) AND j.company_id = %s
                      AND j.en_route_at IS NOT NULL AND j.on_site_at IS NOT NULL AND o.eta_min > 0
                      AND j.on_site_at >= j.en_route_at
                      AND j.on_site_at <= j.en_route_at + make_interval(mins => %s)
                 GROUP BY j.expert_id""",
                list(partner_ids),
                company.id,
                MAX_TRAVEL_MIN,
            )
        )
        for partner_id, trips, planned, actual in cr.fetchall():
            record = history(partner_id)
            record.trips, record.planned_travel_min, record.actual_travel_min = trips, float(planned), float(actual)
        cr.execute(
            SQL(
                """WITH done AS (
                       SELECT j.id, j.expert_id, j.request_id, e.model
                         FROM crowd_job j JOIN maintenance_equipment e ON e.id = j.equipment_id
                        WHERE j.expert_id = ANY(%s) AND j.company_id = %s AND j.state = 'done'
                          AND e.model IS NOT NULL AND e.model != ''
                   ), last AS (
                       SELECT f.request_id, max(f.id) AS last_id
                         FROM crowd_job f
                        WHERE f.request_id IN (SELECT request_id FROM done) AND f.state != 'cancelled'
                     GROUP BY f.request_id
                   )
                   SELECT d.expert_id, d.model, count(*), count(*) FILTER (WHERE d.id >= l.last_id)
                     FROM done d JOIN last l ON l.request_id = d.request_id
                 GROUP BY d.expert_id, d.model""",
                list(partner_ids),
                company.id,
            )
        )
        for partner_id, model, visits, fixed in cr.fetchall():
            history(partner_id).visits_by_model[model] = (visits, fixed)
        return histories

    @api.model
    def _reserved(self, job):
        """Experts other open jobs of the company wait for (look-ahead): not offered to this one."""
        self.env["crowd.job"].flush_model(["waiting_expert_id", "state", "company_id"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT waiting_expert_id FROM crowd_job
                    WHERE company_id = %s AND state IN %s AND waiting_expert_id IS NOT NULL AND id != %s""",
                job.company_id.id,
                OPEN_DISPATCH_STATES,
                job.id,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _level_ranks(self, levels):
        """{level id: rank} where rank is 1, 2, 3... by progress within the level's skill type.

        The engine compares integer levels and counts "levels above the requirement", so levels go
        in as ranks, not as progress percentages; equal progress gives an equal rank, so a gate on
        ranks is the same gate as one on progress."""
        if not levels:
            return {}
        self.env["crowd.skill.level"].flush_model(["skill_type_id", "level_progress"])
        self.env.cr.execute(
            SQL(
                """SELECT id, level_rank FROM (
                       SELECT id, dense_rank() OVER (PARTITION BY skill_type_id ORDER BY level_progress) AS level_rank
                         FROM crowd_skill_level
                        WHERE skill_type_id IN (SELECT skill_type_id FROM crowd_skill_level WHERE id = ANY(%s))
                   ) ranked WHERE id = ANY(%s)""",
                list(levels.ids),
                list(levels.ids),
            )
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _required_levels(self, job, level_ranks=None):
        """{skill code: minimum level rank} of a job (0 = the skill at any level); ``level_ranks`` as
        :meth:`_level_ranks` returns them for (at least) the job's levels, else read."""
        lines = job.required_skill_ids
        ranks = level_ranks if level_ranks is not None else self._level_ranks(lines.min_level_id)
        skills = {}
        for line in lines:
            code = line.skill_id.code
            skills[code] = max(skills.get(code, 0), ranks.get(line.min_level_id.id, 0))
        return skills

    @api.model
    def _expert_skills(self, partner_ids):
        """{partner_id: {skill code: level rank}} in one query (see :meth:`_level_ranks`)."""
        self.env["crowd.expert.skill"].flush_model(["partner_id", "skill_id", "level_id"])
        self.env["crowd.skill"].flush_model(["code"])
        self.env["crowd.skill.level"].flush_model(["skill_type_id", "level_progress"])
        self.env.cr.execute(
            SQL(
                """SELECT es.partner_id, s.code, lv.level_rank
                     FROM crowd_expert_skill es
                     JOIN crowd_skill s ON s.id = es.skill_id
                     JOIN (SELECT id, dense_rank() OVER (PARTITION BY skill_type_id ORDER BY level_progress)
                                      AS level_rank
                             FROM crowd_skill_level) lv ON lv.id = es.level_id
                    WHERE es.partner_id = ANY(%s)""",
                list(partner_ids),
            )
        )
        skills = {}
        for partner_id, code, level in self.env.cr.fetchall():
            per = skills.setdefault(partner_id, {})
            per[code] = max(per.get(code, 0), int(level or 0))
        return skills

    @api.model
    def _expert_certificates(self, partner_ids, today):
        """{partner_id: {certificate code: last valid day}} of the certificates that qualify ``today``:
        verified, issued, not past their expiry day (expired, revoked and pending ones never count)."""
        self.env["crowd.expert.certificate"].flush_model(
            ["partner_id", "type_id", "state", "issue_date", "expiry_date"]
        )
        self.env["crowd.certificate.type"].flush_model(["code"])
        self.env.cr.execute(
            SQL(
                """SELECT c.partner_id, t.code, c.expiry_date
                     FROM crowd_expert_certificate c
                     JOIN crowd_certificate_type t ON t.id = c.type_id
                    WHERE c.partner_id = ANY(%s) AND c.state = 'verified'
                      AND (c.issue_date IS NULL OR c.issue_date <= %s)
                      AND (c.expiry_date IS NULL OR c.expiry_date >= %s)""",
                list(partner_ids),
                today,
                today,
            )
        )
        certificates = {}
        for partner_id, code, expiry in self.env.cr.fetchall():
            per = certificates.setdefault(partner_id, {})
            until = expiry or date.max
            per[code] = max(per.get(code, until), until)
        return certificates

    @api.model
    def _experts(self, rows, now, settings=None, learning=None, company=None):
        """Engine Experts for prefiltered expert rows (see :meth:`_candidate_rows`); unavailable experts
        (working hours, unavailabilities) are left out. ``learning`` ({partner_id: ExpertHistory}) gives
        each expert the acceptance the ranking uses (learned, shrunk toward the prior)."""
        if not rows:
            return []
        settings = settings or self.env["crowd.dispatch.rule"].new({})._dispatch_settings()
        learning = learning or {}
        partner_ids = [row["id"] for row in rows]
        skills = self._expert_skills(partner_ids)
        certificates = self._expert_certificates(partner_ids, now.date())
        state, recent = self._expert_stats(partner_ids, now, settings, company=company)
        # working hours and unavailabilities: ask the expert model, only for experts that have any
        scheduled = self.env["res.partner"].sudo().browse([row["id"] for row in rows if row["has_schedule"]])
        available = scheduled._crowd_is_available_at(now) if scheduled else {}
        # their shifts ahead, so that a job is not deferred into a time with fewer experts on shift
        horizon = now + timedelta(minutes=settings.defer_max_wait_min + MAX_PLANNED_HORIZON_MIN)
        windows = self._expert_windows(scheduled.filtered(lambda p: available.get(p.id)), now, horizon)
        prior = settings.prior_acceptance
        experts = []
        for row in rows:
            pid = row["id"]
            if not available.get(pid, True):
                continue
            now_doing = state.get(pid) or {}
            capacity = int(row["crowd_max_jobs"] or 0)
            history = learning.get(pid)
            acceptance = learned_acceptance(history, settings) if settings.learned_acceptance and history else prior
            try:
                experts.append(
                    Expert(
                        id=pid,
                        kind=row["crowd_kind"],
                        tier=row["crowd_tier"] or "technician",
                        lat=float(now_doing.get("lat") or row["partner_latitude"] or 0.0),
                        lon=float(now_doing.get("lon") or row["partner_longitude"] or 0.0),
                        radius_km=float(row["crowd_radius_km"] or 0.0),
                        skills=skills.get(pid, {}),
                        certificates=certificates.get(pid, {}),
                        online=bool(row["crowd_online"]),
                        busy_until=now_doing.get("busy_until"),
                        windows=windows.get(pid, ()),
                        capacity=capacity,
                        load=capacity if now_doing.get("held") else now_doing.get("load", 0),
                        rating=min(max(float(row["crowd_rating"] or 0.0), 0.0), 5.0),
                        acceptance_rate=min(max(acceptance, 0.0), 1.0),
                        cost_per_job=max(float(row["crowd_cost_per_job"] or 0.0), 0.0),
                        recent_offers=recent.get(pid, 0),
                        trip=now_doing.get("trip"),
                    )
                )
            except crowd_dispatch.InvalidInput as exc:
                # one bad expert record must not stop the dispatch of a request
                _logger.warning("Crowd expert %s skipped: %s", pid, exc)
        return experts

    @api.model
    def _expert_windows(self, partners, start, end):
        """{partner_id: ((from, to), ...)}: when each expert of ``partners`` works between ``start`` and
        ``end`` (naive UTC): their working hours (no calendar: all the time) minus their unavailabilities."""
        spans = self._expert_work_spans(partners, start, end)
        # an expert with no working time left in the horizon still needs a window: an empty one
        return {pid: tuple(windows) or ((start, start),) for pid, windows in spans.items()}

    @api.model
    def _expert_work_spans(self, partners, start, end, default_calendar=None):
        """{partner_id: [(from, to), ...]} (naive UTC): each expert's working hours between ``start`` and
        ``end`` (their calendar, else ``default_calendar``, else all the time) minus their unavailabilities.
        One calendar evaluation per distinct calendar and one query for the unavailabilities."""
        if not partners:
            return {}
        spans = {}
        utc_start, utc_end = pytz.utc.localize(start), pytz.utc.localize(end)
        for calendar, group in partners.grouped(lambda p: p.crowd_calendar_id or default_calendar).items():
            if calendar:
                intervals = calendar._work_intervals_batch(utc_start, utc_end)[False]
                calendar_spans = [
                    (a.astimezone(pytz.utc).replace(tzinfo=None), b.astimezone(pytz.utc).replace(tzinfo=None))
                    for a, b, _meta in intervals
                ]
            else:
                calendar_spans = [(start, end)]
            for partner in group:
                spans[partner.id] = list(calendar_spans)
        blackouts = (
            self.env["crowd.expert.blackout"]
            .sudo()
            .search_read(
                [("partner_id", "in", partners.ids), ("date_from", "<", end), ("date_to", ">", start)],
                ["partner_id", "date_from", "date_to"],
            )
        )
        for blackout in blackouts:
            pid, off_from, off_to = blackout["partner_id"][0], blackout["date_from"], blackout["date_to"]
            cut = []
            for a, b in spans.get(pid, ()):
                if off_to <= a or off_from >= b:
                    cut.append((a, b))
                    continue
                if a < off_from:
                    cut.append((a, off_from))
                if off_to < b:
                    cut.append((off_to, b))
            spans[pid] = cut
        return spans

    @api.model
    def _history(self, job):
        return tuple(
            OfferRecord(
                expert_id=offer.expert_id.id,
                round=offer.round,
                state=offer.state,
                sent_at=offer.sent_at or job._crowd_now(),
                responded_at=offer.responded_at or None,
            )
            for offer in job._crowd_history_offers()
        )

    @api.model
    def _inputs(self, job, now):
        """(engine job, pool, policy, rule) for the job at ``now``."""
        engine_job, pool, policy, rule, _settings, _learning = self._policy_inputs(job, now)
        return engine_job, pool, policy, rule

    @api.model
    def _policy_inputs(self, job, now):
        """(engine job, pool, policy, rule, settings, learning) for the job at ``now``."""
        rule = self._rule_for(job)
        engine_job = self._job(job)
        policy = self._policy(rule)
        settings = rule._dispatch_settings()
        rows = self._candidate_rows(job, rule, now)
        learning = self._learning([row["id"] for row in rows], job.company_id)
        experts = self._experts(rows, now, settings=settings, learning=learning, company=job.company_id)
        return engine_job, ExpertPool.from_experts(experts), policy, rule, settings, learning

    @api.model
    def _free_share(self, job, now):
        """The engine's ``free_share`` of the pool ``_dispatch`` would build for ``job`` at ``now`` (the share
        of its online experts, inside their working windows, who are free), without learning or ranking."""
        rule = self._rule_for(job)
        experts = self._experts(self._candidate_rows(job, rule, now), now, settings=rule._dispatch_settings())
        return free_share(ExpertPool.from_experts(experts), now) if experts else 0.0

    @api.model
    def _standby_calls(self, rule, now):
        """Standby calls of ``rule`` at ``now`` (the engine's ``standby_calls``): when its jobs are short of
        experts, ask qualified offline experts near them to come online for the rule's standby premium.

        Waiting jobs: the rule's jobs in dispatch with no offer pending. The free share is that of the pool
        of the most urgent one, and the candidates are the offline experts of that pool, available now and
        not called today. Returns the experts called (``crowd_standby_called_at`` = now, a message and a bus
        notification each)."""
        Partner = self.env["res.partner"].sudo()
        settings = rule._supply_settings()
        if not settings.standby:
            return Partner
        jobs = (
            self.env["crowd.job"]
            .sudo()
            .search(
                [
                    ("rule_id", "=", rule.id),
                    ("state", "in", OPEN_DISPATCH_STATES),
                    ("company_id", "=", rule.company_id.id),
                ]
            )
        )
        waiting = jobs.filtered(lambda j: not j.offer_ids.filtered(lambda o: o.state == "pending"))
        if not waiting:
            return Partner
        first = max(waiting, key=lambda j: (int(j.priority or 0), -j.id))
        day_start = datetime.combine(now.date(), time.min)
        rows = [row for row in self._candidate_rows(first, rule, now) if not row["crowd_online"]]
        called = Partner.browse([row["id"] for row in rows]).filtered(
            lambda p: p.crowd_standby_called_at and p.crowd_standby_called_at >= day_start
        )
        rows = [row for row in rows if row["id"] not in called.ids]
        company = [("is_crowd_expert", "=", True), "|", ("crowd_company_id", "=", rule.company_id.id),
                   ("crowd_company_id", "=", False)]  # fmt: skip
        today = Partner.search_count([*company, ("crowd_standby_called_at", ">=", day_start)])
        open_calls = Partner.search_count(
            [
                *company,
                ("crowd_online", "=", False),
                ("crowd_standby_called_at", ">", now - timedelta(minutes=STANDBY_CALL_OPEN_MIN)),
            ]
        )
        candidates = self._experts(rows, now, settings=rule._dispatch_settings())
        engine_jobs = [self._job(job) for job in waiting]
        ids = standby_calls(
            self._free_share(first, now), engine_jobs, candidates, settings, open_calls=open_calls,
            calls_today=today,
        )  # fmt: skip
        experts = Partner.browse(ids)
        if not experts:
            return experts
        # the promise is kept on the expert: coming online within the hour earns it (res.partner.crowd_set_online),
        # the payout of the first job accepted after that, the same day, pays it (crowd_service_payout)
        # own technicians are salaried (no payout per job): they are called without a premium
        hours = settings.standby_premium_hours
        employees = experts.filtered(lambda p: p.crowd_kind == "employee")
        employees.write({"crowd_standby_called_at": now, "crowd_standby_premium_hours": 0.0})
        (experts - employees).write({"crowd_standby_called_at": now, "crowd_standby_premium_hours": hours})
        urgent = sum(1 for job in engine_jobs if job.priority >= 3)
        for expert in experts:
            env = self.with_context(lang=expert.lang or self.env.lang).env
            if expert.crowd_standby_premium_hours > 0:
                body = env._(
                    "Experts are short near you: %(count)s urgent job(s) wait. Please come online now. If you come "
                    "online within the hour, the first job you accept today after that pays you a standby premium "
                    "on top: %(hours)s hour(s) of that job's pay (its package rate divided by its planned hours).",
                    count=urgent,
                    hours=formatLang(env, expert.crowd_standby_premium_hours, digits=1),
                )
            else:
                body = env._(
                    "Experts are short near you: %(count)s urgent job(s) wait. Please come online now.", count=urgent
                )
            expert.message_post(
                body=body, partner_ids=expert.ids, message_type="comment", subtype_xmlid="mail.mt_comment"
            )
            expert._bus_send("crowd_standby", {"premium_hours": expert.crowd_standby_premium_hours, "urgent": urgent})
        return experts

    # ------------------------------------------------------------------ engine calls
    @api.model
    def _rank(self, job, now, k=10, exclude=()):
        """Ranked candidates for a manual choice: list of dicts with the engine's reasons."""
        engine_job, pool, policy, _rule = self._inputs(job, now)
        try:
            result = rank(engine_job, pool, policy, now, k=k, exclude=tuple(exclude))
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("Job %(name)s: %(error)s", name=job.name, error=exc)) from exc
        return [self._candidate_vals(candidate) for candidate in result.candidates]

    @api.model
    def _candidate_vals(self, candidate):
        return {
            "expert_id": int(candidate.expert_id),
            "score": float(candidate.score),
            "score_breakdown": {str(k): float(v) for k, v in candidate.breakdown.items()},
            "reason_codes": [[code, params] for code, params in explain(candidate)],
            "distance_km": float(candidate.distance_km),
            "eta_min": float(candidate.eta_min),
            "tier": candidate.tier.value,
            "expert_pool": candidate.pool.value,
        }

    @api.model
    def _specialist_skills(self, job, diagnosis):
        """{skill code: minimum level} of a specialist follow-up of ``job``: the engine merges the
        diagnosis levels into the job's skills, keeping the higher level."""
        skills = self._required_levels(job)
        now = job._crowd_now()
        engine_job = Job(id=job.id, lat=0.0, lon=0.0, created_at=now, sla_deadline=now, skills=skills)
        try:
            return dict(escalate_to_specialist(engine_job, diagnosis, now=now).skills)
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("Escalation of %(name)s: %(error)s", name=job.name, error=exc)) from exc

    # ------------------------------------------------------------------ batch assignment
    @api.model
    def _batch_inputs(self, jobs, now):
        """Engine inputs of a batch of ``jobs`` of one company, in their order: (engine jobs, one Policy per
        job (its rule's), the pool of the company's experts that can reach any of them, and
        {job id: experts who declined it}: they are not assigned to it directly).

        The pool is built once, as for one job (working hours, time off, visits under way, an open offer
        held for another job), from the experts whose home base lies in the union of the jobs' radius boxes.
        """
        company = jobs.company_id
        if len(company) != 1:
            raise UserError(self.env._("A batch assignment covers the jobs of one company."))
        policies_of = {}
        engine_jobs, policies = [], []
        level_ranks = self._level_ranks(jobs.required_skill_ids.min_level_id)
        lat_min = lon_min = math.inf
        lat_max = lon_max = -math.inf
        for job in jobs:
            rule = self._rule_for(job)
            key = rule.id or 0  # the unsaved default rule of jobs without one
            if key not in policies_of:
                policies_of[key] = self._policy(rule)
            engine_jobs.append(self._job(job, level_ranks))
            policies.append(policies_of[key])
            box = self._bounding_box(job.latitude, job.longitude, rule.max_radius_km)
            lat_min, lat_max = min(lat_min, box[0]), max(lat_max, box[1])
            lon_min, lon_max = min(lon_min, box[2]), max(lon_max, box[3])
        rows = self._expert_rows(company, lat_min, lat_max, lon_min, lon_max) if jobs else []
        # every job's own dispatch settings do not apply here: an expert holding an open offer is not free
        settings = DispatchSettings(one_open_offer_per_expert=True)
        pool = ExpertPool.from_experts(self._experts(rows, now, settings=settings))
        self.env["crowd.dispatch.offer"].flush_model(["job_id", "expert_id", "state"])
        self.env.cr.execute(
            SQL(
                """SELECT job_id, array_agg(DISTINCT expert_id) FROM crowd_dispatch_offer
                    WHERE job_id = ANY(%s) AND state = 'declined' GROUP BY job_id""",
                list(jobs.ids),
            )
        )
        exclude = dict(self.env.cr.fetchall())
        return engine_jobs, policies, pool, exclude

    @api.model
    def _batch_propose(self, jobs, now):
        """The engine's batch assignment of ``jobs`` (waiting jobs of one company) and, to compare with,
        first come, first served (jobs by report time, each to its nearest free qualified expert).

        Returns ``{"experts", "lines", "batch_staffed", "batch_cost", "greedy_staffed", "greedy_cost"}``;
        ``lines`` in first-come order, one dict per job: ``job``, ``expert_id`` (False when unstaffed),
        ``distance_km``, ``eta_min``, ``late_min``, ``cost_min``, ``reasons`` (text), ``greedy_expert_id``,
        ``greedy_cost_min``. Costs are minutes: ETA plus minutes late at the SLA deadline.
        """
        order = sorted(jobs, key=lambda j: (j.requested_at or j.create_date or now, j.id))
        jobs = jobs.browse([job.id for job in order])
        engine_jobs, policies, pool, exclude = self._batch_inputs(jobs, now)
        args = (pool, policies, now, BATCH_SLA_PENALTY)
        try:
            batch = assign_batch(engine_jobs, *args, k=BATCH_CANDIDATES_PER_JOB, exclude=exclude)
            greedy = assign_greedy(engine_jobs, *args, exclude=exclude)
            details = assignment_details(batch, engine_jobs, *args, exclude=exclude)
            greedy_details = assignment_details(greedy, engine_jobs, *args, exclude=exclude)
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("Batch assignment: %s", exc)) from exc
        lines = []
        for job in jobs:
            detail, fcfs = details[job.id], greedy_details[job.id]
            # the travel figures have columns of their own
            reasons = [(code, params) for code, params in detail["reasons"] if code != "travel"]
            lines.append(
                {
                    "job": job,
                    "expert_id": detail["expert_id"] or False,
                    "distance_km": detail.get("distance_km", 0.0),
                    "eta_min": detail.get("eta_min", 0.0),
                    "late_min": detail.get("late_min", 0.0),
                    "cost_min": detail.get("cost_min", 0.0),
                    "reasons": self._reasons_text(reasons),
                    "greedy_expert_id": fcfs["expert_id"] or False,
                    "greedy_cost_min": fcfs.get("cost_min", 0.0),
                }
            )
        return {
            "experts": pool.size,
            "lines": lines,
            "batch_staffed": len(batch),
            "batch_cost": sum(line["cost_min"] for line in lines),
            "greedy_staffed": len(greedy),
            "greedy_cost": sum(line["greedy_cost_min"] for line in lines),
        }

    @api.model
    def _batch_check(self, pairs, now):
        """Before a batch is applied: each ``(job, expert)`` of ``pairs`` passes every gate of the job now
        (its rule's pools, tier, skills, certificates, online, not busy, working hours and time off,
        capacity, rating, cost ceiling, radius; not someone who declined it), and no expert gets more of
        these jobs than they have room for. Raises a UserError naming the job, the expert and the gate."""
        if not pairs:
            return True
        jobs = pairs[0][0].browse([job.id for job, _expert in pairs])
        engine_jobs, policies, pool, exclude = self._batch_inputs(jobs, now)
        labels = dict(self._rejection_labels(), excluded=self.env._("declined this job"))
        left = {}
        for (job, expert), engine_job, policy in zip(pairs, engine_jobs, policies):
            row = pool.row_of.get(expert.id)
            if row is None:
                reason = self._batch_absent_reason(expert, job)
            else:
                one = ExpertPool.from_experts([pool.experts[row]])
                rejections = evaluate(engine_job, one, policy, now, exclude=exclude.get(job.id, ())).rejections
                failed = [gate for gate, count in rejections.items() if count]
                left.setdefault(expert.id, math.ceil(pool.free[row]))
                if failed:
                    reason = labels.get(failed[0], failed[0])
                elif left[expert.id] <= 0:
                    reason = self.env._("no capacity left for one more of these jobs")
                else:
                    left[expert.id] -= 1
                    continue
            raise UserError(
                self.env._(
                    "%(expert)s cannot take %(job)s: %(reason)s. Nothing was assigned; compute the proposal again.",
                    expert=expert.sudo().display_name,
                    job=job.name,
                    reason=reason,
                )
            )
        return True

    @api.model
    def _batch_absent_reason(self, expert, job):
        """Why ``expert`` is not in the batch's pool for ``job``, in words."""
        # sudo: names the reason for an expert the dispatcher chose; only flags of that partner are read
        partner = expert.sudo()
        if not (partner.active and partner.is_crowd_expert and partner.crowd_state == "active"):
            return self.env._("not an active expert")
        if partner.crowd_company_id and partner.crowd_company_id != job.company_id:
            return self.env._("an expert of another company")
        if not partner.partner_latitude and not partner.partner_longitude:
            return self.env._("no home base position")
        if partner.crowd_calendar_id or partner.crowd_blackout_ids:
            if not partner._crowd_is_available_at(job._crowd_now()).get(partner.id, True):
                return self.env._("off duty (working hours or time off)")
        return self._rejection_labels()["radius"]

    # ------------------------------------------------------------------ the engine's reasons, in words
    @api.model
    def _reason_text(self, code, params):
        """One engine reason ``(code, params)`` in the user's language."""
        params = dict(params or {})
        env = self.env

        def num(key, digits=0):
            return formatLang(env, float(params.get(key) or 0.0), digits=digits)

        offer_fields = env["crowd.dispatch.offer"]._fields

        def label(fname, key):
            # the selection's labels in the user's language, only for the reason that shows them
            return dict(offer_fields[fname]._description_selection(env)).get(params.get(key), "")

        texts = {
            "travel": lambda: env._("%(minutes)s min away (%(km)s km)", minutes=num("minutes"), km=num("km", 1)),
            "rating_top": lambda: env._("top-rated (%s/5)", num("rating", 1)),
            "rating_good": lambda: env._("well rated (%s/5)", num("rating", 1)),
            "skill_surplus": lambda: env._(
                "skills above what the job needs (+%s levels)", int(params.get("levels", 0))
            ),
            "likely_accept": lambda: env._("usually accepts (%s%%)", num("percent")),
            "low_cost": lambda: env._("low cost"),
            "fair_share": lambda: env._("no recent offers (fair share of work)"),
            "sla_ahead": lambda: env._("arrives %s min before the deadline", num("minutes")),
            "sla_late": lambda: env._("would arrive %s min after the deadline", num("minutes")),
            "tier_pool": lambda: env._(
                "%(tier)s, %(pool)s", tier=label("tier", "tier"), pool=label("expert_pool", "pool")
            ),
            "accepted": lambda: env._("accepted by an expert"),
            "offers_pending": lambda: env._("%s offer(s) waiting for an answer", int(params.get("count", 0))),
            "rounds_exhausted": lambda: env._("nobody accepted in %s offer rounds", int(params.get("rounds", 0))),
            "offer_round": lambda: env._("offer round %s sent", int(params.get("round", 0))),
            "pool_opens_later": lambda: env._("no candidate yet; the next pool opens later"),
            "no_candidate": lambda: env._(
                "no candidate in any open pool (%s)", self._rejections_text(params.get("rejections") or {})
            ),
            "candidates_taken": lambda: env._(
                "its %s candidate(s) are assigned to other jobs of the batch", int(params.get("candidates", 0))
            ),
        }
        text = texts.get(code)
        return text() if text else str(code)

    @api.model
    def _pay_line_text(self, line):
        """One line of an offer's extra pay (``crowd.dispatch.offer.pay_lines``) in the user's language."""
        env = self.env
        code = line.get("code")
        percent = formatLang(env, float(line.get("percent") or 0.0), digits=0)
        if code == "shortage":
            rounds = int(line.get("rounds") or 0)
            if rounds == 1:
                return env._("+%(percent)s%% after 1 round", percent=percent)
            return env._("+%(percent)s%% after %(rounds)s rounds", percent=percent, rounds=rounds)
        if code == "cap":
            return env._(
                "capped at ×%(multiplier)s", multiplier=formatLang(env, float(line.get("multiplier") or 0), digits=2)
            )
        if code == "rule":
            return env._("+%(percent)s%% %(label)s", percent=percent, label=line.get("label") or "")
        if code == "standby":
            return env._(
                "+%(hours)s h standby premium", hours=formatLang(env, float(line.get("hours") or 0.0), digits=1)
            )
        return str(code)

    @api.model
    def _pay_lines_text(self, lines):
        """An offer's extra pay as one line of text, e.g. "+30% night, +20% after 2 rounds"."""
        return ", ".join(self._pay_line_text(line) for line in lines or [] if isinstance(line, dict))

    @api.model
    def _rejections_text(self, rejections):
        labels = self._rejection_labels()
        parts = [f"{labels.get(reason, reason)}: {count}" for reason, count in rejections.items() if count]
        return ", ".join(parts) if parts else self.env._("nobody rejected")

    @api.model
    def _rejection_labels(self):
        """{engine gate: its name in the user's language}."""
        return {
            "excluded": self.env._("already asked"),
            "pool": self.env._("pool not open yet"),
            "tier": self.env._("tier"),
            "skill": self.env._("skills"),
            "certificate": self.env._("certificates"),
            "offline": self.env._("offline"),
            "busy": self.env._("busy"),
            "off_hours": self.env._("off hours"),
            "capacity": self.env._("no capacity left"),
            "rating": self.env._("rating too low"),
            "cost": self.env._("above the cost ceiling"),
            "radius": self.env._("too far"),
        }

    @api.model
    def _reasons_text(self, reason_codes):
        """A list of engine reasons as one line of text in the user's language."""
        return "; ".join(self._reason_text(code, params) for code, params in (reason_codes or []))

    @api.model
    def _dispatch(self, job, now):
        """Ask the engine's dispatch policy what to do next for ``job`` and write the decision back.

        The same ``crowd_dispatch.policy.decide`` the simulator's ``ours`` runs, with the job's rule as
        settings, the experts as they are now (on a visit: busy until its planned end, at its site),
        the experts other jobs wait for (``reserved``) and what the company learned of each expert.
        A dispatcher's "Dispatch now" (``dispatch_override``) switches deferral and look-ahead off for
        this job. Returns the decision's action: ``offer``, ``wait``, ``defer``, ``escalate``, ``assigned``.
        """
        job.ensure_one()
        engine_job, pool, policy, _rule, settings, learning = self._policy_inputs(job, now)
        if job.dispatch_override:
            settings = settings.without("defer", "lookahead")
        history = self._history(job)
        reserved = self._reserved(job)
        diverts = self.env["crowd.job"]
        try:
            decision = decide(engine_job, pool, policy, settings, history, now, reserved=reserved, learning=learning)
            if decision.code == "divert":
                expert_id = decision.params["expert_id"]
                trips = self._trips([expert_id], now, company=job.company_id, job_ids=True)
                diverts = diverts.sudo().browse(trips.get(expert_id))
                if not diverts:  # cannot happen in one transaction; never divert from a visit not found
                    settings = settings.without("divert")
                    decision = decide(
                        engine_job, pool, policy, settings, history, now, reserved=reserved, learning=learning
                    )
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("Job %(name)s: %(error)s", name=job.name, error=exc)) from exc
        wait = {"wait_code": False, "wait_params": False, "wait_until": False, "waiting_expert_id": False}
        if decision.action == "offer" and decision.offers:
            job.write(wait)
            offers = self._write_offers(job, decision, policy, now, diverts=diverts)
            if diverts and offers:
                params = decision.params
                job.sudo().message_post(
                    body=self.env._(
                        "Offered to %(expert)s, who is on the way to %(visit)s: at the door in about %(door)s min, "
                        "%(gain)s min sooner than the best free expert. If they accept, %(visit)s goes out again.",
                        expert=offers.expert_id.name,
                        visit=diverts.name,
                        door=formatLang(self.env, float(params.get("door_min") or 0.0), digits=0),
                        gain=formatLang(self.env, float(params.get("gain_min") or 0.0), digits=0)
                        if params.get("gain_min") is not None
                        else "—",
                    ),
                    subtype_xmlid="mail.mt_note",
                )
            if offers and settings.stagger:
                # the stagger step: the next expert may get an offer too if nobody answers by then
                job._crowd_schedule_check(now + timedelta(minutes=settings.stagger_after_min))
            return decision.action
        if decision.action == "escalate" and decision.code == "no_candidate":
            blocked = {r.expert_id for r in history if r.state.value == "pending"} | reserved
            rejections = evaluate(engine_job, pool, policy, now, exclude=blocked).rejections
            if any(rejections[reason] for reason in WAITABLE_REJECTIONS) and now < engine_job.sla_deadline:
                # qualified experts are busy or hold other offers: wait for one to free up (an event, see
                # crowd.job._crowd_wake_waiting), and go to a dispatcher at the SLA deadline at the latest
                job.write(dict(wait, wait_code="no_candidate", wait_until=engine_job.sla_deadline))
                job._crowd_schedule_check(engine_job.sla_deadline)
                return "wait"
            job.write(wait)
            job._crowd_escalate(self._reason_text("no_candidate", {"rejections": dict(rejections)}), now=now)
            return decision.action
        if decision.action == "escalate":
            job.write(wait)
            rounds = {"rounds": policy.max_rounds}
            job._crowd_escalate(self._reason_text("rounds_exhausted", rounds), now=now)
            return decision.action
        if decision.action in ("wait", "defer"):
            params = {k: v for k, v in decision.params.items() if isinstance(v, int | float | str | bool)}
            job.write(
                dict(
                    wait,
                    wait_code=decision.code if decision.code in WAIT_CODES else False,
                    wait_params=params or False,
                    wait_until=decision.wait_until or False,
                    waiting_expert_id=decision.waiting_for or False,
                )
            )
            if decision.wait_until:
                job._crowd_schedule_check(decision.wait_until)
        return decision.action

    # ------------------------------------------------------------------ why a job waits, in words
    @api.model
    def _format_moment(self, moment, now):
        """A moment in the reader's time zone: the time alone when it is within 12 hours of now."""
        tz = self.env.context.get("tz") or self.env.user.tz or "UTC"
        pattern = "HH:mm" if abs((moment - now).total_seconds()) < 12 * 3600 else "short"
        return format_datetime(self.env, moment, tz=tz, dt_format=pattern)

    @api.model
    def _wait_text(self, code, params, wait_until, now=None):
        """Why a job waits (``crowd.job.wait_code`` and its parameters) in the user's language."""
        if not code:
            return ""
        params = dict(params or {})
        env = self.env
        now = now or fields.Datetime.now()
        until = self._format_moment(wait_until, now) if wait_until else ""

        def minutes(key):
            return formatLang(env, float(params.get(key) or 0.0), digits=0)

        if code == "lookahead":
            if wait_until:  # the minutes left, not those at the decision
                params["wait_min"] = max((wait_until - now).total_seconds() / 60.0, 0.0)
            if params.get("gain_min") is None:
                return env._(
                    "Waiting %(wait)s min for an expert finishing nearby: nobody qualified is free now.",
                    wait=minutes("wait_min"),
                )
            return env._(
                "Waiting %(wait)s min for an expert finishing nearby: %(gain)s min sooner than the best free one.",
                wait=minutes("wait_min"),
                gain=minutes("gain_min"),
            )
        if code == "deferred":
            return env._(
                "Held while few experts are free (%(share)s%% free); released at %(time)s at the latest.",
                share=formatLang(env, 100.0 * float(params.get("free_share") or 0.0), digits=0),
                time=until,
            )
        if code == "pending":
            if until:
                return env._(
                    "%(count)s offer(s) waiting for an answer; next step at %(time)s.",
                    count=int(params.get("pending") or 0),
                    time=until,
                )
            return env._("%s offer(s) waiting for an answer.", int(params.get("pending") or 0))
        if code == "no_candidate":
            if until:
                return env._(
                    "No qualified expert is free: dispatched as soon as one frees up or the next pool "
                    "opens; at %(time)s at the latest.",
                    time=until,
                )
            return env._("No qualified expert is free: dispatched as soon as one frees up.")
        return str(code)

    @api.model
    def _write_offers(self, job, decision, policy, now, diverts=False):
        """Write the decision's offers (a staggered one continues its round's ranks) and notify the experts.
        ``diverts``: the visit the (one) offered expert is on the way to, left if they accept (``divert``)."""
        vals_list = []
        Partner = self.env["res.partner"].sudo()
        made = {(o.round, o.expert_id.id) for o in job.sudo().offer_ids}
        ranks = {}
        for o in job.sudo().offer_ids:
            ranks[o.round] = max(ranks.get(o.round, 0), o.rank)
        for offer in decision.offers:
            if (offer.round, offer.expert_id) in made:
                continue  # one offer per expert and round (an expert asked again gets it in a later round)
            ranks[offer.round] = ranks.get(offer.round, 0) + 1
            vals = self._candidate_vals(offer.candidate)
            vals.update(
                job_id=job.id,
                round=offer.round,
                rank=ranks[offer.round],
                state="pending",
                sent_at=offer.sent_at,
                expires_at=offer.expires_at,
                divert_job_id=diverts.id if diverts else False,
            )
            vals.update(job._crowd_offer_pay_vals(Partner.browse(vals["expert_id"]), vals, now))
            vals_list.append(vals)
        # the payout addon holds the offers whose pay passes the job's cost ceiling (approval first)
        vals_list = job._crowd_hold_offers(vals_list, now)
        if not vals_list:
            return self.env["crowd.dispatch.offer"]
        # sudo: offers are written by the dispatch system on behalf of whoever triggered it
        offers = self.env["crowd.dispatch.offer"].sudo().create(vals_list)
        job._crowd_mark_offered(now)
        job._crowd_schedule_check(min(offers.mapped("expires_at")))
        offers._crowd_notify()
        return offers
