"""Explained ranking of the experts who pass the gates for one job.

Each criterion is normalised to [0, 1] (1 is best) and multiplied by its weight from
``policy.weights`` (weights are rescaled to sum to 1, so scores lie in [0, 1]):

- ``travel``: 1 - ETA / ETA at the policy's max radius.
- ``skill_surplus``: mean over required skills of (level - required) / SURPLUS_CAP, capped at 1.
- ``rating``: rating / 5.
- ``cost``: 1 - cost / highest cost in the pool.
- ``acceptance``: acceptance rate, lowered with distance (halved at ACCEPTANCE_HALF_KM).
- ``fairness``: 1 / (1 + recent offers) for freelancers; FAIRNESS_NEUTRAL for others.
- ``sla_slack``: minutes left at arrival before the SLA deadline / the job's SLA window.

Pipeline: gates (haversine) -> provisional scores for every passing expert -> shortlist by
argpartition: the best SHORTLIST_FACTOR * k, narrowed to those whose provisional score is
within :func:`score_margin` of the k-th (no one else can overtake it once distances change by
the haversine error) -> geodesic distance for the shortlist (re-checking the radius) -> final
scores, sorted. No Python loop touches more than the shortlist.

``rank`` ranks every tier that passes the gates together; the first-responder-first order is
applied by :mod:`crowd_dispatch.offers` (through ``rank(..., tier=...)`` or :func:`rank_rows`).
"""

from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput
from .gates import Rejections, evaluate, radius_limit_km
from .geo import eta_minutes, geodesic_km
from .model import POOL_OF_KIND, Tier
from .pool import to_epoch

CRITERIA = ("travel", "skill_surplus", "rating", "cost", "acceptance", "fairness", "sla_slack")
SURPLUS_CAP = 3  # levels above the requirement that earn the full skill-surplus criterion
ACCEPTANCE_HALF_KM = 25.0  # distance at which the acceptance probability is halved
SHORTLIST_FACTOR = 2  # geodesic distances for at most 2k experts per job (about 45 us each)
HAVERSINE_MAX_ERROR = 0.006  # |haversine - geodesic| / geodesic stays below 0.56 % on WGS84


@dataclass(frozen=True)
class Candidate:
    """One ranked expert. ``breakdown`` maps criterion -> weighted contribution; they sum to ``score``.

    ``facts`` holds the raw figures behind the criteria (rating, acceptance probability,
    cost, recent offers, skill surplus, SLA slack minutes) for :func:`explain`.
    """

    expert_id: object
    score: float
    breakdown: dict
    distance_km: float
    eta_min: float
    tier: Tier
    pool: object
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RankResult:
    """Best-first candidates (at most k) and why the other experts were rejected."""

    candidates: list
    rejections: Rejections


def weight_vector(policy):
    """Weights in CRITERIA order, rescaled to sum to 1 (all zero stays all zero)."""
    weights = np.array([getattr(policy.weights, name) for name in CRITERIA], dtype=np.float64)
    total = weights.sum()
    return weights / total if total > 0 else weights


def criteria(job, pool, policy, now, rows, distance_km):
    """Normalised criteria (CRITERIA order, each an array over ``rows``) plus raw facts arrays."""
    eta = eta_minutes(distance_km, policy.speed_kmh, policy.road_factor)
    max_eta = eta_minutes(policy.max_radius_km, policy.speed_kmh, policy.road_factor)
    travel = np.clip(1.0 - eta / max_eta, 0.0, 1.0) if max_eta > 0 else np.ones(rows.size)
    surplus_levels = np.zeros(rows.size)
    surplus = np.zeros(rows.size)
    for code, level in job.skills.items():
        column = pool.skill_vocab.get(code)
        if column is None:  # nobody in the pool has the skill: no row passed the skill gate
            continue
        extra = np.clip(pool.skills[rows, column] - level, 0, None)
        surplus_levels += extra
        surplus += np.minimum(extra, SURPLUS_CAP) / SURPLUS_CAP
    if job.skills:
        surplus /= len(job.skills)
    acceptance = pool.acceptance[rows] * (ACCEPTANCE_HALF_KM / (ACCEPTANCE_HALF_KM + distance_km))
    window_min = max((to_epoch(job.sla_deadline) - to_epoch(job.created_at)) / 60.0, 1.0)
    slack_min = (to_epoch(job.sla_deadline) - to_epoch(now)) / 60.0 - eta
    values = np.vstack(
        [
            travel,
            surplus,
            pool.rating[rows] / 5.0,
            pool.cost_score[rows],
            acceptance,
            pool.fairness_score[rows],
            np.clip(slack_min / window_min, 0.0, 1.0),
        ]
    )
    facts = {"eta_min": eta, "acceptance": acceptance, "surplus_levels": surplus_levels, "slack_min": slack_min}
    return values, facts


def _candidate(pool, row, distance, weights, values, facts, i):
    expert = pool.experts[row]
    breakdown = {name: float(weights[c] * values[c, i]) for c, name in enumerate(CRITERIA)}
    return Candidate(
        expert_id=expert.id,
        score=sum(breakdown.values()),
        breakdown=breakdown,
        distance_km=float(distance),
        eta_min=float(facts["eta_min"][i]),
        tier=expert.tier,
        pool=POOL_OF_KIND[expert.kind],
        facts={
            "rating": expert.rating,
            "acceptance": float(facts["acceptance"][i]),
            "cost": expert.cost_per_job,
            "cost_score": float(values[CRITERIA.index("cost"), i]),
            "freelance": bool(pool.freelance[row]),
            "recent_offers": expert.recent_offers,
            "surplus_levels": int(facts["surplus_levels"][i]),
            "slack_min": float(facts["slack_min"][i]),
        },
    )


