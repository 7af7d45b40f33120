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
from odoo.tools.misc import formatLang

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
    def _job(self, job):
        if not job.latitude and not job.longitude:
            raise UserError(self.env._("Job %s has no site position: set the site's coordinates first.", job.name))
        created = job.requested_at or job.create_date or job._crowd_now()
        deadline = job.sla_deadline or created + timedelta(minutes=job._crowd_sla_minutes())
        try:
            return Job(
                id=job.id,
                lat=job.latitude,
                lon=job.longitude,
                created_at=created,
                sla_deadline=max(deadline, created),
                skills=self._required_levels(job),
                certificates=tuple(job.certificate_type_ids.mapped("code")),
                min_tier=job.min_tier or None,
                priority=int(job.priority or 0),
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
        self.env["res.partner"].flush_model(PARTNER_COLUMNS + PARTNER_FILTER_COLUMNS)
        self.env["crowd.expert.blackout"].flush_model(["partner_id"])
        lat_min, lat_max, lon_min, lon_max = self._bounding_box(job.latitude, job.longitude, rule.max_radius_km)
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
                job.company_id.id,
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
    def _expert_stats(self, partner_ids, now):
        """Per expert: current load (open visits), acceptance rate and recent offers (fairness)."""
        if not partner_ids:
            return {}, {}, {}
        Job = self.env["crowd.job"].sudo()
        Offer = self.env["crowd.dispatch.offer"].sudo()
        load = dict(
            Job._read_group(
                [("expert_id", "in", partner_ids), ("state", "in", ACTIVE_VISIT_STATES)], ["expert_id"], ["__count"]
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
    def _required_levels(self, job):
        """{skill code: minimum level rank} of a job (0 = the skill at any level)."""
        lines = job.required_skill_ids
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
        rule = self._rule_for(job)
        engine_job = self._job(job)
        policy = self._policy(rule)
        experts = self._experts(self._candidate_rows(job, rule, now), now)
        return engine_job, ExpertPool.from_experts(experts), policy, rule

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

    # ------------------------------------------------------------------ the engine's reasons, in words
    @api.model
    def _reason_text(self, code, params):
        """One engine reason ``(code, params)`` in the user's language."""
        params = dict(params or {})
        env = self.env

        def num(key, digits=0):
            return formatLang(env, float(params.get(key) or 0.0), digits=digits)

        offer_fields = env["crowd.dispatch.offer"]._fields
        tiers = dict(offer_fields["tier"]._description_selection(env))
        pools = dict(offer_fields["expert_pool"]._description_selection(env))
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
                "%(tier)s, %(pool)s", tier=tiers.get(params.get("tier"), ""), pool=pools.get(params.get("pool"), "")
            ),
            "accepted": lambda: env._("accepted by an expert"),
            "offers_pending": lambda: env._("%s offer(s) waiting for an answer", int(params.get("count", 0))),
            "rounds_exhausted": lambda: env._("nobody accepted in %s offer rounds", int(params.get("rounds", 0))),
            "offer_round": lambda: env._("offer round %s sent", int(params.get("round", 0))),
            "pool_opens_later": lambda: env._("no candidate yet; the next pool opens later"),
            "no_candidate": lambda: env._(
                "no candidate in any open pool (%s)", self._rejections_text(params.get("rejections") or {})
            ),
        }
        text = texts.get(code)
        return text() if text else str(code)

    @api.model
    def _rejections_text(self, rejections):
        labels = {
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
        parts = [f"{labels.get(reason, reason)}: {count}" for reason, count in rejections.items() if count]
        return ", ".join(parts) if parts else self.env._("nobody rejected")

    @api.model
    def _reasons_text(self, reason_codes):
        """A list of engine reasons as one line of text in the user's language."""
        return "; ".join(self._reason_text(code, params) for code, params in (reason_codes or []))

    @api.model
    def _dispatch(self, job, now):
        """Ask the engine what to do next for ``job`` and write the decision back.

        Returns the engine's action: ``offer``, ``wait``, ``escalate`` or ``assigned``.
        """
        job.ensure_one()
        engine_job, pool, policy, _rule = self._inputs(job, now)
        try:
            decision = next_offers(engine_job, pool, policy, self._history(job), now)
        except crowd_dispatch.InvalidInput as exc:
            raise UserError(self.env._("Job %(name)s: %(error)s", name=job.name, error=exc)) from exc
        if decision.action == "offer" and decision.offers:
            self._write_offers(job, decision, policy, now)
        elif decision.action == "escalate":
            job._crowd_escalate(self._reason_text(decision.code, decision.params), now=now)
        elif decision.action == "wait" and decision.wait_until:
            job._crowd_schedule_check(decision.wait_until)
        return decision.action

    @api.model
    def _write_offers(self, job, decision, policy, now):
        vals_list = []
        Partner = self.env["res.partner"].sudo()
        for rank_index, offer in enumerate(decision.offers, start=1):
            vals = self._candidate_vals(offer.candidate)
            vals.update(
                job_id=job.id,
                round=offer.round,
                rank=rank_index,
                state="pending",
                sent_at=offer.sent_at,
                expires_at=offer.expires_at,
                expected_pay=job._crowd_expected_pay(Partner.browse(vals["expert_id"])),
            )
            vals_list.append(vals)
        # sudo: offers are written by the dispatch system on behalf of whoever triggered it
        offers = self.env["crowd.dispatch.offer"].sudo().create(vals_list)
        job._crowd_mark_offered(now)
        job._crowd_schedule_check(min(offers.mapped("expires_at")))
        offers._crowd_notify()
        return offers
