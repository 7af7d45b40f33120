"""Batch assignment of many jobs at once, minimising total ETA plus SLA-risk penalty.

Each job may go to one of its K nearest experts that pass every hard gate (haversine
distance; geodesic would cost ~60 us per arc): pool, tier, skills, certificates, online, not
busy, working window, capacity, rating, cost ceiling and radius, the same gates as one job's
ranking (:func:`crowd_dispatch.gates.evaluate`). Jobs may follow different policies (one per
job: the dispatch rule of each job) while sharing the experts' capacity in one flow. Arc cost, in minutes:
``eta + sla_penalty * max(0, minutes late at arrival)``. The problem is a min-cost flow
(source -> job -> expert -> sink, expert slots = ceil(capacity - load)) solved by OR-Tools;
every job also has an "unassigned" arc priced above any chain of reassignments, so the
solver first staffs as many jobs as possible, then minimises cost.

:func:`assign_greedy` is the baseline: jobs in the given order, each takes its nearest
passing expert with capacity left. :func:`assignment_details` says, per job, what its expert
costs and why (engine reason codes), or why it stays unstaffed.
"""

import math

import numpy as np
from ortools.graph.python import min_cost_flow

from .errors import DispatchError, InvalidInput
from .gates import (
    certificate_mask,
    check_inputs,
    cost_mask,
    evaluate,
    pool_mask,
    rating_mask,
    skill_mask,
    tier_mask,
    window_mask,
    within_radius,
)
from .geo import eta_minutes
from .model import Job, Policy
from .pool import to_epoch
from .ranking import _candidate, criteria, explain, weight_vector

COST_SCALE = 60  # integer arc costs in seconds


def _policies(jobs, policy):
    """One Policy per job: ``policy`` is a Policy for every job or a sequence of one Policy per job."""
    if isinstance(policy, Policy):
        return [policy] * len(jobs)
    if not isinstance(policy, list | tuple):
        raise InvalidInput("policy", f"must be a Policy or a list of one Policy per job, got {type(policy).__name__}")
    if len(policy) != len(jobs):
        raise InvalidInput("policy", f"must hold one Policy per job ({len(jobs)}), got {len(policy)}")
    for i, item in enumerate(policy):
        if not isinstance(item, Policy):
            raise InvalidInput(f"policy[{i}]", f"must be a Policy, got {type(item).__name__}")
    return list(policy)


def _check(jobs, pool, policy, now, sla_penalty, k, exclude=None):
    """Validated (jobs, policies, exclude) of a batch call."""
    jobs = list(jobs)
    policies = _policies(jobs, policy)
    seen = set()
    for i, (job, job_policy) in enumerate(zip(jobs, policies)):
        if not isinstance(job, Job):
            raise InvalidInput(f"jobs[{i}]", f"must be a Job, got {type(job).__name__}")
        if job.id in seen:
            raise InvalidInput(f"jobs[{i}].id", f"duplicate job id {job.id!r}")
        seen.add(job.id)
        check_inputs(job, pool, job_policy, now)
    if not isinstance(sla_penalty, int | float) or isinstance(sla_penalty, bool) or not sla_penalty >= 0:
        raise InvalidInput("sla_penalty", f"must be a non-negative number, got {sla_penalty!r}")
    if not math.isfinite(sla_penalty):
        raise InvalidInput("sla_penalty", f"must be finite, got {sla_penalty!r}")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
        raise InvalidInput("k", f"must be an int >= 1, got {k!r}")
    if exclude is None:
        exclude = {}
    if not isinstance(exclude, dict):
        raise InvalidInput("exclude", f"must be a mapping of job id to expert ids, got {type(exclude).__name__}")
    unknown = [job_id for job_id in exclude if job_id not in seen]
    if unknown:
        raise InvalidInput(f"exclude[{unknown[0]!r}]", "is not a job of the batch")
    return jobs, policies, exclude


def _and(*masks):
    result = None
    for mask in masks:
        if mask is not None:
            result = mask.copy() if result is None else np.logical_and(result, mask, out=result)
    return result


def _candidate_rows(jobs, policies, pool, now, k, exclude):
    """Per job, (rows, haversine km) of its ``k`` nearest passing experts (all when k is None), nearest first.

    Masks that depend only on the job's requirements and policy are computed once per distinct pair.
    """
    now_epoch = to_epoch(now)
    available = _and(pool.online, pool.busy_until <= now_epoch, window_mask(pool, now), pool.free > 0)
    static = {}
    cache = {}
    result = []
    for job, policy in zip(jobs, policies):
        if id(policy) not in static:
            static[id(policy)] = _and(available, rating_mask(pool, policy))
        pools = pool_mask(job, pool, policy, now)
        key = (
            id(policy),
            tuple(sorted(job.skills.items())),
            tuple(sorted(job.certificates)),
            job.min_tier,
            job.max_cost,
            None if pools is None else pools.tobytes(),
        )
        if key not in cache:
            mask = _and(static[id(policy)], pools, tier_mask(job, pool, policy), skill_mask(job, pool))
            mask = _and(mask, certificate_mask(job, pool, policy, now), cost_mask(job, pool))
            cache[key] = np.flatnonzero(mask) if mask is not None else np.arange(pool.size)
        rows = cache[key]
        if exclude.get(job.id):
            rows = np.setdiff1d(rows, pool.rows(exclude[job.id]), assume_unique=True)
        rows, distance = within_radius(job, pool, policy, rows)
        if k is not None and rows.size > k:
            nearest = np.argpartition(distance, k - 1)[:k]
            rows, distance = rows[nearest], distance[nearest]
        order = np.lexsort((rows, distance))
        result.append((rows[order], distance[order]))
    return result