def score_margin(job, policy, weights):
    """Upper bound of twice the score change when haversine distances are replaced by geodesic ones.

    Only travel, acceptance and SLA slack depend on distance; their slopes per km are bounded
    and a passing distance is at most ``policy.max_radius_km``.
    """
    minutes_per_km = eta_minutes(1.0, policy.speed_kmh, policy.road_factor)
    max_eta = eta_minutes(policy.max_radius_km, policy.speed_kmh, policy.road_factor)
    window_min = max((to_epoch(job.sla_deadline) - to_epoch(job.created_at)) / 60.0, 1.0)
    slope = weights[CRITERIA.index("acceptance")] / ACCEPTANCE_HALF_KM
    slope += weights[CRITERIA.index("sla_slack")] * minutes_per_km / window_min
    if max_eta > 0:
        slope += weights[CRITERIA.index("travel")] * minutes_per_km / max_eta
    return 2.0 * HAVERSINE_MAX_ERROR * policy.max_radius_km * slope


def shortlist(job, pool, policy, now, k, rows, distance_km, weights):
    """Rows that can still reach the top ``k`` once distances are geodesic (at most SHORTLIST_FACTOR * k)."""
    if rows.size <= k:
        return rows
    values, _ = criteria(job, pool, policy, now, rows, distance_km)
    score = weights @ values
    size = min(rows.size, SHORTLIST_FACTOR * k)
    best = np.argpartition(-score, size - 1)[:size] if size < rows.size else np.arange(rows.size)
    kth = np.partition(score[best], size - k)[size - k]
    return rows[best[score[best] >= kth - score_margin(job, policy, weights)]]


def rank_rows(job, pool, policy, now, k, rows, distance_km, rejections):
    """Rank the gated ``rows`` (with haversine ``distance_km``); see the module docstring."""
    weights = weight_vector(policy)
    rejections = Rejections(rejections)
    rows = shortlist(job, pool, policy, now, k, rows, distance_km, weights)
    geo = np.fromiter(
        (geodesic_km(job.lat, job.lon, pool.lat[r], pool.lon[r]) for r in rows), dtype=np.float64, count=rows.size
    )
    inside = geo <= radius_limit_km(pool, policy, rows)
    rejections["radius"] += int(rows.size - np.count_nonzero(inside))
    rows, geo = rows[inside], geo[inside]
    values, facts = criteria(job, pool, policy, now, rows, geo)
    candidates = [_candidate(pool, row, geo[i], weights, values, facts, i) for i, row in enumerate(rows)]
    order = sorted(range(len(candidates)), key=lambda i: (-candidates[i].score, candidates[i].distance_km, rows[i]))
    return RankResult(candidates=[candidates[i] for i in order[:k]], rejections=rejections)


def check_k(k):
    """Raise InvalidInput unless ``k`` is an int >= 1."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise InvalidInput("k", f"must be an int >= 1, got {k!r}")


def rank(job, pool, policy, now, k=10, exclude=(), *, tier=None):
    """Rank the experts of ``pool`` for ``job`` at ``now``; return the best ``k`` and the rejections.

    ``exclude``: expert ids that must not be ranked (e.g. already offered). ``tier``: rank only
    this tier (used by the first-responder-first policy); other passing experts count as "tier".
    """
    check_k(k)
    gated = evaluate(job, pool, policy, now, exclude)
    rows, distance = gated.index, gated.distance_km
    rejections = Rejections(gated.rejections)
    if tier is not None:
        if not isinstance(tier, Tier):
            raise InvalidInput("tier", f"must be a Tier, got {tier!r}")
        keep = pool.tier[rows] == tier.rank
        rejections["tier"] += int(rows.size - np.count_nonzero(keep))
        rows, distance = rows[keep], distance[keep]
    return rank_rows(job, pool, policy, now, k, rows, distance, rejections)


def explain(candidate):
    """Why this candidate, most telling first, as ``(code, params)`` reasons (see :mod:`.reasons`;
    ``reasons.render_all`` gives English text). Parameters are plain numbers and strings."""
    facts = candidate.facts
    reasons = [
        ("travel", {"minutes": round(float(candidate.eta_min), 1), "km": round(float(candidate.distance_km), 2)})
    ]
    rating = facts.get("rating")
    if rating is not None and rating >= 4.5:
        reasons.append(("rating_top", {"rating": round(float(rating), 2)}))
    elif rating is not None and rating >= 4.0:
        reasons.append(("rating_good", {"rating": round(float(rating), 2)}))
    if facts.get("surplus_levels", 0) > 0:
        reasons.append(("skill_surplus", {"levels": int(facts["surplus_levels"])}))
    if facts.get("acceptance", 0) >= 0.5:
        reasons.append(("likely_accept", {"percent": round(100.0 * float(facts["acceptance"]), 1)}))
    if facts.get("cost_score", 0) >= 0.75:
        reasons.append(("low_cost", {}))
    if facts.get("freelance") and facts.get("recent_offers", 1) == 0:
        reasons.append(("fair_share", {}))
    slack = facts.get("slack_min")
    if slack is not None:
        if slack >= 0:
            reasons.append(("sla_ahead", {"minutes": round(float(slack), 1)}))
        else:
            reasons.append(("sla_late", {"minutes": round(float(-slack), 1)}))
    reasons.append(("tier_pool", {"tier": candidate.tier.value, "pool": candidate.pool.value}))
    return reasons
