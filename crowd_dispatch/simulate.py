"""Discrete-event simulation of a service region, to compare dispatch policies on the same demand.

    python -m crowd_dispatch.simulate SCENARIO.json --policy ours|nearest [--seed N]

prints one JSON object of KPIs. The scenario format and its defaults are in
:mod:`crowd_dispatch.scenario`.

Both policies see the same world for a seed: the experts, the jobs (Poisson arrivals with a skill
and priority mix) and each expert's answer to an offer for a given job (accept or decline, and
after how long) are drawn from the seed alone (common random numbers), never from the policy.

- ``nearest`` (baseline): the nearest available qualified expert gets an offer; one offer at a
  time; after a decline or a 10-minute timeout, the next nearest.
- ``ours``: the engine (:func:`crowd_dispatch.ranking.rank`) ranks the available qualified experts
  by travel time, acceptance probability, SLA slack, rating, cost and fairness, and the top
  ``OURS_TOP_N`` get the offer at once (``--top-n``); the first acceptance wins, the other offers
  are withdrawn; offers time out after ``OURS_TIMEOUT_MIN``, then the next round goes out.
  Measured on the example region (README), broadcasting to 3 did worse than one at a time: an
  expert holding offers for several jobs wastes the rounds of all but one, so the default is 1.

An expert's acceptance probability falls with distance: ``p = base * exp(-km / ACCEPT_DECAY_KM)``,
``base`` drawn per expert around ``accept_probability``. An expert who accepted travels at
``speed_kmh`` (road factor 1.3), serves the job, and is free again at the job's position. When no
expert is available, the job waits and is retried every ``RETRY_MIN`` minutes.

KPIs (all over the jobs created during ``duration_hours``; the simulation runs until every job is
served or ``DRAIN_HOURS`` later):

- ``jobs``, ``urgent_jobs``: jobs created, urgent ones among them.
- ``urgent_on_site_60_share``: urgent jobs with an expert at the door within 60 minutes of creation.
- ``within_sla_share``: jobs with the expert at the door before their SLA deadline.
- ``time_to_door_p50_min``, ``time_to_door_p90_min``: creation to the door, over served jobs.
- ``offers_per_job``: offers sent / jobs. ``decline_rate``: offers declined or timed out / offers
  answered or timed out (withdrawn offers excluded).
- ``utilisation``: busy minutes (travel + service) / online expert minutes of the day.
- ``cost``: sum of the served experts' cost per job. ``gini_freelance_jobs``: Gini coefficient of
  the number of jobs per online freelancer (0 = even). ``unserved``: jobs never served.
"""

import argparse
import heapq
import json
import math
import sys
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from .errors import InvalidInput
from .geo import haversine_km
from .model import Expert, Job, Policy, PoolStep, Strategy, TierPolicy, Weights
from .pool import ExpertPool
from .ranking import rank
from .scenario import load, validate

T0 = datetime(2026, 1, 5, 8, 0)
ROAD_FACTOR = 1.3
ACCEPT_DECAY_KM = 30.0
NEAREST_TIMEOUT_MIN = 10.0
OURS_TOP_N = 1
OURS_TIMEOUT_MIN = 10.0
RETRY_MIN = 5.0
DRAIN_HOURS = 6.0
COST_BY_KIND = {"employee": 60.0, "partner": 90.0, "freelance": 80.0}


@dataclass
class SimExpert:
    expert: Expert
    lat: float
    lon: float
    base_accept: float
    free_at: float = 0.0
    jobs: int = 0
    busy_min: float = 0.0


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
    offered: set = field(default_factory=set)
    pending: set = field(default_factory=set)
    served_at: float | None = None
    expert_id: int | None = None


def build_world(scenario):
    """Experts and jobs for the scenario's seed (independent of the policy)."""
    rng = np.random.default_rng(scenario["seed"])
    region, ex, dm = scenario["region"], scenario["experts"], scenario["demand"]
    skills = scenario["skills"]
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
        expert = Expert(
            id=i, kind=kind, tier=str(rng.choice(tiers, p=tier_norm(tier_p))), lat=lat, lon=lon,
            radius_km=4 * region["radius_km"], skills=own, online=online, capacity=1, load=0,
            rating=float(np.clip(rng.normal(4.3, 0.4), 1, 5)), acceptance_rate=base,
            cost_per_job=COST_BY_KIND[kind],
        )  # fmt: skip
        experts.append(SimExpert(expert, lat, lon, base))
    jobs, t, horizon = [], 0.0, scenario["duration_hours"] * 60.0
    rate = dm["jobs_per_hour"] / 60.0
    while rate > 0:
        t += float(rng.exponential(1.0 / rate))
        if t >= horizon:
            break
        lat, lon = _point(rng, region)
        urgent = bool(rng.random() < dm["urgent_share"])
        n_skills = int(rng.integers(dm["skills_per_job"][0], dm["skills_per_job"][1] + 1))
        need = {str(s): 1 for s in rng.choice(skills, n_skills, replace=False)}
        jobs.append(
            SimJob(
                id=len(jobs), created=t, lat=lat, lon=lon, urgent=urgent, skills=need,
                service_min=float(rng.uniform(*dm["service_minutes"])),
                sla_min=float(dm["sla_minutes"]["urgent" if urgent else "normal"]),
            )
        )  # fmt: skip
    return experts, jobs


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