def _arc_costs(job, policy, now, distance, sla_penalty):
    """(eta_min, late_min, cost_min) arrays of a job's arcs at haversine ``distance`` (km)."""
    eta = eta_minutes(distance, policy.speed_kmh, policy.road_factor)
    late = np.maximum(0.0, (to_epoch(now) - to_epoch(job.sla_deadline)) / 60.0 + eta)
    return eta, late, eta + sla_penalty * late


def candidate_arcs(jobs, pool, policy, now, sla_penalty=1.0, k=20, exclude=None):
    """Per job, (rows, cost_min) of its ``k`` nearest passing experts (all when k is None), nearest first.

    ``policy``: one Policy, or one per job. ``exclude``: {job id: expert ids that must not take that job}.
    """
    jobs, policies, exclude = _check(jobs, pool, policy, now, sla_penalty, k, exclude)
    return [
        (rows, _arc_costs(job, job_policy, now, distance, sla_penalty)[2])
        for job, job_policy, (rows, distance) in zip(
            jobs, policies, _candidate_rows(jobs, policies, pool, now, k, exclude)
        )
    ]


def _add_arcs(flow, tails, heads, capacities, costs):
    as_int = [np.asarray(a).astype(np.int64) for a in (tails, heads, capacities, costs)]
    return flow.add_arcs_with_capacity_and_unit_cost(*as_int)


def assign_batch(jobs, pool, policy, now, sla_penalty=1.0, k=20, exclude=None):
    """Assign ``jobs`` to experts optimally (min-cost flow); return {job_id: expert_id} of staffed jobs.

    ``policy``: one Policy for every job, or a list of one Policy per job (each job's own gates; the
    experts' capacity is shared). ``sla_penalty``: cost minutes per minute of expected lateness.
    ``k``: candidate experts per job. ``exclude``: {job id: expert ids that must not take that job}.
    """
    jobs, policies, exclude = _check(jobs, pool, policy, now, sla_penalty, k, exclude)
    if not jobs:
        return {}
    arcs = [
        (rows, _arc_costs(job, job_policy, now, distance, sla_penalty)[2])
        for job, job_policy, (rows, distance) in zip(
            jobs, policies, _candidate_rows(jobs, policies, pool, now, k, exclude)
        )
    ]
    job_of = np.concatenate([np.full(rows.size, j, dtype=np.int64) for j, (rows, _) in enumerate(arcs)])
    expert_rows = np.concatenate([rows for rows, _ in arcs]).astype(np.int64)
    costs = np.rint(np.concatenate([cost for _, cost in arcs]) * COST_SCALE).astype(np.int64)
    used, slot = np.unique(expert_rows, return_inverse=True)
    n_jobs, n_arcs = len(jobs), job_of.size
    job_nodes, expert_nodes = 1 + np.arange(n_jobs), 1 + n_jobs + np.arange(used.size)
    source, sink = 0, 1 + n_jobs + used.size
    unassigned = (int(costs.max(initial=0)) + 1) * (n_jobs + 1)
    flow = min_cost_flow.SimpleMinCostFlow()
    _add_arcs(flow, np.full(n_jobs, source), job_nodes, np.ones(n_jobs), np.zeros(n_jobs))
    _add_arcs(flow, job_nodes, np.full(n_jobs, sink), np.ones(n_jobs), np.full(n_jobs, unassigned))
    assign_arcs = _add_arcs(flow, job_nodes[job_of], expert_nodes[slot], np.ones(n_arcs), costs)
    _add_arcs(flow, expert_nodes, np.full(used.size, sink), np.ceil(pool.free[used]), np.zeros(used.size))
    flow.set_nodes_supplies(np.array([source, sink], dtype=np.int64), np.array([n_jobs, -n_jobs], dtype=np.int64))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise DispatchError(f"min-cost flow failed with status {status}")
    chosen = np.flatnonzero(flow.flows(assign_arcs) > 0)
    return {jobs[job_of[a]].id: pool.ids[expert_rows[a]] for a in chosen}


