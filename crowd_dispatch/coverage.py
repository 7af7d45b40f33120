"""Coverage of a service area from a company's own history, and where recruiting would help most.

Two parts, both pure (no Odoo, no clock):

- :func:`grid_cell` puts a position in a square grid cell of ``cell_km`` (rows of ``cell_km`` of
  latitude; in each row, columns of ``cell_km`` of longitude measured at the row's middle latitude).
  The Odoo coverage report computes the same cells in SQL; a test checks both agree.
- :func:`recruiting_suggestions` replays the company's own demand (the jobs of its busiest days: position,
  arrival time, skills, priority, planned duration, SLA) against its own supply (its experts: home
  position, skills, kind, tier, radius) in the region simulator (:class:`crowd_dispatch.simulate.Simulation`,
  policy ``ours``, the engine's dispatch policy), finds the cells where urgent jobs missed 60 minutes,
  and for each skill (and cell) simulates adding ``add`` experts with that skill at the centroid of the
  cell's demand. A suggestion's gain is the change of the share of urgent jobs on site within 60
  minutes, in points, averaged over the seeds (common random numbers: the same seed gives every expert
  the same answers with or without the recruits).

Assumptions of the replay (stated in the Odoo wizard's help): every expert of the pool works through
the replayed day (from its first arrival to two hours after its last; no job in progress at the start),
their acceptance and answer delays come from the scenario defaults (drawn per expert from the seed),
equipment models and certificates are left out. The gains are relative: they rank where recruits help
most, they do not forecast a day.
"""

import math
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np

from .errors import InvalidInput
from .geo import haversine_km
from .model import Expert, Tier, check_position
from .scenario import validate
from .simulate import T0, SimExpert, SimJob, Simulation

MIN_CELL_KM, MAX_CELL_KM = 0.1, 500.0
MAX_JOBS = 2000
MAX_EXPERTS = 5000
MAX_SEEDS = 5
MAX_CANDIDATES = 40
MAX_ADD = 20
URGENT_PRIORITY = 3
DOOR_TARGET_MIN = 60.0
SHIFT_AFTER_LAST_MIN = 120.0  # the replayed day's experts work until this long after the last arrival
DEG_KM = 111.32  # km per degree of latitude (and of longitude at the equator)
ANY_SKILL = ""  # the "skill" of jobs that require none


def _check_cell_km(cell_km):
    if (
        not isinstance(cell_km, int | float)
        or isinstance(cell_km, bool)
        or not math.isfinite(cell_km)
        or not MIN_CELL_KM <= cell_km <= MAX_CELL_KM
    ):
        raise InvalidInput("cell_km", f"must be a number in [{MIN_CELL_KM:g}, {MAX_CELL_KM:g}], got {cell_km!r}")


def grid_cell(lat, lon, cell_km):
    """(key, centre lat, centre lon) of the grid cell of a position: key ``"row:col"``."""
    _check_cell_km(cell_km)
    check_position("position", lat, lon)
    step_lat = cell_km / DEG_KM
    row = math.floor(lat / step_lat)
    mid = (row + 0.5) * step_lat
    step_lon = cell_km / (DEG_KM * max(math.cos(math.radians(mid)), 0.01))
    col = math.floor(lon / step_lon)
    return f"{row}:{col}", mid, (col + 0.5) * step_lon


def cell_bounds(key, cell_km):
    """((south, west), (north, east)) of a cell key from :func:`grid_cell`."""
    _check_cell_km(cell_km)
    try:
        row, col = (int(part) for part in key.split(":"))
    except (AttributeError, ValueError):
        raise InvalidInput("cell", f"must be 'row:col', got {key!r}") from None
    step_lat = cell_km / DEG_KM
    mid = (row + 0.5) * step_lat
    step_lon = cell_km / (DEG_KM * max(math.cos(math.radians(mid)), 0.01))
    return (row * step_lat, col * step_lon), ((row + 1) * step_lat, (col + 1) * step_lon)


