"""Discrete-event simulation of a service region, to compare dispatch policies on the same demand.

    python -m crowd_dispatch.simulate SCENARIO.json --policy ours|nearest [--seed N] [--without LEVER ...]

prints one JSON object of KPIs. The scenario format and its defaults are in
:mod:`crowd_dispatch.scenario`.

Both policies see the same world for a seed: the experts (skills, home, shift, travel-time
factor, acceptance, first-time-fix rates, past history), the jobs (Poisson arrivals with a
skill, priority and equipment mix, planned and actual durations) and each expert's answer to
an offer for a given job (accept or decline, and after how long) are drawn from the seed alone
(common random numbers), never from the policy.

- ``nearest`` (baseline): the nearest free qualified expert on shift gets an offer; one offer
  at a time per job, first come first served; after a decline or a 10-minute timeout, the next
  nearest.
- ``ours``: :func:`crowd_dispatch.policy.decide` with :data:`OURS_SETTINGS` and the engine
  policy :func:`ours_policy`, exactly as the Odoo dispatch calls it; the simulator only keeps
  the world and the clock. Waiting jobs are considered urgent first, then oldest first.

World and mechanics (each switch under ``mechanics`` in the scenario; all on by default):

- ``withdraw_on_accept``: when an expert accepts, their other open offers are withdrawn and
  those jobs are dispatched at once (off: the other offers run to their answer, and an
  acceptance by an expert who is no longer free counts as a decline).
- ``event_driven``: waiting jobs are dispatched the moment an expert frees up or starts a
  shift (off: retried every ``RETRY_MIN`` minutes).
- ``shifts``: every expert online today works one window of ``shift_hours``; a
  ``late_start_share`` starts between ``late_start_hours`` (off: everyone online from the
  start until ``DRAIN_HOURS`` after the last arrival).
- ``in_progress_start``: ``busy_at_start_share`` of the early shift starts the day on a job
  that ends ``in_progress_minutes`` later (its planned end differs by up to 30 %).
- ``duration_noise``: the actual time on site is the planned one times U(1 - n, 1 + n), and
  travel takes the expert's own factor (lognormal, sd ``speed_spread``) times the planned time.
  Off: both exact.
- ``reask``: an expert who declined may be asked again after ``reask_after_min``.
- ``pay_acceptance``: the acceptance probability also depends on pay (below).
- ``first_time_fix``: with ``equipment_models`` > 0, a visit fixes the equipment with the
  expert's own rate for that model; otherwise a normal-priority follow-up visit is created
  when the first one ends (within the arrival window; later ones are the next day's work).

Acceptance of an offer for a job at ``km`` (great-circle) from the expert:
``p = min(0.98, base * exp(-km / ACCEPT_DECAY_KM) * (pay * (1 + shortage) / ref_pay) ** pay_elasticity)``,
where ``base`` is drawn per expert around ``accept_probability``, ``pay = planned hours *
pay_per_hour`` (times ``urgent_pay_factor`` when urgent), ``ref_pay`` is the pay of a normal
job of mean duration and ``shortage`` is the shortage pay of the offer's round
(:func:`crowd_dispatch.policy.shortage_pay`: 0 unless ``shortage_pay_after_rounds`` is set; ``ours`` only).
The engine never sees ``base``: it sees an acceptance learned from the
expert's past offers (``history_offers``), shrunk toward the prior (see
:mod:`crowd_dispatch.policy`), or the prior alone.

KPIs (over the jobs created during ``duration_hours`` plus their follow-ups; the simulation
runs until no event is left: every job served or nobody left on shift to serve it):

- ``jobs``, ``urgent_jobs``, ``follow_ups``: jobs created, urgent ones among them, follow-up visits.
- ``urgent_on_site_60_share``: urgent jobs with an expert at the door within 60 minutes.
- ``within_sla_share``: jobs (follow-ups excluded) with the expert at the door before the SLA deadline.
- ``time_to_door_p50_min``, ``time_to_door_p90_min`` and per priority ``urgent_p50_min``,
  ``urgent_p90_min``, ``normal_p50_min``, ``normal_p90_min``: creation to the door; an unserved
  job counts with the time from its creation to the end of the simulation (never dropped).
- ``offers_per_job``: offers sent / jobs. ``decline_rate``: offers declined or timed out / offers
  answered or timed out (withdrawn offers excluded).
- ``utilisation``: busy minutes (travel + service) / shift minutes of the experts online today.
- ``cost``: sum of the served experts' cost per job. ``pay``: sum of the served jobs' pay
  (``pay_per_hour`` units, shortage pay included); ``shortage_pay``: the part of it that shortage
  pay added; ``shortage_paid_jobs``: served jobs whose accepted offer carried shortage pay.
  ``gini_freelance_jobs``: Gini coefficient of
  the number of jobs per online freelancer (0 = even). ``unserved``: jobs never served (reported,
  never dropped silently).
- ``diversions`` (``ours``, the policy's ``divert``): experts taken off the visit they drove to by
  an urgent job. Their position on the way is interpolated in a straight line between where they
  set off and the site; a diversion offer still unanswered when they reach the site is withdrawn
  and the urgent job decided again; the visit left behind goes out again at once.
- Supply levers (``supply=`` :class:`crowd_dispatch.supply.SupplySettings`, ``ours`` only, off by
  default; considered every ``SUPPLY_TICK_MIN`` of the arrival window): ``standby_calls`` (experts
  asked to come online: offline today, or on a later shift), ``standby_arrivals`` (those who came:
  each with probability ``experts.standby_accept``, after U(``standby_delay_min``) minutes; offline
  ones work ``standby_shift_hours``, later shifts start early and end as planned),
  ``standby_extra_hours`` (shift hours added), ``standby_premium`` (arrivals x
  ``standby_premium_hours`` x ``pay_per_hour``); ``relocations`` and ``relocation_km`` (road km of
  idle own technicians driving toward the gaps of the last ``RELOCATE_DEMAND_MIN`` minutes'
  demand; the expert counts at the old place until arrival, and a job taken on the way cancels
  the move).
"""

