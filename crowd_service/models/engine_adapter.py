"""The one path between Odoo records and the pure-Python engine ``crowd_dispatch``.

Records -> engine inputs (Job, Expert, Policy, OfferRecord) here, engine decisions -> offers here.
No scoring or matching logic lives in the addon: the engine decides, this file translates.
"""

import logging
import math
from datetime import date, timedelta

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

import crowd_dispatch
from crowd_dispatch import (
    Expert,
    ExpertPool,
    Job,
    OfferRecord,
    Policy,
    PoolStep,
    Weights,
    escalate_to_specialist,
    explain,
    next_offers,
    rank,
)
from crowd_dispatch.geo import KM_PER_DEGREE_LAT

_logger = logging.getLogger(__name__)

ACTIVE_VISIT_STATES = ("assigned", "en_route", "on_site")
FAIRNESS_WINDOW_DAYS = 7
DEFAULT_ACCEPTANCE = 0.7
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


def _value(obj, name, default=None):
    """Enum-or-plain value of an engine attribute."""
    value = getattr(obj, name, default)
    return getattr(value, "value", value)


class CrowdDispatchEngine(models.AbstractModel):
    _name = "crowd.dispatch.engine"
    _description = "Crowd Dispatch Engine Adapter"

    # ------------------------------------------------------------------ policy and job
    @api.model
    def _rule_for(self, request):
        """The request's rule, or an unsaved rule with default values when none matches."""
        rule = request.crowd_rule_id or self.env["crowd.dispatch.rule"]._find_for_request(request)
        if not rule:
            rule = self.env["crowd.dispatch.rule"].new({"name": "Default", "company_id": request.company_id.id})
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
    def _job(self, request):
        if not request.crowd_latitude and not request.crowd_longitude:
            raise UserError(
                self.env._("Request %s has no site position: set the site's coordinates first.", request.name)
            )
        created = request.crowd_requested_at or request.create_date or request._crowd_now()
        deadline = request.crowd_sla_deadline or created + timedelta(minutes=request._crowd_sla_minutes())
        skills = self._required_levels(request)
        try:
            return Job(
                id=request.id,
                lat=request.crowd_latitude,
                lon=request.crowd_longitude,
                created_at=created,
                sla_deadline=max(deadline, created),
                skills=skills,
                certificates=tuple(request.crowd_certificate_type_ids.mapped("code")),
                min_tier=request.crowd_min_tier or None,
                priority=int(request.priority or 0),
                equipment_model=request.equipment_id.model or None,
            )
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("Request %(name)s: %(error)s", name=request.name, error=exc)) from exc

    # ------------------------------------------------------------------ experts
    @api.model
    def _bounding_box(self, lat, lon, radius_km):
        dlat = radius_km / KM_PER_DEGREE_LAT
        dlon = radius_km / (KM_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
        return lat - dlat, lat + dlat, lon - dlon, lon + dlon

    @api.model
    def _candidate_rows(self, request, rule, now):
        """SQL prefilter of a large pool: active, online experts of the request's company in the enabled
        pools whose home base lies in the bounding box of the rule's radius around the site and whose
        cost per job fits the request's cost ceiling (when it has one).

        Returns one dict per expert with the columns the engine needs (no ORM read: 10,000s of experts).
        """
        kinds = rule._enabled_kinds()
        if not kinds:
            return []
        self.env["res.partner"].flush_model(PARTNER_COLUMNS + PARTNER_FILTER_COLUMNS)
        self.env["crowd.expert.blackout"].flush_model(["partner_id"])
        lat_min, lat_max, lon_min, lon_max = self._bounding_box(
            request.crowd_latitude, request.crowd_longitude, rule.max_radius_km
        )
        ceiling = request.crowd_cost_ceiling or 0.0
        self.env.cr.execute(
            SQL(
                """SELECT p.id, p.crowd_kind, p.crowd_tier, p.partner_latitude, p.partner_longitude,
                          p.crowd_radius_km, p.crowd_max_jobs, p.crowd_online, p.crowd_rating, p.crowd_cost_per_job,
                          (p.crowd_calendar_id IS NOT NULL
                           OR EXISTS (SELECT 1 FROM crowd_expert_blackout b WHERE b.partner_id = p.id))
                              AS has_schedule
                     FROM res_partner p
                    WHERE p.active AND p.is_crowd_expert AND p.crowd_state = 'active' AND p.crowd_online
                      AND p.crowd_kind IN %s
                      AND (p.crowd_company_id = %s OR p.crowd_company_id IS NULL)
                      AND p.partner_latitude BETWEEN %s AND %s
                      AND p.partner_longitude BETWEEN %s AND %s
                      AND (%s <= 0 OR COALESCE(p.crowd_cost_per_job, 0) <= %s)""",
                tuple(kinds),
                request.company_id.id,
                lat_min,
                lat_max,
                lon_min,
                lon_max,
                ceiling,
                ceiling,
            )
        )
        return self.env.cr.dictfetchall()

    @api.model
    def _candidate_ids(self, request, rule, now):
        """Ids of the prefiltered experts (see :meth:`_candidate_rows`)."""
        return [row["id"] for row in self._candidate_rows(request, rule, now)]

    @api.model
    def _expert_stats(self, partner_ids, now):
        """Per expert: current load (open visits), acceptance rate and recent offers (fairness)."""
        if not partner_ids:
            return {}, {}, {}
        Request = self.env["maintenance.request"].sudo()
        Offer = self.env["crowd.dispatch.offer"].sudo()
        load = dict(
            Request._read_group(
                [("crowd_expert_id", "in", partner_ids), ("crowd_dispatch_state", "in", ACTIVE_VISIT_STATES)],
                ["crowd_expert_id"],
                ["__count"],
            )
        )
        answered = {}
        for expert, state, count in Offer._read_group(
            [("expert_id", "in", partner_ids), ("state", "in", ("accepted", "declined", "expired"))],
            ["expert_id", "state"],
            ["__count"],
        ):
            answered.setdefault(expert.id, {})[state] = count
        acceptance = {
            pid: counts.get("accepted", 0) / sum(counts.values()) for pid, counts in answered.items() if counts
        }
        recent = dict(
            Offer._read_group(
                [("expert_id", "in", partner_ids), ("sent_at", ">=", now - timedelta(days=FAIRNESS_WINDOW_DAYS))],
                ["expert_id"],
                ["__count"],
            )
        )
        return (
            {p.id: c for p, c in load.items()},
            acceptance,
            {p.id: c for p, c in recent.items()},
        )

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
    def _required_levels(self, request):
        """{skill code: minimum level rank} of a request (0 = the skill at any level)."""
        lines = request.crowd_required_skill_ids
        ranks = self._level_ranks(lines.min_level_id)
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
    def _experts(self, rows, now):
        """Engine Experts for prefiltered expert rows (see :meth:`_candidate_rows`); unavailable experts
        (working hours, unavailabilities) are left out."""
        if not rows:
            return []
        partner_ids = [row["id"] for row in rows]
        skills = self._expert_skills(partner_ids)
        certificates = self._expert_certificates(partner_ids, now.date())
        load, acceptance, recent = self._expert_stats(partner_ids, now)
        # working hours and unavailabilities: ask the expert model, only for experts that have any
        scheduled = self.env["res.partner"].sudo().browse([row["id"] for row in rows if row["has_schedule"]])
        available = scheduled._crowd_is_available_at(now) if scheduled else {}
        experts = []
        for row in rows:
            pid = row["id"]
            if not available.get(pid, True):
                continue
            try:
                experts.append(
                    Expert(
                        id=pid,
                        kind=row["crowd_kind"],
                        tier=row["crowd_tier"] or "technician",
                        lat=float(row["partner_latitude"] or 0.0),
                        lon=float(row["partner_longitude"] or 0.0),
                        radius_km=float(row["crowd_radius_km"] or 0.0),
                        skills=skills.get(pid, {}),
                        certificates=certificates.get(pid, {}),
                        online=bool(row["crowd_online"]),
                        capacity=int(row["crowd_max_jobs"] or 0),
                        load=load.get(pid, 0),
                        rating=min(max(float(row["crowd_rating"] or 0.0), 0.0), 5.0),
                        acceptance_rate=acceptance.get(pid, DEFAULT_ACCEPTANCE),
                        cost_per_job=max(float(row["crowd_cost_per_job"] or 0.0), 0.0),
                        recent_offers=recent.get(pid, 0),
                    )
                )
            except crowd_dispatch.InvalidInput as exc:
                # one bad expert record must not stop the dispatch of a request
                _logger.warning("Crowd expert %s skipped: %s", pid, exc)
        return experts

    @api.model
    def _history(self, request):
        return tuple(
            OfferRecord(
                expert_id=offer.expert_id.id,
                round=offer.round,
                state=offer.state,
                sent_at=offer.sent_at or request._crowd_now(),
                responded_at=offer.responded_at or None,
            )
            for offer in request._crowd_history_offers()
        )

    @api.model
    def _inputs(self, request, now):
        """(job, pool, policy, rule) for the request at ``now``."""
        rule = self._rule_for(request)
        job = self._job(request)
        policy = self._policy(rule)
        experts = self._experts(self._candidate_rows(request, rule, now), now)
        return job, ExpertPool.from_experts(experts), policy, rule

    # ------------------------------------------------------------------ engine calls
    @api.model
    def _rank(self, request, now, k=10, exclude=()):
        """Ranked candidates for a manual choice: list of dicts with the engine's explanation."""
        job, pool, policy, _rule = self._inputs(request, now)
        try:
            result = rank(job, pool, policy, now, k=k, exclude=tuple(exclude))
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("Request %(name)s: %(error)s", name=request.name, error=exc)) from exc
        return [self._candidate_vals(candidate) for candidate in result.candidates]

    @api.model
    def _candidate_vals(self, candidate):
        breakdown = getattr(candidate, "breakdown", None) or {}
        if not isinstance(breakdown, dict):
            breakdown = dict(breakdown)
        return {
            "expert_id": int(candidate.expert_id),
            "score": float(candidate.score),
            "score_breakdown": {str(k): float(v) for k, v in breakdown.items()},
            "explanation": self._explanation(explain(candidate)),
            "distance_km": float(getattr(candidate, "distance_km", 0.0) or 0.0),
            "eta_min": float(getattr(candidate, "eta_min", 0.0) or 0.0),
            "tier": _value(candidate, "tier"),
            "expert_pool": _value(candidate, "pool"),
        }

    @api.model
    def _specialist_skills(self, request, diagnosis):
        """{skill code: minimum level} of a specialist follow-up of ``request``: the engine merges the
        diagnosis levels into the request's skills, keeping the higher level."""
        skills = self._required_levels(request)
        now = request._crowd_now()
        job = Job(id=request.id, lat=0.0, lon=0.0, created_at=now, sla_deadline=now, skills=skills)
        try:
            return dict(escalate_to_specialist(job, diagnosis, now=now).skills)
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("Escalation of %(name)s: %(error)s", name=request.name, error=exc)) from exc

    @api.model
    def _explanation(self, reasons):
        """The engine explains a candidate as a list of plain-language reasons."""
        if isinstance(reasons, str):
            return reasons
        return "; ".join(str(reason) for reason in reasons)

    @api.model
    def _dispatch(self, request, now):
        """Ask the engine what to do next for ``request`` and write the decision back.

        Returns the engine's action: ``offer``, ``wait``, ``escalate`` or ``assigned``.
        """
        request.ensure_one()
        job, pool, policy, _rule = self._inputs(request, now)
        try:
            decision = next_offers(job, pool, policy, self._history(request), now)
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("Request %(name)s: %(error)s", name=request.name, error=exc)) from exc
        action = _value(decision, "action")
        if action == "offer" and decision.offers:
            self._write_offers(request, decision, policy, now)
        elif action == "escalate":
            request._crowd_escalate(decision.reason or self.env._("No expert accepted in time."), now=now)
        elif action == "wait":
            wait_until = getattr(decision, "wait_until", None)
            if wait_until:
                request._crowd_schedule_check(wait_until)
        return action

    @api.model
    def _write_offers(self, request, decision, policy, now):
        history_round = max(request._crowd_history_offers().mapped("round") or [0])
        default_expiry = now + timedelta(minutes=policy.offer_timeout_min)
        vals_list = []
        Partner = self.env["res.partner"].sudo()
        for index, item in enumerate(decision.offers, start=1):
            candidate = getattr(item, "candidate", item)
            vals = self._candidate_vals(candidate)
            expert = Partner.browse(vals["expert_id"])
            vals.update(
                request_id=request.id,
                cycle=request.crowd_dispatch_cycle,
                round=int(getattr(item, "round", 0) or getattr(decision, "round", 0) or history_round + 1),
                rank=int(getattr(item, "rank", 0) or index),
                state="pending",
                sent_at=getattr(item, "sent_at", None) or now,
                expires_at=getattr(item, "expires_at", None) or default_expiry,
                expected_pay=request._crowd_expected_pay(expert),
            )
            vals_list.append(vals)
        # sudo: offers are written by the dispatch system on behalf of whoever triggered it
        offers = self.env["crowd.dispatch.offer"].sudo().create(vals_list)
        request._crowd_mark_offered(now)
        request._crowd_schedule_check(min(offers.mapped("expires_at")))
        offers._crowd_notify()
        return offers