@dataclass(frozen=True)
class DemandJob:
    """One job of the history: ``day`` groups the jobs replayed together, ``minute`` is its arrival in
    minutes since the start of that day; ``skills`` maps skill code -> minimum level."""

    day: str
    minute: float
    lat: float
    lon: float
    priority: int = 1
    skills: dict = None
    service_min: float = 60.0
    sla_min: float = 480.0

    def __post_init__(self):
        check_position("demand", self.lat, self.lon)
        object.__setattr__(self, "skills", dict(self.skills or {}))
        for name in ("minute", "service_min", "sla_min"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise InvalidInput(f"demand.{name}", f"must be a non-negative number, got {value!r}")


@dataclass(frozen=True)
class Suggestion:
    skill: str  # skill code ("" = jobs that require no skill)
    cell: str  # grid cell key
    lat: float  # where the recruits were placed (centroid of the cell's demand)
    lon: float
    gain_points: float  # urgent on site within 60 min: with the recruits minus without, in points
    recovered: float  # urgent jobs on site within 60 min that were not without the recruits (per seed)
    share: float  # urgent on site within 60 min with the recruits (0..1)
    missed_in_cell: int  # urgent jobs of the cell that missed 60 min without the recruits (per seed)


def _bounded_int(value, name, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(name, f"must be an integer in [{low}, {high}], got {value!r}")


def _scenario(seed, speed_kmh, skills, radius_km, center):
    return validate(
        {
            "name": "history",
            "seed": seed,
            "duration_hours": 24,
            "region": {"center": list(center), "radius_km": radius_km},
            "skills": sorted(skills) or ["general"],
            "experts": {"count": 1, "skills_per_expert": [1, 1], "speed_kmh": speed_kmh},
            "demand": {"skills_per_job": [1, 1]},
            "mechanics": {"in_progress_start": False, "first_time_fix": False},
        }
    )


def _world(scenario, experts, day_jobs):
    """Fresh SimExperts and SimJobs (the simulation changes them) for one replayed day and one seed: every
    expert works from the first arrival of the day until :data:`SHIFT_AFTER_LAST_MIN` after the last."""
    ex = scenario["experts"]
    start = min(job.minute for job in day_jobs)
    shift = (0.0, max(job.minute for job in day_jobs) - start + SHIFT_AFTER_LAST_MIN)
    windows = ((T0, T0 + timedelta(minutes=shift[1])),)
    rng = np.random.default_rng([scenario["seed"], 11])
    sim_experts = []
    for index, expert in enumerate(experts):
        base = float(np.clip(rng.normal(ex["accept_probability"], 0.1), 0.05, 0.98))
        speed_factor = float(np.exp(rng.normal(0.0, ex["speed_spread"])))
        engine_expert = replace(
            expert, id=index, online=True, windows=windows, busy_until=None, load=0, recent_offers=0
        )
        sim_experts.append(SimExpert(engine_expert, expert.lat, expert.lon, base, speed_factor, shift))
    dm = scenario["demand"]
    rng = np.random.default_rng([scenario["seed"], 12])  # the jobs' own stream: the same whatever the supply
    ref_pay = (sum(dm["service_minutes"]) / 2.0) / 60.0 * dm["pay_per_hour"]
    sim_jobs = []
    for index, job in enumerate(day_jobs):
        urgent = job.priority >= URGENT_PRIORITY
        pay = job.service_min / 60.0 * dm["pay_per_hour"] * (dm["urgent_pay_factor"] if urgent else 1.0)
        noise = float(rng.uniform(-1.0, 1.0)) * dm["duration_noise"]
        sim_jobs.append(
            SimJob(
                id=index,
                created=job.minute - start,
                lat=job.lat,
                lon=job.lon,
                urgent=urgent,
                skills=dict(job.skills),
                service_min=job.service_min,
                sla_min=job.sla_min,
                actual_service_min=job.service_min * (1.0 + noise),
                pay=max(pay / ref_pay, 0.01),
            )
        )
    return sim_experts, sim_jobs


def _replay(days, experts, seeds, speed_kmh, skills, radius_km, center):
    """{(seed, day, job index): on site within 60 min} for urgent jobs, replaying each day once per seed."""
    outcome = {}
    for seed in seeds:
        scenario = _scenario(seed, speed_kmh, skills, radius_km, center)
        for day, day_jobs in days.items():
            world = _world(scenario, experts, day_jobs)
            duration = max(job.created for job in world[1]) / 60.0 + 1.0 / 60.0
            sim = Simulation({**scenario, "duration_hours": duration}, "ours", world=world)
            sim.run()
            for job in sim.jobs:
                if job.urgent and job.follow_up_of is None:
                    ok = job.served_at is not None and job.served_at - job.created <= DOOR_TARGET_MIN
                    outcome[(seed, day, job.id)] = ok
    return outcome


def recruiting_suggestions(
    demand,
    experts,
    *,
    cell_km=5.0,
    add=2,
    seeds=(1, 2),
    max_cells=3,
    max_skills=4,
    speed_kmh=40.0,
    recruit_radius_km=30.0,
):
    """Where adding ``add`` experts of which skill would help most, by simulation on the given history.

    ``demand``: :class:`DemandJob` list (at most :data:`MAX_JOBS`); ``experts``: engine
    :class:`~crowd_dispatch.model.Expert` list (the company's pool). Candidates are the ``max_cells``
    cells with the most urgent jobs missing 60 minutes, and in each the ``max_skills`` skills those
    missed jobs required most. Returns ``{"urgent_jobs", "baseline_share", "missed", "suggestions"}``
    with the suggestions ranked by gain (then recovered jobs, then skill and cell)."""
    _check_cell_km(cell_km)
    _bounded_int(add, "add", 1, MAX_ADD)
    _bounded_int(max_cells, "max_cells", 1, 10)
    _bounded_int(max_skills, "max_skills", 1, 10)
    if max_cells * max_skills > MAX_CANDIDATES:
        raise InvalidInput("max_cells", f"at most {MAX_CANDIDATES} candidates (cells x skills)")
    seeds = tuple(seeds)
    if not seeds or len(seeds) > MAX_SEEDS:
        raise InvalidInput("seeds", f"must hold 1 to {MAX_SEEDS} seeds, got {len(seeds)}")
    for seed in seeds:
        _bounded_int(seed, "seeds", 0, 2**31 - 1)
    for value, name in ((speed_kmh, "speed_kmh"), (recruit_radius_km, "recruit_radius_km")):
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 1000:
            raise InvalidInput(name, f"must be a number in (0, 1000], got {value!r}")
    demand, experts = list(demand), list(experts)
    if len(demand) > MAX_JOBS:
        raise InvalidInput("demand", f"at most {MAX_JOBS} jobs, got {len(demand)}")
    if len(experts) > MAX_EXPERTS:
        raise InvalidInput("experts", f"at most {MAX_EXPERTS} experts, got {len(experts)}")
    if not all(isinstance(job, DemandJob) for job in demand):
        raise InvalidInput("demand", "must hold DemandJob items")
    if not all(isinstance(expert, Expert) for expert in experts):
        raise InvalidInput("experts", "must hold Expert items")
    result = {"urgent_jobs": 0, "baseline_share": 0.0, "missed": 0, "suggestions": []}
    if not demand:
        return result
    days = {}
    for job in sorted(demand, key=lambda j: (j.day, j.minute)):
        days.setdefault(job.day, []).append(job)
    skills = {code for job in demand for code in job.skills} | {code for e in experts for code in e.skills}
    lats = np.array([job.lat for job in demand] + [e.lat for e in experts])
    lons = np.array([job.lon for job in demand] + [e.lon for e in experts])
    center = (float(lats.mean()), float(lons.mean()))
    radius_km = max(float(haversine_km(center[0], center[1], lats, lons).max()), 1.0)

    def replay(pool):
        return _replay(days, pool, seeds, speed_kmh, skills, radius_km, center)

    baseline = replay(experts)
    urgent = len(baseline)
    result["urgent_jobs"] = urgent // len(seeds)
    if not urgent:
        return result
    base_ok = sum(baseline.values())
    result["baseline_share"] = round(base_ok / urgent, 4)
    result["missed"] = round((urgent - base_ok) / len(seeds), 2)
    # the cells with the most missed urgent jobs, and the skills those jobs needed
    cell_of = {}
    for day, day_jobs in days.items():
        for index, job in enumerate(day_jobs):
            cell_of[(day, index)] = grid_cell(job.lat, job.lon, cell_km)[0]
    misses, skill_misses = {}, {}
    for (_seed, day, index), ok in baseline.items():
        if ok:
            continue
        cell = cell_of[(day, index)]
        misses[cell] = misses.get(cell, 0) + 1
        for code in days[day][index].skills or (ANY_SKILL,):
            skill_misses.setdefault(cell, {})
            skill_misses[cell][code] = skill_misses[cell].get(code, 0) + 1
    worst = sorted(misses, key=lambda c: (-misses[c], c))[:max_cells]
    level = {}
    for job in demand:
        for code, lvl in job.skills.items():
            level[code] = max(level.get(code, 0), int(lvl))
    suggestions = []
    for cell in worst:
        cell_jobs = [job for (day, index), key in cell_of.items() if key == cell for job in (days[day][index],)]
        codes = sorted(skill_misses[cell], key=lambda c: (-skill_misses[cell][c], c))[:max_skills]
        for code in codes:
            placed = [job for job in cell_jobs if (code in job.skills) or (code == ANY_SKILL and not job.skills)]
            placed = placed or cell_jobs
            lat = float(np.mean([job.lat for job in placed]))
            lon = float(np.mean([job.lon for job in placed]))
            recruits = [
                Expert(
                    id=f"recruit-{i}",
                    kind="freelance",
                    tier=Tier.SPECIALIST,
                    lat=lat,
                    lon=lon,
                    radius_km=recruit_radius_km,
                    skills={code: max(level.get(code, 1), 1)} if code else {},
                    capacity=1,
                    rating=4.0,
                    acceptance_rate=0.7,
                )
                for i in range(add)
            ]
            with_recruits = replay(experts + recruits)
            ok = sum(with_recruits.values())
            suggestions.append(
                Suggestion(
                    skill=code,
                    cell=cell,
                    lat=round(lat, 6),
                    lon=round(lon, 6),
                    gain_points=round(100.0 * (ok - base_ok) / urgent, 2),
                    recovered=round((ok - base_ok) / len(seeds), 2),
                    share=round(ok / urgent, 4),
                    missed_in_cell=round(misses[cell] / len(seeds)),
                )
            )
    suggestions.sort(key=lambda s: (-s.gain_points, -s.recovered, s.skill, s.cell))
    result["suggestions"] = suggestions
    return result