import argparse
import heapq
import json
import math
import sys
import zlib
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta

import numpy as np

from .errors import InvalidInput
from .geo import haversine_km
from .model import DEFAULT_WEIGHTS, Expert, Job, OfferRecord, OfferState, Policy, PoolStep, Strategy, TierPolicy
from .policy import (
    DispatchSettings,
    ExpertHistory,
    decide,
    free_share,
    learned_expert,
    offers_to_withdraw,
    shortage_pay,
)
from .pool import ExpertPool, to_epoch
from .scenario import load, validate
from .supply import STANDBY_CALL_OPEN_MIN, SupplySettings, relocations, standby_calls

T0 = datetime(2026, 1, 5, 8, 0)
T0_EPOCH = to_epoch(T0)  # as the engine reads it (naive = UTC), whatever the machine's time zone
ROAD_FACTOR = 1.3
ACCEPT_DECAY_KM = 30.0
NEAREST_TIMEOUT_MIN = 10.0
OURS_TOP_N = 1
OURS_TIMEOUT_MIN = 10.0
RETRY_MIN = 5.0
DRAIN_HOURS = 6.0
COST_BY_KIND = {"employee": 60.0, "partner": 90.0, "freelance": 80.0}
OVERDUE_STEP_MIN = 5.0  # an expert past their planned end looks busy this much longer to the engine
URGENT, NORMAL = 3, 1
SUPPLY_TICK_MIN = 10.0  # the supply levers are considered every this many minutes of the arrival window
RELOCATE_DEMAND_MIN = 120.0  # expected demand = the places of the jobs of the last this many minutes
# The settings the simulator's ``ours`` runs with: the engine defaults (no private copy).
OURS_SETTINGS = DispatchSettings()
# What ``--without`` switches off: every on/off setting, plus re-asking and the asset re-scoring.
SWITCHES = tuple(f.name for f in fields(DispatchSettings) if f.metadata["type"] == "bool")
LEVERS = (*SWITCHES, "reask", "asset")


def ours_policy(scenario, top_n=OURS_TOP_N, staged_pools=False):
    """The engine policy of ``ours`` in a region: every pool open at once (or staged 0/10/20 minutes)."""
    delays = (0, 10, 20) if staged_pools else (0, 0, 0)
    return Policy(
        pools=tuple(PoolStep(p, d) for p, d in zip(("own", "partner", "crowd"), delays)),
        max_radius_km=4 * scenario["region"]["radius_km"],
        tier_policy=TierPolicy.ANY,
        strategy=Strategy.BROADCAST if top_n > 1 else Strategy.SEQUENTIAL,
        top_n=top_n,
        offer_timeout_min=OURS_TIMEOUT_MIN,
        max_rounds=1000,
        speed_kmh=scenario["experts"]["speed_kmh"],
        road_factor=ROAD_FACTOR,
        check_certificates=False,
        weights=DEFAULT_WEIGHTS,  # the policy's defaults, the same as a new Odoo dispatch rule's
    )


@dataclass
class SimExpert:
    expert: Expert
    lat: float
    lon: float
    base_accept: float
    speed_factor: float = 1.0
    shift: tuple = (0.0, math.inf)
    online: bool = True
    free_at: float = 0.0  # actual end of the current job
    planned_end: float = -math.inf  # what the engine is told
    jobs: int = 0
    busy_min: float = 0.0
    fix_rate: dict = field(default_factory=dict)
    history: ExpertHistory = field(default_factory=ExpertHistory)
    open_offers: set = field(default_factory=set)  # job ids with an open offer to this expert
    current_job: int | None = None
    trip: tuple | None = None  # (from lat, from lon, departed, arrives, job id) while driving to a visit


@dataclass
class SimJob:
    id: int
    created: float
    lat: float
    lon: float
    urgent: bool
    skills: dict
    service_min: float
    sla_min: float
    actual_service_min: float = 0.0
    pay: float = 0.0  # pay of the job / the reference pay (a normal job of mean duration)
    pay_amount: float = 0.0  # pay of the job in currency, before shortage pay
    model: str | None = None
    follow_up_of: int | None = None
    offered: dict = field(default_factory=dict)  # expert id -> offers made (attempts)
    answered_at: dict = field(default_factory=dict)  # expert id -> last decline / expiry time
    pending: dict = field(default_factory=dict)  # expert id -> offer number
    offer_extra: dict = field(default_factory=dict)  # expert id -> shortage pay share of their open offer
    paid_extra: float = 0.0  # shortage pay share of the accepted offer
    records: list = field(default_factory=list)  # OfferRecord history (ours)
    served_at: float | None = None
    expert_id: int | None = None
    waiting_for: int | None = None
    wake_at: float | None = None
    recheck_share: float | None = None  # deferred by the policy until the free share reaches this
    diverting: dict = field(default_factory=dict)  # expert id -> the job whose trip this job's offer would divert
    diverted: int = 0  # times an expert on the way here was diverted to an urgent job


