"""Batch assignment of many jobs at once, minimising total ETA plus SLA-risk penalty.

Each job may go to one of its K nearest experts that pass every hard gate (haversine
distance; geodesic would cost ~60 us per arc). Arc cost, in minutes:
``eta + sla_penalty * max(0, minutes late at arrival)``. The problem is a min-cost flow
(source -> job -> expert -> sink, expert slots = ceil(capacity - load)) solved by OR-Tools;
every job also has an "unassigned" arc priced above any chain of reassignments, so the
solver first staffs as many jobs as possible, then minimises cost.

:func:`assign_greedy` is the baseline: jobs in the given order, each takes its nearest
passing expert with capacity left.
"""

import math

import numpy as np
from ortools.graph.python import min_cost_flow

from .errors import DispatchError, InvalidInput
from .gates import (
    certificate_mask,
    check_inputs,
    pool_mask,
    rating_mask,
    skill_mask,
    tier_mask,
    window_mask,
    within_radius,
)
from .geo import eta_minutes
from .model import Job
from .pool import to_epoch

COST_SCALE = 60  # integer arc costs in seconds


def _check(jobs, pool, policy, now, sla_penalty, k):
    jobs = list(jobs)
    seen = set()
    for i, job in enumerate(jobs):
        if not isinstance(job, Job):
            raise InvalidInput(f"jobs[{i}]", f"must be a Job, got {type(job).__name__}")
        if job.id in seen:
            raise InvalidInput(f"jobs[{i}].id", f"duplicate job id {job.id!r}")
        seen.add(job.id)
        check_inputs(job, pool, policy, now)
    if not isinstance(sla_penalty, int | float) or isinstance(sla_penalty, bool) or not sla_penalty >= 0:
        raise InvalidInput("sla_penalty", f"must be a non-negative number, got {sla_penalty!r}")
    if not math.isfinite(sla_penalty):
        raise InvalidInput("sla_penalty", f"must be finite, got {sla_penalty!r}")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
        raise InvalidInput("k", f"must be an int >= 1, got {k!r}")
    return jobs


def _and(*masks):
    result = None
    for mask in masks:
        if mask is not None:
            result = mask.copy() if result is None else np.logical_and(result, mask, out=result)
    return result


def candidate_arcs(jobs, pool, policy, now, sla_penalty=1.0, k=20):
    """Per job, (rows, cost_min) of its ``k`` nearest passing experts (all when k is None), nearest first.

    Masks that depend only on the job's requirements are computed once per distinct requirement.
    """
    now_epoch = to_epoch(now)
    static = _and(pool.online, pool.busy_until <= now_epoch, window_mask(pool, now), pool.free > 0)
    static = _and(static, rating_mask(pool, policy))
    cache = {}
    arcs = []
    for job in jobs:
        pools = pool_mask(job, pool, policy, now)
        key = (
            tuple(sorted(job.skills.items())),
            tuple(sorted(job.certificates)),
            job.min_tier,
            None if pools is None else pools.tobytes(),
        )
        if key not in cache:
            mask = _and(static, pools, tier_mask(job, pool, policy), skill_mask(job, pool))
            mask = _and(mask, certificate_mask(job, pool, policy, now))
            cache[key] = np.flatnonzero(mask) if mask is not None else np.arange(pool.size)
        rows, distance = within_radius(job, pool, policy, cache[key])
        if k is not None and rows.size > k:
            nearest = np.argpartition(distance, k - 1)[:k]
            rows, distance = rows[nearest], distance[nearest]
        order = np.lexsort((rows, distance))
        rows, distance = rows[order], distance[order]
        eta = eta_minutes(distance, policy.speed_kmh, policy.road_factor)
        late = np.maximum(0.0, (now_epoch - to_epoch(job.sla_deadline)) / 60.0 + eta)
        arcs.append((rows, eta + sla_penalty * late))
    return arcs


def _add_arcs(flow, tails, heads, capacities, costs):
    as_int = [np.asarray(a).astype(np.int64) for a in (tails, heads, capacities, costs)]
    return flow.add_arcs_with_capacity_and_unit_cost(*as_int)


def assign_batch(jobs, pool, policy, now, sla_penalty=1.0, k=20):
    """Assign ``jobs`` to experts optimally (min-cost flow); return {job_id: expert_id} of staffed jobs.

    ``sla_penalty``: cost minutes per minute of expected lateness. ``k``: candidate experts per job.
    """
    jobs = _check(jobs, pool, policy, now, sla_penalty, k)
    arcs = candidate_arcs(jobs, pool, policy, now, sla_penalty, k)
    if not jobs:
        return {}
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


def assign_greedy(jobs, pool, policy, now, sla_penalty=1.0):
    """Baseline: jobs in order, each to its nearest passing expert with capacity left."""
    jobs = _check(jobs, pool, policy, now, sla_penalty, None)
    left = np.ceil(pool.free).astype(np.int64)
    assignment = {}
    for job, (rows, _) in zip(jobs, candidate_arcs(jobs, pool, policy, now, sla_penalty, None)):
        free_rows = rows[left[rows] > 0]
        if free_rows.size:
            left[free_rows[0]] -= 1
            assignment[job.id] = pool.ids[free_rows[0]]
    return assignment


def assignment_cost(assignment, jobs, pool, policy, now, sla_penalty=1.0):
    """Total cost in minutes (ETA + SLA penalty, as in :func:`assign_batch`) of an assignment."""
    jobs = _check(jobs, pool, policy, now, sla_penalty, None)
    total = 0.0
    for job, (rows, cost) in zip(jobs, candidate_arcs(jobs, pool, policy, now, sla_penalty, None)):
        if job.id in assignment:
            hit = np.flatnonzero(rows == pool.row_of[assignment[job.id]])
            if not hit.size:
                raise InvalidInput(f"assignment[{job.id}]", "expert does not pass the gates for this job")
            total += float(cost[hit[0]])
    return total
