"""Hard gates: which experts may be offered a job at all, and why the others may not.

Every gate is a boolean mask over the whole pool, computed with numpy. :func:`evaluate`
applies them in the fixed order of :data:`REASONS` and charges each rejected expert to the
first gate it fails, so "no candidate" can always say why. The radius gate comes last and
is computed only for the experts that passed every other gate (haversine distance).

Conventions: the job is done on the calendar day of ``now``; a certificate passes when its
last valid day is on or after that day. An expert is available when online, not busy at
``now`` (``busy_until <= now``) and, if they declared working windows, inside one of them
(``start <= now < end``). A pool step is open when ``now >= created_at + delay``.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from .errors import InvalidInput
from .geo import KM_PER_DEGREE_LAT, haversine_term, km_to_term, term_to_km
from .model import Job, Policy, Tier, TierPolicy
from .pool import POOLS, ExpertPool, check_code, to_epoch

REASONS = (
    "excluded",  # explicitly excluded (e.g. already offered this job)
    "pool",  # the expert's pool is not (yet) open for this job
    "tier",  # below the job's minimum tier, or not a specialist under DIRECT_SPECIALIST
    "skill",  # lacks a required skill or level
    "certificate",  # lacks a required certificate, or it expired before the job's day
    "offline",  # not online
    "busy",  # busy until after now
    "off_hours",  # outside every declared working window
    "capacity",  # load >= capacity
    "rating",  # rating below the policy minimum
    "cost",  # cost per job above the job's cost ceiling
    "radius",  # farther than min(expert radius, policy max radius)
)


class Rejections(dict):
    """Number of rejected experts per reason, every reason of :data:`REASONS` present, in order."""

    def __init__(self, counts=None):
        counts = counts or {}
        super().__init__((reason, int(counts.get(reason, 0))) for reason in REASONS)

    @property
    def total(self):
        return sum(self.values())

    def describe(self):
        """Human summary of the non-zero counts, e.g. ``"skill: 12, radius: 3"``."""
        parts = [f"{reason}: {count}" for reason, count in self.items() if count]
        return ", ".join(parts) if parts else "no expert rejected"


@dataclass(frozen=True)
class GateResult:
    """Outcome of the gates for one job: passing rows (ascending) with their haversine distance."""

    index: np.ndarray
    distance_km: np.ndarray
    rejections: Rejections
    size: int

    @property
    def mask(self):
        """Boolean mask over the pool: True where the expert passed every gate."""
        mask = np.zeros(self.size, dtype=np.bool_)
        mask[self.index] = True
        return mask


def check_inputs(job, pool, policy, now):
    """Validate the common inputs of the engine entry points; raise InvalidInput naming the field."""
    if not isinstance(job, Job):
        raise InvalidInput("job", f"must be a Job, got {type(job).__name__}")
    if not isinstance(pool, ExpertPool):
        raise InvalidInput("pool", f"must be an ExpertPool, got {type(pool).__name__}")
    if not isinstance(policy, Policy):
        raise InvalidInput("policy", f"must be a Policy, got {type(policy).__name__}")
    to_epoch(now)
    for code in job.skills:
        check_code(f"job[{job.id}].skills", code)
    for code in job.certificates:
        check_code(f"job[{job.id}].certificates", code)


def pool_openings(job, policy):
    """Map each pool of the policy to the moment it opens for ``job`` (earliest step wins)."""
    openings = {}
    for step in policy.pools:
        moment = job.created_at + timedelta(minutes=step.delay_min)
        if step.pool not in openings or moment < openings[step.pool]:
            openings[step.pool] = moment
    return openings


def next_pool_opening(job, policy, now):
    """The earliest pool opening strictly after ``now``, or None when every pool is open."""
    later = [moment for moment in pool_openings(job, policy).values() if to_epoch(moment) > to_epoch(now)]
    return min(later, default=None)


def pool_mask(job, pool, policy, now):
    """Experts whose pool step is open at ``now``; None when all pools are open."""
    now_epoch = to_epoch(now)
    openings = pool_openings(job, policy)
    is_open = [p in openings and now_epoch >= to_epoch(openings[p]) for p in POOLS]
    if all(is_open):
        return None
    if sum(is_open) == 1:
        return pool.pool == is_open.index(True)
    if sum(is_open) == len(POOLS) - 1:
        return pool.pool != is_open.index(False)
    return np.zeros(pool.size, dtype=np.bool_)


def tier_mask(job, pool, policy):
    """Experts of an acceptable tier; None when every tier is acceptable."""
    if policy.tier_policy is TierPolicy.DIRECT_SPECIALIST:
        return pool.tier == Tier.SPECIALIST.rank
    minimum = job.min_tier.rank if job.min_tier is not None else 0
    return pool.tier >= minimum if minimum > 0 else None


def skill_mask(job, pool):
    """Experts holding every required skill at the required level; None when nothing is required.

    A skill no expert of the pool knows means nobody qualifies.
    """
    mask = None
    for code, level in job.skills.items():
        column = pool.skill_vocab.get(code)
        ok = pool.skills[:, column] >= level if column is not None else np.zeros(pool.size, dtype=np.bool_)
        mask = ok if mask is None else np.logical_and(mask, ok, out=mask)
    return mask


def certificate_mask(job, pool, policy, now):
    """Experts with every required certificate valid on the job's day; None when not checked."""
    if not policy.check_certificates or not job.certificates:
        return None
    day = now.date().toordinal()
    mask = None
    for code in job.certificates:
        column = pool.cert_vocab.get(code)
        ok = pool.cert_until[:, column] >= day if column is not None else np.zeros(pool.size, dtype=np.bool_)
        mask = ok if mask is None else np.logical_and(mask, ok, out=mask)
    return mask