def build_world(scenario):
    """Experts and jobs for the scenario's seed (independent of the policy)."""
    seed = scenario["seed"]
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 1])  # expert draws added with the mechanics
    region, ex, dm, mech = scenario["region"], scenario["experts"], scenario["demand"], scenario["mechanics"]
    skills = scenario["skills"]
    models = [f"model-{i + 1}" for i in range(dm["equipment_models"])]
    kinds, kind_p = zip(*ex["mix"].items())
    tiers, tier_p = zip(*ex["tiers"].items())
    experts = []
    for i in range(ex["count"]):
        lat, lon = _point(rng, region)
        n_skills = int(rng.integers(ex["skills_per_expert"][0], ex["skills_per_expert"][1] + 1))
        own = {str(s): int(rng.integers(1, 4)) for s in rng.choice(skills, n_skills, replace=False)}
        online = bool(rng.random() < ex["online_share"])
        base = float(np.clip(rng.normal(ex["accept_probability"], 0.1), 0.05, 0.98))
        kind = str(rng.choice(kinds, p=tier_norm(kind_p)))
        tier = str(rng.choice(tiers, p=tier_norm(tier_p)))
        rating = float(np.clip(rng.normal(4.3, 0.4), 1, 5))
        late, start = extra.random() < ex["late_start_share"], float(extra.uniform(*ex["late_start_hours"]) * 60.0)
        busy, busy_left = extra.random() < ex["busy_at_start_share"], float(extra.uniform(*ex["in_progress_minutes"]))
        start, busy_left = (start if late else 0.0), (busy_left if busy else 0.0)
        planned_ratio = float(extra.uniform(0.7, 1.3))
        speed_factor = float(np.exp(extra.normal(0.0, ex["speed_spread"])))
        fix_rate = {
            m: float(np.clip(extra.normal(ex["first_time_fix"], ex["first_time_fix_spread"]), 0.3, 1.0)) for m in models
        }
        history = _past(extra, ex, base, speed_factor, fix_rate)
        shift = (start, start + ex["shift_hours"] * 60.0) if mech["shifts"] else (0.0, math.inf)
        windows = ((T0 + timedelta(minutes=shift[0]), T0 + timedelta(minutes=shift[1])),) if mech["shifts"] else ()
        expert = Expert(
            id=i, kind=kind, tier=tier, lat=lat, lon=lon, radius_km=4 * region["radius_km"], skills=own,
            online=online, capacity=1, load=0, rating=rating, acceptance_rate=ex["accept_probability"],
            cost_per_job=COST_BY_KIND[kind], windows=windows,
        )  # fmt: skip
        sim = SimExpert(expert, lat, lon, base, speed_factor if mech["duration_noise"] else 1.0, shift, online)
        sim.fix_rate, sim.history = fix_rate, history
        if mech["in_progress_start"] and online and start == 0.0 and busy_left > 0:
            sim.free_at = busy_left
            sim.planned_end = busy_left * (planned_ratio if mech["duration_noise"] else 1.0)
        experts.append(sim)
    # Demand from its own streams: the same jobs whatever the supply (the first N experts are too).
    rng, extra = np.random.default_rng([seed, 2]), np.random.default_rng([seed, 3])
    jobs, t, horizon = [], 0.0, scenario["duration_hours"] * 60.0
    rate = dm["jobs_per_hour"] / 60.0
    ref_pay = (sum(dm["service_minutes"]) / 2.0) / 60.0 * dm["pay_per_hour"]
    while rate > 0:
        t += float(rng.exponential(1.0 / rate))
        if t >= horizon:
            break
        lat, lon = _point(rng, region)
        urgent = bool(rng.random() < dm["urgent_share"])
        n_skills = int(rng.integers(dm["skills_per_job"][0], dm["skills_per_job"][1] + 1))
        need = {str(s): 1 for s in rng.choice(skills, n_skills, replace=False)}
        service = float(rng.uniform(*dm["service_minutes"]))
        noise = float(extra.uniform(-1.0, 1.0)) * dm["duration_noise"] if mech["duration_noise"] else 0.0
        model = str(models[int(extra.integers(len(models)))]) if models else None
        pay = service / 60.0 * dm["pay_per_hour"] * (dm["urgent_pay_factor"] if urgent else 1.0)
        jobs.append(
            SimJob(
                id=len(jobs), created=t, lat=lat, lon=lon, urgent=urgent, skills=need, service_min=service,
                sla_min=float(dm["sla_minutes"]["urgent" if urgent else "normal"]),
                actual_service_min=service * (1.0 + noise), pay=pay / ref_pay, pay_amount=pay, model=model,
            )
        )  # fmt: skip
    return experts, jobs


def _past(rng, ex, base, speed_factor, fix_rate):
    """The company's history of one expert before the day (newcomers have little)."""
    offers = int(rng.integers(ex["history_offers"][0], ex["history_offers"][1] + 1))
    typical_km = rng.uniform(2.0, 25.0, size=offers)
    accepted = int(np.sum(rng.random(offers) < base * np.exp(-typical_km / ACCEPT_DECAY_KM)))
    planned = rng.uniform(5.0, 40.0, size=accepted)
    actual = planned * speed_factor * rng.uniform(0.9, 1.1, size=accepted)
    visits = {}
    if fix_rate and accepted:
        names = sorted(fix_rate)
        per_model = rng.multinomial(accepted, [1 / len(names)] * len(names))
        for name, n in zip(names, per_model):
            visits[name] = (int(n), int(rng.binomial(n, fix_rate[name])))
    return ExpertHistory(
        offers=offers, accepted=accepted, trips=accepted, planned_travel_min=float(planned.sum()),
        actual_travel_min=float(actual.sum()), visits_by_model=visits,
    )  # fmt: skip


def tier_norm(shares):
    total = sum(shares)
    return [s / total for s in shares]