def assign_greedy(jobs, pool, policy, now, sla_penalty=1.0, exclude=None):
    """Baseline (first come, first served): jobs in order, each to its nearest passing expert with capacity left."""
    jobs, policies, exclude = _check(jobs, pool, policy, now, sla_penalty, None, exclude)
    left = np.ceil(pool.free).astype(np.int64)
    assignment = {}
    for job, (rows, _) in zip(jobs, _candidate_rows(jobs, policies, pool, now, None, exclude)):
        free_rows = rows[left[rows] > 0]
        if free_rows.size:
            left[free_rows[0]] -= 1
            assignment[job.id] = pool.ids[free_rows[0]]
    return assignment


def _check_assignment(assignment, jobs, pool, candidates):
    """Per job, (row, distance_km) of its assigned expert (None when unstaffed), given each job's passing
    ``candidates`` (rows, distance); InvalidInput when an expert fails a gate for the job or gets more jobs
    than their free capacity."""
    if not isinstance(assignment, dict):
        raise InvalidInput("assignment", f"must be a mapping of job id to expert id, got {type(assignment).__name__}")
    known = {job.id for job in jobs}
    unknown = [job_id for job_id in assignment if job_id not in known]
    if unknown:
        raise InvalidInput(f"assignment[{unknown[0]!r}]", "is not a job of the batch")
    left = np.ceil(pool.free).astype(np.int64)
    chosen = []
    for job, (rows, distance) in zip(jobs, candidates):
        if job.id not in assignment:
            chosen.append(None)
            continue
        row = pool.row_of.get(assignment[job.id])
        hit = np.flatnonzero(rows == row) if row is not None else np.empty(0, dtype=np.int64)
        if not hit.size:
            raise InvalidInput(f"assignment[{job.id}]", "expert does not pass the gates for this job")
        if left[row] <= 0:
            raise InvalidInput(f"assignment[{job.id}]", "expert has no capacity left for this job")
        left[row] -= 1
        chosen.append((row, float(distance[hit[0]])))
    return chosen


def assignment_cost(assignment, jobs, pool, policy, now, sla_penalty=1.0, exclude=None):
    """Total cost in minutes (ETA + SLA penalty, as in :func:`assign_batch`) of an assignment.

    Raises InvalidInput when an assigned expert fails a gate for the job or has no capacity left for it.
    """
    jobs, policies, exclude = _check(jobs, pool, policy, now, sla_penalty, None, exclude)
    total = 0.0
    candidates = _candidate_rows(jobs, policies, pool, now, None, exclude)
    for job, job_policy, chosen in zip(jobs, policies, _check_assignment(assignment, jobs, pool, candidates)):
        if chosen is not None:
            total += float(_arc_costs(job, job_policy, now, np.array([chosen[1]]), sla_penalty)[2][0])
    return total


def assignment_details(assignment, jobs, pool, policy, now, sla_penalty=1.0, exclude=None):
    """Per job id, what its assignment costs and why, for people to check before it is applied.

    A staffed job: ``{"expert_id", "distance_km", "eta_min", "late_min", "cost_min", "reasons"}`` where
    the figures are those the batch minimised (haversine distance) and ``reasons`` are the ranking's
    ``(code, params)`` reasons for that expert at that distance (:func:`crowd_dispatch.explain`). An unstaffed job:
    ``{"expert_id": None, "reasons": [...]}`` with ``("no_candidate", {"rejections": ...})`` when no
    expert passes its gates, else ``("candidates_taken", {"candidates": n})``: its n candidates went to
    other jobs. Raises InvalidInput like :func:`assignment_cost`.
    """
    jobs, policies, exclude = _check(jobs, pool, policy, now, sla_penalty, None, exclude)
    candidates = _candidate_rows(jobs, policies, pool, now, None, exclude)
    chosen_rows = _check_assignment(assignment, jobs, pool, candidates)
    details = {}
    for job, job_policy, chosen, (rows, _distance) in zip(jobs, policies, chosen_rows, candidates):
        if chosen is None:
            if rows.size:
                reasons = [("candidates_taken", {"candidates": int(rows.size)})]
            else:
                gated = evaluate(job, pool, job_policy, now, exclude.get(job.id, ()))
                reasons = [("no_candidate", {"rejections": dict(gated.rejections)})]
            details[job.id] = {"expert_id": None, "reasons": reasons}
            continue
        row, distance = chosen
        eta, late, cost = (float(a[0]) for a in _arc_costs(job, job_policy, now, np.array([distance]), sla_penalty))
        values, facts = criteria(job, pool, job_policy, now, np.array([row]), np.array([distance]))
        reasons = explain(_candidate(pool, row, distance, weight_vector(job_policy), values, facts, 0))
        details[job.id] = {
            "expert_id": pool.ids[row],
            "distance_km": distance,
            "eta_min": eta,
            "late_min": late,
            "cost_min": cost,
            "reasons": reasons,
        }
    return details