def window_mask(pool, now):
    """Experts inside a working window at ``now`` or without declared windows; None when nobody has windows."""
    if not pool.window_owner.size:
        return None
    now_epoch = to_epoch(now)
    inside = (pool.window_start <= now_epoch) & (now_epoch < pool.window_end)
    mask = ~pool.has_windows
    mask[pool.window_owner[inside]] = True
    return mask


def rating_mask(pool, policy):
    """Experts rated at least ``policy.min_rating``; None when there is no minimum."""
    return pool.rating >= policy.min_rating if policy.min_rating > 0 else None


def cost_mask(job, pool):
    """Experts whose cost per job fits the job's cost ceiling; None when the job has none."""
    return pool.cost <= job.max_cost if job.max_cost > 0 else None


def _masks(job, pool, policy, now, exclude, busy_grace_min=0.0):
    """Yield (reason, mask or None) in the order of REASONS, the radius excepted (lazy)."""
    excluded = None
    rows = pool.rows(exclude)
    if rows.size:
        excluded = np.ones(pool.size, dtype=np.bool_)
        excluded[rows] = False
    yield "excluded", excluded
    yield "pool", pool_mask(job, pool, policy, now)
    yield "tier", tier_mask(job, pool, policy)
    yield "skill", skill_mask(job, pool)
    yield "certificate", certificate_mask(job, pool, policy, now)
    yield "offline", pool.online
    yield "busy", pool.busy_until <= to_epoch(now) + 60.0 * busy_grace_min
    yield "off_hours", window_mask(pool, now)
    yield "capacity", pool.free > 0
    yield "rating", rating_mask(pool, policy)
    yield "cost", cost_mask(job, pool)


def radius_limit_km(pool, policy, rows):
    """Effective search radius of the experts at ``rows``: min(own radius, policy max radius)."""
    return np.minimum(pool.radius_km[rows], policy.max_radius_km)


def within_radius(job, pool, policy, rows):
    """The ``rows`` within their radius limit of the job, with their haversine distance in km.

    Compares haversine terms (monotonic in distance) and takes the arcsine only for the rows kept.
    """
    # Cheap latitude band first: the north-south gap alone is a lower bound of the distance.
    band = np.abs(pool.lat[rows] - job.lat) <= radius_limit_km(pool, policy, rows) * (1.001 / KM_PER_DEGREE_LAT)
    rows = rows[band]
    term = haversine_term(
        math.radians(job.lat), math.radians(job.lon), pool.lat_rad[rows], pool.lon_rad[rows], pool.cos_lat[rows]
    )
    within = term <= np.minimum(pool.radius_term[rows], km_to_term(policy.max_radius_km))
    return rows[within], term_to_km(term[within])


def evaluate(job, pool, policy, now, exclude=(), *, busy_grace_min=0.0):
    """Apply every hard gate to the pool for ``job`` at ``now``.

    ``exclude`` holds expert ids that must not pass (counted as "excluded"). ``busy_grace_min``
    lets experts busy until at most that many minutes after ``now`` pass the busy gate (the
    look-ahead over experts finishing soon, :mod:`crowd_dispatch.policy`). Returns a
    :class:`GateResult`; ``rejections.total + len(index) == pool.size`` always holds.
    """
    check_inputs(job, pool, policy, now)
    alive = np.ones(pool.size, dtype=np.bool_)
    remaining = pool.size
    counts = {}
    for reason, mask in _masks(job, pool, policy, now, exclude, busy_grace_min):
        if mask is None or not remaining:
            continue
        np.logical_and(alive, mask, out=alive)
        left = int(np.count_nonzero(alive))
        counts[reason] = remaining - left
        remaining = left
    rows, distance = within_radius(job, pool, policy, np.flatnonzero(alive))
    counts["radius"] = remaining - rows.size
    return GateResult(index=rows, distance_km=distance, rejections=Rejections(counts), size=pool.size)