def _point(rng, region):
    """Uniform point in the disk of the region (small-area approximation)."""
    r = region["radius_km"] * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    lat0, lon0 = region["center"]
    lat = lat0 + (r * math.cos(a)) / 111.32
    lon = lon0 + (r * math.sin(a)) / (111.32 * math.cos(math.radians(lat0)))
    return lat, lon


def _uniform(*key):
    return float(np.random.default_rng(zlib.crc32(":".join(map(str, key)).encode())).random())


def answer(seed, job_id, expert_id, probability, delay_range, attempt=0):
    """The expert's answer to an offer for a job: (accepts, delay in minutes), from the seed alone.

    ``attempt`` counts earlier offers of the same job to the same expert (a re-ask draws anew).
    """
    key = f"{seed}:{job_id}:{expert_id}" + (f":{attempt}" if attempt else "")
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    u, d = rng.random(), rng.random()
    lo, hi = delay_range
    return bool(u < probability), lo + d * (hi - lo)


class Simulation:
    def __init__(self, scenario, policy, top_n=OURS_TOP_N, settings=None, staged_pools=False, world=None, supply=None):
        """``world`` = (SimExperts, SimJobs) replaces the scenario's drawn world (a company's own demand and
        supply, see :mod:`crowd_dispatch.coverage`); job ids must be their index in the list."""
        if not isinstance(top_n, int) or top_n < 1:
            raise InvalidInput("top_n", f"must be an integer >= 1, got {top_n!r}")
        if policy not in ("ours", "nearest"):
            raise InvalidInput("policy", f"must be 'ours' or 'nearest', got {policy!r}")
        self.settings = OURS_SETTINGS if settings is None else settings
        if not isinstance(self.settings, DispatchSettings):
            raise InvalidInput("settings", f"must be DispatchSettings, got {type(self.settings).__name__}")
        self.supply = SupplySettings() if supply is None else supply
        if not isinstance(self.supply, SupplySettings):
            raise InvalidInput("supply", f"must be SupplySettings, got {type(self.supply).__name__}")
        self.scenario, self.policy, self.top_n = scenario, policy, top_n
        self.mech = scenario["mechanics"]
        self.seed = scenario["seed"]
        self.experts, self.jobs = build_world(scenario) if world is None else world
        self.original_jobs = len(self.jobs)
        self.online = [e for e in self.experts if e.online]
        self.by_id = {e.expert.id: e for e in self.experts}
        ex = scenario["experts"]
        self.speed, self.delay_range = ex["speed_kmh"], ex["response_delay_min"]
        self.reask_min = ex["reask_after_min"] if self.mech["reask"] else None
        self.elasticity = ex["pay_elasticity"] if self.mech["pay_acceptance"] else 0.0
        self.events, self.counter, self.now = [], 0, 0.0
        self.offers = self.declined = self.answered = 0
        self.waiting = {}  # job id -> job, not yet assigned
        self.engine_jobs = {}
        self.reserved = {}  # expert id -> job id waiting for them (look-ahead)
        self.end = math.inf if self.mech["shifts"] else scenario["duration_hours"] * 60.0 + DRAIN_HOURS * 60.0
        self.engine_policy = ours_policy(scenario, top_n, staged_pools)
        self.learning = {e.expert.id: e.history for e in self.experts}
        self.calls, self.arrived, self.moving = {}, set(), {}  # standby calls, arrivals, relocations under way
        self.standby_extra_min = self.relocation_km = 0.0
        self.on_trip, self.diversions = set(), 0  # experts driving to a visit (ours), diversions made
        self.relocations = 0
        if policy == "ours":
            # with standby calls, the experts off today are in the pool too (offline until they answer a call)
            pooled = self.experts if self.supply.standby else self.online
            learned = [learned_expert(e.expert, e.history, self.settings) for e in pooled]
            self.pool = ExpertPool.from_experts(learned)
            for e in self.online:
                self._sync(e)

    # ---------------------------------------------------------------- events
    def push(self, t, kind, *data):
        self.counter += 1
        heapq.heappush(self.events, (t, self.counter, kind, data))

    def run(self):
        for job in self.jobs:
            self.push(job.created, "arrive", job.id)
        for e in self.online:
            if e.free_at > 0:
                e.current_job = -1
                self.push(e.free_at, "free", e.expert.id)
                self._schedule_overdue(e, 0.0)
            if e.shift[0] > 0:
                self.push(e.shift[0], "shift", e.expert.id)
        if self.policy == "ours" and (self.supply.standby or self.supply.relocate):
            t = 0.0
            while t < self.scenario["duration_hours"] * 60.0:
                self.push(t, "supply")
                t += SUPPLY_TICK_MIN
        while self.events:
            t, _, kind, data = heapq.heappop(self.events)
            if t > self.end:
                break
            self.now = t
            getattr(self, f"_on_{kind}")(t, *data)
        self.now = min(self.now, self.end)
        return self.kpis()

    def _on_arrive(self, t, job_id):
        self.waiting[job_id] = self.jobs[job_id]
        self._dispatch(self.jobs[job_id], t)

    def _on_wake(self, t, job_id):
        job = self.jobs[job_id]
        if job.expert_id is None and job.wake_at == t:
            job.wake_at = None
            self._dispatch(job, t)

    def _on_redispatch(self, t, job_id):
        job = self.jobs[job_id]
        if job.expert_id is None:
            self._dispatch(job, t)

    def _wake(self, job, at):
        """Call the policy again for ``job`` at ``at`` (one pending wake-up per job, the earliest)."""
        if job.wake_at is not None and self.now < job.wake_at <= at:
            return
        job.wake_at = at
        self.push(at, "wake", job.id)

    def _on_retry(self, t, job_id):
        job = self.jobs[job_id]
        if job.expert_id is None:
            self._dispatch(job, t)

    def _on_shift(self, t, expert_id):
        if self.mech["event_driven"]:
            self._dispatch_waiting(t)

    # -------------------------------------------------------------- supply levers (ours only)
    def _on_supply(self, t):
        now = T0 + timedelta(minutes=t)
        if self.supply.standby:
            self._standby(t, now)
        if self.supply.relocate:
            self._relocate(t, now)

    def _standby(self, t, now):
        """Ask experts not working now to come online (engine: standby_calls); each answers from the seed."""
        waiting = [self._engine_job(j) for j in self.waiting.values() if j.expert_id is None and not j.pending]
        candidates = [
            e.expert for e in self.experts if e.expert.id not in self.calls and (not e.online or e.shift[0] > t)
        ]
        open_calls = sum(
            1 for eid, at in self.calls.items() if eid not in self.arrived and t - at < STANDBY_CALL_OPEN_MIN
        )
        ids = standby_calls(
            free_share(self.pool, now), waiting, candidates, self.supply, open_calls=open_calls,
            calls_today=len(self.calls),
        )  # fmt: skip
        ex = self.scenario["experts"]
        lo, hi = ex["standby_delay_min"]
        for eid in ids:
            self.calls[eid] = t
            if _uniform(self.seed, "standby", eid) < ex["standby_accept"]:
                self.push(t + lo + _uniform(self.seed, "standby_delay", eid) * (hi - lo), "standby_arrive", eid)

    def _on_standby_arrive(self, t, expert_id):
        e = self.by_id[expert_id]
        if e.online and e.shift[0] <= t:
            return  # their shift began meanwhile
        if e.online:  # a later shift starts early
            self.standby_extra_min += e.shift[0] - t
            e.shift = (t, e.shift[1])
        else:  # a day off: a short shift from now
            e.online = True
            e.shift = (t, t + self.scenario["experts"]["standby_shift_hours"] * 60.0)
            self.online.append(e)
            self.standby_extra_min += e.shift[1] - t
        self.arrived.add(expert_id)
        row = self.pool.row_of[expert_id]
        self.pool.online[row] = True
        own = self.pool.window_owner == row
        if self.mech["shifts"] and own.any():
            self.pool.window_start[own] = to_epoch(T0 + timedelta(minutes=e.shift[0]))
            self.pool.window_end[own] = to_epoch(T0 + timedelta(minutes=e.shift[1]))
        self._sync(e)
        if self.mech["event_driven"]:
            self._dispatch_waiting(t)

    def _relocate(self, t, now):
        """Idle own technicians drive toward the gaps of recent demand (engine: relocations)."""
        demand = [(j.lat, j.lon) for j in self.jobs if t - RELOCATE_DEMAND_MIN <= j.created <= t]
        movable = [
            e.expert.id
            for e in self.online
            if e.expert.kind.value == "employee" and e.current_job is None and e.free_at <= t
            and self._working(e, t) and not e.open_offers and e.expert.id not in self.moving
            and e.expert.id not in self.reserved
        ]  # fmt: skip
        for eid, lat, lon in relocations(self.pool, now, movable, demand, self.supply):
            e = self.by_id[eid]
            km = float(haversine_km(e.lat, e.lon, np.array([lat]), np.array([lon]))[0]) * ROAD_FACTOR
            self.counter += 1
            self.moving[eid] = self.counter
            self.relocations += 1
            self.relocation_km += km
            self.push(t + km / self.speed * 60.0 * e.speed_factor, "moved", eid, self.counter, lat, lon)

    def _on_moved(self, t, expert_id, token, lat, lon):
        e = self.by_id[expert_id]
        if self.moving.get(expert_id) != token:
            return  # took a job on the way
        del self.moving[expert_id]
        if e.current_job is None and e.free_at <= t:
            e.lat, e.lon = lat, lon
            self._sync(e)

    def _on_overdue(self, t, expert_id):
        e = self.by_id[expert_id]
        if e.free_at > t and -math.inf < e.planned_end <= t:
            e.planned_end = t + OVERDUE_STEP_MIN
            self._sync(e)
            self._schedule_overdue(e, t)

    def _on_free(self, t, expert_id):
        e = self.by_id[expert_id]
        if e.free_at != t:
            return  # the job was left on the way (diverted): its end is not this one
        done = e.current_job
        e.current_job = None
        e.planned_end = -math.inf
        self._sync(e)
        if done is not None and done >= 0:
            self._maybe_follow_up(self.jobs[done], e, t)
        if self.mech["event_driven"]:
            self._dispatch_waiting(t)

    def _schedule_overdue(self, e, t):
        if e.free_at > e.planned_end:
            self.push(max(e.planned_end, t), "overdue", e.expert.id)

    def _maybe_follow_up(self, job, e, t):
        if not self.mech["first_time_fix"] or job.model is None or t >= self.scenario["duration_hours"] * 60.0:
            return  # a follow-up after the arrival window is the next day's work
        if _uniform(self.seed, "fix", job.id, e.expert.id) < e.fix_rate[job.model]:
            return
        follow = replace(
            job, id=len(self.jobs), created=t, urgent=False, follow_up_of=job.id,
            sla_min=float(self.scenario["demand"]["sla_minutes"]["normal"]), offered={}, answered_at={},
            pending={}, offer_extra={}, paid_extra=0.0, records=[], served_at=None, expert_id=None, waiting_for=None,
            wake_at=None, recheck_share=None, diverting={}, diverted=0,
        )  # fmt: skip
        self.jobs.append(follow)
        self._on_arrive(t, follow.id)

    # -------------------------------------------------------------- dispatch
    def _order(self, job):
        return (0 if job.urgent else 1, job.created) if self.policy == "ours" else (job.created,)

    def _anyone_free(self, t):
        if self.policy == "ours":  # as the engine sees it: free, on shift, holding no open offer
            return free_share(self.pool, T0 + timedelta(minutes=t)) > 0
        return any(e.free_at <= t and self._working(e, t) for e in self.online)

    def _dispatch_waiting(self, t):
        """Offer the waiting jobs (in the policy's order) until nobody is free."""
        share = None
        for job in sorted(self.waiting.values(), key=self._order):
            if not self._anyone_free(t):
                return
            if job.recheck_share is not None:  # deferred: nothing changes until the share rises
                if share is None:
                    share = free_share(self.pool, T0 + timedelta(minutes=t))
                if share < job.recheck_share:
                    continue
            if job.expert_id is None:
                self._dispatch(job, t)
                share = None

    def _working(self, e, t):
        return e.online and e.shift[0] <= t < e.shift[1]

    def _dispatch(self, job, t):
        if job.expert_id is not None:
            return
        if self.policy == "nearest":
            if job.pending:
                return
            chosen = self._pick_nearest(job, t)
            if chosen is not None:
                self._offer(job, chosen, t, NEAREST_TIMEOUT_MIN)
            elif not self.mech["event_driven"]:
                self.push(t + RETRY_MIN, "retry", job.id)
            return
        self._dispatch_ours(job, t)

    def _blocked(self, job, expert_id, t):
        if expert_id in job.pending:
            return True
        if expert_id not in job.offered:
            return False
        if self.reask_min is None:
            return True
        return t < job.answered_at.get(expert_id, math.inf) + self.reask_min

    def _pick_nearest(self, job, t):
        candidates = [
            e
            for e in self.online
            if e.free_at <= t
            and self._working(e, t)
            and not self._blocked(job, e.expert.id, t)
            and all(e.expert.skills.get(s, -1) >= lvl for s, lvl in job.skills.items())
        ]
        if not candidates:
            return None
        lats = np.array([e.lat for e in candidates])
        lons = np.array([e.lon for e in candidates])
        return candidates[int(np.argmin(haversine_km(job.lat, job.lon, lats, lons)))]

    def _engine_job(self, job):
        cached = self.engine_jobs.get(job.id)
        if cached is not None:
            return cached
        self.engine_jobs[job.id] = Job(
            id=job.id, lat=job.lat, lon=job.lon, created_at=T0 + timedelta(minutes=job.created),
            sla_deadline=T0 + timedelta(minutes=job.created + job.sla_min), skills=job.skills,
            priority=URGENT if job.urgent else NORMAL, duration_min=job.service_min, equipment_model=job.model,
        )  # fmt: skip
        return self.engine_jobs[job.id]

    def _dispatch_ours(self, job, t):
        if job.waiting_for is not None and self.reserved.get(job.waiting_for) == job.id:
            del self.reserved[job.waiting_for]
        job.waiting_for = None
        now = T0 + timedelta(minutes=t)
        if self.settings.divert and job.urgent:
            self._refresh_trips(t)
        decision = decide(
            self._engine_job(job), self.pool, self.engine_policy, self.settings, job.records, now,
            reserved=set(self.reserved), learning=self.learning,
        )  # fmt: skip
        job.recheck_share = decision.params.get("recheck_free_share") if decision.action == "defer" else None
        for offer in decision.offers:
            self._offer(job, self.by_id[offer.expert_id], t, OURS_TIMEOUT_MIN, offer.round)
        if decision.code == "divert":
            eid = decision.params["expert_id"]
            job.diverting[eid] = self.by_id[eid].trip[4]
            # on site before answering: the offer is withdrawn then and the job decided again (as Odoo does)
            self.push(self.by_id[eid].trip[3], "reached", job.id, eid, job.pending[eid])
        if decision.waiting_for is not None:
            job.waiting_for = decision.waiting_for
            self.reserved[decision.waiting_for] = job.id
        if decision.offers and self.settings.stagger:
            self._wake(job, t + self.settings.stagger_after_min)
        elif decision.wait_until is not None and decision.action != "offer":
            self._wake(job, max((decision.wait_until - T0).total_seconds() / 60.0, t + 0.5))
        elif not decision.offers and not self.mech["event_driven"]:
            self.push(t + RETRY_MIN, "retry", job.id)

    def _offer(self, job, expert, t, timeout, round_number=1):
        self.offers += 1
        eid = expert.expert.id
        attempt = job.offered.get(eid, 0)
        job.offered[eid] = attempt + 1
        job.pending[eid] = self.offers
        expert.open_offers.add(job.id)
        extra = 0.0
        if self.policy == "ours":
            extra = shortage_pay(job.records, self.settings)[0]  # the rounds before this one
            job.records.append(OfferRecord(eid, max(round_number, 1), OfferState.PENDING, T0 + timedelta(minutes=t)))
            self._sync(expert)
        job.offer_extra[eid] = extra
        km = self._km(job, expert, t)
        p = expert.base_accept * math.exp(-km / ACCEPT_DECAY_KM) * (job.pay * (1.0 + extra)) ** self.elasticity
        accepts, delay = answer(self.seed, job.id, eid, min(p, 0.98), self.delay_range, attempt)
        if delay <= timeout:
            self.push(t + delay, "answer", job.id, eid, self.offers, accepts)
        else:
            self.push(t + timeout, "answer", job.id, eid, self.offers, None)

    def _close(self, job, eid, t, state):
        """Close the open offer of ``eid`` for ``job`` with ``state``."""
        job.pending.pop(eid, None)
        expert = self.by_id[eid]
        expert.open_offers.discard(job.id)
        if self.policy == "ours":
            for i in range(len(job.records) - 1, -1, -1):
                r = job.records[i]
                if r.expert_id == eid and r.state is OfferState.PENDING:
                    job.records[i] = replace(r, state=state, responded_at=T0 + timedelta(minutes=t))
                    break
            self._sync(expert)

    def _on_reached(self, t, job_id, expert_id, offer_no):
        """The expert a diversion offer went to reached the visit they drove to before answering."""
        job = self.jobs[job_id]
        if job.pending.get(expert_id) != offer_no or job.expert_id is not None:
            return  # answered or withdrawn before
        self._close(job, expert_id, t, OfferState.WITHDRAWN)
        self._dispatch(job, t)

    def _on_answer(self, t, job_id, expert_id, offer_no, accepts):
        job, expert = self.jobs[job_id], self.by_id[expert_id]
        if job.pending.get(expert_id) != offer_no:
            return  # withdrawn
        self.answered += 1
        trip = expert.trip
        diverted = trip is not None and t < trip[3] and job.diverting.get(expert_id) == trip[4]
        if accepts and job.expert_id is None and (expert.free_at <= t or diverted):
            if diverted:
                self._divert(expert, t)
            self._close(job, expert_id, t, OfferState.ACCEPTED)
            self._assign(job, expert, t)
            return
        self.declined += 1
        self._close(job, expert_id, t, OfferState.EXPIRED if accepts is None else OfferState.DECLINED)
        job.answered_at[expert_id] = t
        if job.expert_id is not None:
            return
        if self.reask_min is not None:
            self.push(t + self.reask_min, "redispatch", job.id)
        if not job.pending or self.policy == "ours":
            self._dispatch(job, t)
        if self.policy == "ours" and self.settings.one_open_offer_per_expert and self.mech["event_driven"]:
            self._dispatch_waiting(t)  # the expert is free for other jobs again

    def _assign(self, job, expert, t):
        eid = expert.expert.id
        km = self._km(job, expert)
        planned_travel = km * ROAD_FACTOR / self.speed * 60.0
        travel = planned_travel * expert.speed_factor
        job.expert_id, job.served_at = eid, t + travel
        job.paid_extra = job.offer_extra.get(eid, 0.0)
        self.waiting.pop(job.id, None)
        if job.waiting_for is not None and self.reserved.get(job.waiting_for) == job.id:
            del self.reserved[job.waiting_for]
        if self.reserved.get(eid) is not None:
            other = self.reserved.pop(eid)
            self.push(t, "redispatch", other)
        expert.free_at = t + travel + job.actual_service_min
        expert.planned_end = t + planned_travel + job.service_min
        expert.busy_min += travel + job.actual_service_min
        expert.jobs += 1
        expert.current_job = job.id
        expert.trip = (expert.lat, expert.lon, t, t + travel, job.id)
        if self.policy == "ours":
            self.on_trip.add(eid)
        expert.lat, expert.lon = job.lat, job.lon
        self.moving.pop(eid, None)
        self.push(expert.free_at, "free", eid)
        self._schedule_overdue(expert, t)
        for other_eid in list(job.pending):  # the job's other offers are withdrawn
            self._close(job, other_eid, t, OfferState.WITHDRAWN)
        if self.mech["withdraw_on_accept"] and (self.policy == "nearest" or self.settings.withdraw_on_accept):
            for other_id, _ in offers_to_withdraw(eid, [(job_id, eid) for job_id in sorted(expert.open_offers)]):
                self._close(self.jobs[other_id], eid, t, OfferState.WITHDRAWN)
                self.push(t, "redispatch", other_id)
        self._sync(expert)

    def _sync(self, e):
        """Tell the engine's pool where the expert is and until when they are busy (ours only)."""
        if self.policy != "ours":
            return
        pool, row = self.pool, self.pool.row_of[e.expert.id]
        pool.lat[row], pool.lon[row] = e.lat, e.lon
        pool.lat_rad[row], pool.lon_rad[row] = math.radians(e.lat), math.radians(e.lon)
        pool.cos_lat[row] = math.cos(pool.lat_rad[row])
        busy = e.free_at > self.now
        pool.busy_until[row] = (T0_EPOCH + 60.0 * e.planned_end) if busy else -math.inf
        held = 1.0 if e.open_offers and self.settings.one_open_offer_per_expert else 0.0
        pool.load[row] = held
        pool.free[row] = pool.capacity[row] - held

    def _km(self, job, expert, t=None):
        lat, lon = self._position(expert, t) if t is not None else (expert.lat, expert.lon)
        return float(haversine_km(job.lat, job.lon, np.array([lat]), np.array([lon]))[0])

    def _position(self, e, t):
        """Where ``e`` is at ``t``: on the way to a visit, between its start and the site (straight line)."""
        if e.trip is None or t >= e.trip[3]:
            return e.lat, e.lon
        lat0, lon0, t0, t1, _ = e.trip
        f = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
        return lat0 + (e.lat - lat0) * f, lon0 + (e.lon - lon0) * f

    def _refresh_trips(self, t):
        """Tell the engine's pool where the experts on the way to a visit are now (``divert``)."""
        pool = self.pool
        for eid in list(self.on_trip):
            e, row = self.by_id[eid], pool.row_of[eid]
            if e.trip is None or t >= e.trip[3]:
                self.on_trip.discard(eid)
                pool.trip_priority[row] = -1
                continue
            trip_job = self.jobs[e.trip[4]]
            pool.trip_lat[row], pool.trip_lon[row] = self._position(e, t)
            pool.trip_priority[row] = URGENT if trip_job.urgent else NORMAL
            pool.trip_deadline[row] = T0_EPOCH + 60.0 * (trip_job.created + trip_job.sla_min)

    def _divert(self, e, t):
        """``e`` leaves the visit they are driving to (it goes out again at once) and is free where they are."""
        old = self.jobs[e.trip[4]]
        e.lat, e.lon = self._position(e, t)
        e.busy_min -= e.free_at - t
        e.jobs -= 1
        e.free_at, e.planned_end, e.current_job, e.trip = t, -math.inf, None, None
        old.expert_id, old.served_at, old.paid_extra = None, None, 0.0
        old.diverted += 1
        old.records = [
            replace(r, state=OfferState.WITHDRAWN) if r.state is OfferState.ACCEPTED else r for r in old.records
        ]
        self.waiting[old.id] = old
        self.diversions += 1
        self.push(t, "redispatch", old.id)

    # ------------------------------------------------------------------ KPIs
    def kpis(self):
        jobs = self.jobs
        originals = jobs[: self.original_jobs]
        urgent = [j for j in originals if j.urgent]
        normal = [j for j in jobs if not j.urgent]
        end = self.now

        def door(js):
            return [(j.served_at if j.served_at is not None else max(end, j.created)) - j.created for j in js]

        def pct(js, q):
            values = door(js)
            return round(float(np.percentile(values, q)), 2) if values else None

        freelancers = [e.jobs for e in self.online if e.expert.kind.value == "freelance"]
        shift_min = sum(
            min(e.shift[1], end) - min(e.shift[0], end) if self.mech["shifts"] else end for e in self.online
        )
        return {
            "name": self.scenario["name"],
            "policy": self.policy,
            "seed": self.seed,
            "experts": len(self.experts),
            "jobs": len(originals),
            "urgent_jobs": len(urgent),
            "follow_ups": len(jobs) - len(originals),
            "urgent_on_site_60_share": _share(
                sum(1 for j in urgent if j.served_at is not None and j.served_at - j.created <= 60), len(urgent)
            ),
            "within_sla_share": _share(
                sum(1 for j in originals if j.served_at is not None and j.served_at - j.created <= j.sla_min),
                len(originals),
            ),
            "time_to_door_p50_min": pct(jobs, 50),
            "time_to_door_p90_min": pct(jobs, 90),
            "urgent_p50_min": pct(urgent, 50),
            "urgent_p90_min": pct(urgent, 90),
            "normal_p50_min": pct(normal, 50),
            "normal_p90_min": pct(normal, 90),
            "offers_per_job": round(self.offers / len(originals), 3) if originals else 0.0,
            "decline_rate": _share(self.declined, self.answered),
            "utilisation": _share(sum(e.busy_min for e in self.online), shift_min),
            "cost": round(sum(self.by_id[j.expert_id].expert.cost_per_job for j in jobs if j.expert_id is not None), 2),
            "pay": round(sum(j.pay_amount * (1.0 + j.paid_extra) for j in jobs if j.expert_id is not None), 2),
            "shortage_pay": round(sum(j.pay_amount * j.paid_extra for j in jobs if j.expert_id is not None), 2),
            "shortage_paid_jobs": sum(1 for j in jobs if j.expert_id is not None and j.paid_extra > 0),
            "gini_freelance_jobs": gini(freelancers),
            "unserved": sum(1 for j in jobs if j.served_at is None),
            "standby_calls": len(self.calls),
            "standby_arrivals": len(self.arrived),
            "standby_extra_hours": round(self.standby_extra_min / 60.0, 2),
            "standby_premium": round(
                len(self.arrived) * self.supply.standby_premium_hours * self.scenario["demand"]["pay_per_hour"], 2
            ),
            "relocations": self.relocations,
            "relocation_km": round(self.relocation_km, 1),
            "diversions": self.diversions,
        }