def answer(seed, job_id, expert_id, probability, delay_range):
    """The expert's answer to an offer for a job: (accepts, delay in minutes), from the seed alone."""
    h = zlib.crc32(f"{seed}:{job_id}:{expert_id}".encode())
    rng = np.random.default_rng(h)
    u, d = rng.random(), rng.random()
    lo, hi = delay_range
    return bool(u < probability), lo + d * (hi - lo)


class Simulation:
    def __init__(self, scenario, policy, top_n=OURS_TOP_N):
        if not isinstance(top_n, int) or top_n < 1:
            raise InvalidInput("top_n", f"must be an integer >= 1, got {top_n!r}")
        self.top_n = top_n
        if policy not in ("ours", "nearest"):
            raise InvalidInput("policy", f"must be 'ours' or 'nearest', got {policy!r}")
        self.scenario = scenario
        self.policy = policy
        self.experts, self.jobs = build_world(scenario)
        self.online = [e for e in self.experts if e.expert.online]
        self.by_id = {e.expert.id: e for e in self.experts}
        self.speed = scenario["experts"]["speed_kmh"]
        self.delay_range = scenario["experts"]["response_delay_min"]
        self.events = []
        self.counter = 0
        self.offers = self.declined = self.answered = 0
        self.pool, self.pool_dirty = None, True
        self.engine_policy = Policy(
            pools=(PoolStep("own", 0), PoolStep("partner", 0), PoolStep("crowd", 0)),
            max_radius_km=4 * scenario["region"]["radius_km"],
            tier_policy=TierPolicy.ANY,
            strategy=Strategy.BROADCAST,
            top_n=top_n,
            offer_timeout_min=OURS_TIMEOUT_MIN,
            max_rounds=1000,
            speed_kmh=self.speed,
            road_factor=ROAD_FACTOR,
            check_certificates=False,
            weights=Weights(travel=0.45, acceptance=0.30, sla_slack=0.10, rating=0.05, cost=0.03, fairness=0.05,
                            skill_surplus=0.02),
        )  # fmt: skip

    # --------------------------------------------------------------- events
    def push(self, t, kind, *data):
        self.counter += 1
        heapq.heappush(self.events, (t, self.counter, kind, data))

    def run(self):
        for job in self.jobs:
            self.push(job.created, "dispatch", job.id)
        end = self.scenario["duration_hours"] * 60.0 + DRAIN_HOURS * 60.0
        while self.events:
            t, _, kind, data = heapq.heappop(self.events)
            if t > end:
                break
            getattr(self, f"_on_{kind}")(t, *data)
        return self.kpis()

    def _available(self, job, t):
        return [
            e
            for e in self.online
            if e.free_at <= t
            and e.expert.id not in job.offered
            and all(e.expert.skills.get(s, -1) >= lvl for s, lvl in job.skills.items())
        ]

    def _on_dispatch(self, t, job_id):
        job = self.jobs[job_id]
        if job.expert_id is not None or job.pending:
            return
        if self.policy == "nearest":
            chosen = self._pick_nearest(job, t)
            timeout = NEAREST_TIMEOUT_MIN
        else:
            chosen = self._pick_ours(job, t)
            timeout = OURS_TIMEOUT_MIN
        if not chosen:  # nobody qualified is free and unasked: look again later
            self.push(t + RETRY_MIN, "dispatch", job.id)
            return
        for expert in chosen:
            self._offer(job, expert, t, timeout)

    def _pick_nearest(self, job, t):
        candidates = self._available(job, t)
        if not candidates:
            return []
        lats = np.array([e.lat for e in candidates])
        lons = np.array([e.lon for e in candidates])
        return [candidates[int(np.argmin(haversine_km(job.lat, job.lon, lats, lons)))]]

    def _pick_ours(self, job, t):
        if not self.online:
            return []
        if self.pool_dirty:  # experts moved to their last job's site: the engine must see where they are
            self.pool = ExpertPool.from_experts([replace(e.expert, lat=e.lat, lon=e.lon) for e in self.online])
            self.pool_dirty = False
        busy = [e.expert.id for e in self.online if e.free_at > t]
        engine_job = Job(
            id=job.id, lat=job.lat, lon=job.lon, created_at=T0 + timedelta(minutes=job.created),
            sla_deadline=T0 + timedelta(minutes=job.created + job.sla_min), skills=job.skills,
            priority=3 if job.urgent else 1, duration_min=job.service_min,
        )  # fmt: skip
        now = T0 + timedelta(minutes=t)
        result = rank(engine_job, self.pool, self.engine_policy, now, k=self.top_n, exclude=[*busy, *job.offered])
        return [self.by_id[c.expert_id] for c in result.candidates]

    def _offer(self, job, expert, t, timeout):
        self.offers += 1
        job.offered.add(expert.expert.id)
        job.pending.add(expert.expert.id)
        km = self._km(job, expert)
        accepts, delay = answer(
            self.scenario["seed"], job.id, expert.expert.id,
            expert.base_accept * math.exp(-km / ACCEPT_DECAY_KM), self.delay_range,
        )  # fmt: skip
        if delay <= timeout:
            self.push(t + delay, "answer", job.id, expert.expert.id, accepts)
        else:
            self.push(t + timeout, "answer", job.id, expert.expert.id, False)

    def _on_answer(self, t, job_id, expert_id, accepts):
        job, expert = self.jobs[job_id], self.by_id[expert_id]
        if expert_id not in job.pending:
            return  # withdrawn
        job.pending.discard(expert_id)
        self.answered += 1
        if accepts and job.expert_id is None and expert.free_at <= t:
            km = self._km(job, expert)
            travel = km * ROAD_FACTOR / self.speed * 60.0
            job.expert_id, job.served_at = expert_id, t + travel
            expert.free_at = t + travel + job.service_min
            expert.busy_min += travel + job.service_min
            expert.jobs += 1
            expert.lat, expert.lon = job.lat, job.lon
            self.pool_dirty = True
            job.pending.clear()  # the other offers are withdrawn
            return
        self.declined += 1
        if not job.pending and job.expert_id is None:
            self.push(t, "dispatch", job.id)

    def _km(self, job, expert):
        return float(haversine_km(job.lat, job.lon, np.array([expert.lat]), np.array([expert.lon]))[0])

    # ------------------------------------------------------------------ KPIs
    def kpis(self):
        jobs = self.jobs
        urgent = [j for j in jobs if j.urgent]
        door = [j.served_at - j.created for j in jobs if j.served_at is not None]
        freelancers = [e.jobs for e in self.online if e.expert.kind.value == "freelance"]
        day = self.scenario["duration_hours"] * 60.0
        return {
            "name": self.scenario["name"],
            "policy": self.policy,
            "seed": self.scenario["seed"],
            "experts": len(self.experts),
            "jobs": len(jobs),
            "urgent_jobs": len(urgent),
            "urgent_on_site_60_share": _share(
                sum(1 for j in urgent if j.served_at is not None and j.served_at - j.created <= 60), len(urgent)
            ),
            "within_sla_share": _share(
                sum(1 for j in jobs if j.served_at is not None and j.served_at - j.created <= j.sla_min), len(jobs)
            ),
            "time_to_door_p50_min": round(float(np.percentile(door, 50)), 2) if door else None,
            "time_to_door_p90_min": round(float(np.percentile(door, 90)), 2) if door else None,
            "offers_per_job": round(self.offers / len(jobs), 3) if jobs else 0.0,
            "decline_rate": _share(self.declined, self.answered),
            "utilisation": _share(sum(e.busy_min for e in self.online), len(self.online) * day),
            "cost": round(sum(self.by_id[j.expert_id].expert.cost_per_job for j in jobs if j.expert_id is not None), 2),
            "gini_freelance_jobs": gini(freelancers),
            "unserved": sum(1 for j in jobs if j.served_at is None),
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


def simulate(scenario, policy, seed=None, top_n=OURS_TOP_N):
    """Run one simulation; ``scenario`` is a dict (validated here) and ``seed`` overrides its seed."""
    scenario = validate(scenario)
    if seed is not None:
        if not isinstance(seed, int) or seed < 0:
            raise InvalidInput("seed", f"must be an integer >= 0, got {seed!r}")
        scenario = {**scenario, "seed": seed}
    return Simulation(scenario, policy, top_n).run()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m crowd_dispatch.simulate", description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--policy", choices=["ours", "nearest"], default="ours")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--top-n", type=int, default=OURS_TOP_N, help="offers sent at once by 'ours'")
    args = ap.parse_args(argv)
    try:
        result = simulate(load(args.scenario), args.policy, args.seed, args.top_n)
    except InvalidInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