def _share(part, whole):
    return round(part / whole, 4) if whole else 0.0


def gini(values):
    """Gini coefficient of non-negative counts (0 = all equal)."""
    if not values or sum(values) == 0:
        return 0.0
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    return round(float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum())), 4)


def settings_without(*levers):
    """OURS_SETTINGS with the named :data:`LEVERS` off (``reask``: never re-ask; ``asset``: no asset weight)."""
    unknown = [lever for lever in levers if lever not in LEVERS]
    if unknown:
        raise InvalidInput("without", f"unknown lever {unknown[0]!r}; one of {', '.join(LEVERS)}")
    settings = OURS_SETTINGS.without(*(lever for lever in levers if lever in SWITCHES))
    if "reask" in levers:
        settings = replace(settings, reask_after_min=0.0)
    if "asset" in levers:
        settings = replace(settings, asset_weight=0.0)
    return settings


def simulate(scenario, policy, seed=None, top_n=OURS_TOP_N, settings=None, staged_pools=False, supply=None):
    """Run one simulation; ``scenario`` is a dict (validated here) and ``seed`` overrides its seed."""
    scenario = validate(scenario)
    if seed is not None:
        if not isinstance(seed, int) or seed < 0:
            raise InvalidInput("seed", f"must be an integer >= 0, got {seed!r}")
        scenario = {**scenario, "seed": seed}
    return Simulation(scenario, policy, top_n, settings, staged_pools, supply=supply).run()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m crowd_dispatch.simulate", description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--policy", choices=["ours", "nearest"], default="ours")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--top-n", type=int, default=OURS_TOP_N, help="offers sent at once by 'ours'")
    ap.add_argument("--without", nargs="*", default=[], help=f"levers of 'ours' to switch off: {', '.join(LEVERS)}")
    args = ap.parse_args(argv)
    try:
        settings = settings_without(*args.without)
        result = simulate(load(args.scenario), args.policy, args.seed, args.top_n, settings)
    except InvalidInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
