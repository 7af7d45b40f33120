"""Batch assignment: optimal against greedy, capacity, gates, SLA penalty, bad input."""

from collections import Counter
from datetime import timedelta

import pytest
from conftest import T0, make_expert, make_job, north, open_policy, random_experts

from crowd_dispatch import (
    ExpertPool,
    InvalidInput,
    assign_batch,
    assign_greedy,
    assignment_cost,
    assignment_details,
    evaluate,
)


def pool_of(*experts):
    return ExpertPool.from_experts(experts)


def test_batch_beats_greedy_on_a_crafted_line():
    # On one meridian: J1 at 0 km, J2 at 3 km; E1 at 1 km, E2 at -5 km.
    # Greedy: J1 takes E1 (1 km), J2 gets E2 (8 km) = 9 km. Optimal: J1-E2 (5), J2-E1 (2) = 7 km.
    pool = pool_of(make_expert("E1", lat=north(1)), make_expert("E2", lat=north(-5)))
    jobs = [make_job("J1"), make_job("J2", lat=north(3))]
    policy = open_policy()
    greedy = assign_greedy(jobs, pool, policy, T0)
    batch = assign_batch(jobs, pool, policy, T0)
    assert greedy == {"J1": "E1", "J2": "E2"}
    assert batch == {"J1": "E2", "J2": "E1"}
    km = 1.3 / 40 * 60  # minutes per km of great-circle distance
    assert assignment_cost(greedy, jobs, pool, policy, T0) == pytest.approx(9 * km, rel=1e-6)
    assert assignment_cost(batch, jobs, pool, policy, T0) == pytest.approx(7 * km, rel=1e-6)


def test_batch_staffs_more_jobs_than_greedy():
    # J1 can use either expert; J2 only E1 (skill). Greedy gives E1 to J1 and leaves J2 unstaffed.
    pool = pool_of(make_expert("E1", skills={"hvac": 2, "elec": 2}), make_expert("E2", lat=north(10)))
    jobs = [make_job("J1"), make_job("J2", skills={"elec": 1})]
    assert assign_greedy(jobs, pool, open_policy(), T0) == {"J1": "E1"}
    assert assign_batch(jobs, pool, open_policy(), T0) == {"J1": "E2", "J2": "E1"}


def test_capacity_minus_load_is_respected():
    pool = pool_of(make_expert("E1", capacity=3, load=1), make_expert("E2", capacity=1, lat=north(30)))
    jobs = [make_job(f"J{i}", lat=north(i * 0.1)) for i in range(5)]
    result = assign_batch(jobs, pool, open_policy(), T0)
    assert Counter(result.values()) == {"E1": 2, "E2": 1}
    assert len(assign_greedy(jobs, pool, open_policy(), T0)) == 3


def test_random_instance_respects_capacity_and_gates_and_is_no_worse_than_greedy():
    experts = random_experts(400, seed=3, spread_km=40)
    pool = ExpertPool.from_experts(experts)
    jobs = [make_job(f"J{i}", lat=north((i % 20) - 10), skills={"hvac": i % 3}) for i in range(120)]
    policy = open_policy()
    batch = assign_batch(jobs, pool, policy, T0, k=400)
    greedy = assign_greedy(jobs, pool, policy, T0)
    for expert_id, count in Counter(batch.values()).items():
        expert = experts[expert_id]
        assert count <= expert.capacity - expert.load
    for job in jobs:
        if job.id in batch:
            assert pool.row_of[batch[job.id]] in evaluate(job, pool, policy, T0).index
    assert len(batch) >= len(greedy)
    if len(batch) == len(greedy):
        batch_cost = assignment_cost(batch, jobs, pool, policy, T0)
        assert batch_cost <= assignment_cost(greedy, jobs, pool, policy, T0) + 1e-6


def test_sla_penalty_gives_the_near_expert_to_the_urgent_job():
    pool = pool_of(make_expert("near", lat=north(1)), make_expert("far", lat=north(20)))
    relaxed = make_job("relaxed", sla_deadline=T0 + timedelta(hours=4))
    urgent = make_job("urgent", sla_deadline=T0 + timedelta(minutes=5))
    for jobs in ([relaxed, urgent], [urgent, relaxed]):
        assert assign_batch(jobs, pool, open_policy(), T0, sla_penalty=2.0) == {"urgent": "near", "relaxed": "far"}
    penalised = assignment_cost({"urgent": "far", "relaxed": "near"}, [relaxed, urgent], pool, open_policy(), T0)
    eta_far, eta_near = 20 * 1.3 / 40 * 60, 1 * 1.3 / 40 * 60
    assert penalised == pytest.approx(eta_far + eta_near + 1.0 * (eta_far - 5), rel=1e-6)


def test_k_limits_candidates_per_job():
    pool = pool_of(*(make_expert(i, lat=north(i)) for i in range(5)))
    jobs = [make_job("J1"), make_job("J2")]
    only_nearest = assign_batch(jobs, pool, open_policy(), T0, k=1)  # both jobs want expert 0 only
    assert len(only_nearest) == 1 and set(only_nearest.values()) == {0}
    two_nearest = assign_batch(jobs, pool, open_policy(), T0, k=2)
    assert sorted(two_nearest) == ["J1", "J2"] and sorted(two_nearest.values()) == [0, 1]


def test_empty_inputs():
    assert assign_batch([], pool_of(make_expert()), open_policy(), T0) == {}
    assert assign_batch([make_job()], pool_of(), open_policy(), T0) == {}
    assert assign_greedy([make_job()], pool_of(), open_policy(), T0) == {}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sla_penalty": -1}, "sla_penalty"),
        ({"sla_penalty": float("nan")}, "sla_penalty"),
        ({"sla_penalty": float("inf")}, "sla_penalty"),
        ({"sla_penalty": "high"}, "sla_penalty"),
        ({"k": 0}, "k"),
        ({"k": 1.5}, "k"),
        ({"jobs": [make_job("A"), make_job("A")]}, "jobs[1].id"),
        ({"jobs": ["A"]}, "jobs[0]"),
        ({"jobs": [make_job(skills={None: 1})]}, "job[J1].skills"),
        ({"now": "today"}, "now"),
    ],
)
def test_bad_input(kwargs, field):
    args = {"jobs": [make_job()], "pool": pool_of(make_expert()), "policy": open_policy(), "now": T0}
    args.update(kwargs)
    with pytest.raises(InvalidInput) as error:
        assign_batch(**args)
    assert error.value.field == field


def test_cost_of_an_assignment_outside_the_gates_is_invalid():
    pool = pool_of(make_expert("E1"), make_expert("E2", online=False))
    with pytest.raises(InvalidInput) as error:
        assignment_cost({"J1": "E2"}, [make_job()], pool, open_policy(), T0)
    assert error.value.field == "assignment[J1]"


def test_cost_ceiling_is_a_gate_of_the_batch():
    # the near expert costs more than the job's ceiling: the batch, greedy and the cost all leave him out
    pool = pool_of(make_expert("dear", lat=north(1), cost_per_job=150.0), make_expert("cheap", lat=north(5)))
    jobs = [make_job("J1", max_cost=100.0)]
    assert assign_batch(jobs, pool, open_policy(), T0) == {"J1": "cheap"}
    assert assign_greedy(jobs, pool, open_policy(), T0) == {"J1": "cheap"}
    with pytest.raises(InvalidInput):
        assignment_cost({"J1": "dear"}, jobs, pool, open_policy(), T0)


def test_one_policy_per_job_shares_the_experts():
    # J1's rule allows 3 km, J2's 50 km: the near expert must go to J1, although J2 is next to him too
    pool = pool_of(make_expert("near", lat=north(1)), make_expert("far", lat=north(20)))
    jobs = [make_job("J2", lat=north(1)), make_job("J1")]
    policies = [open_policy(max_radius_km=50.0), open_policy(max_radius_km=3.0)]
    assert assign_batch(jobs, pool, policies, T0) == {"J1": "near", "J2": "far"}
    assert assign_greedy(jobs, pool, policies, T0) == {"J2": "near"}, "first come: J2 takes the only one J1 has"
    with pytest.raises(InvalidInput) as error:
        assign_batch(jobs, pool, policies[:1], T0)
    assert error.value.field == "policy"
    with pytest.raises(InvalidInput) as error:
        assign_batch(jobs, pool, [policies[0], "any"], T0)
    assert error.value.field == "policy[1]"


def test_exclude_keeps_an_expert_off_one_job_only():
    pool = pool_of(make_expert("E1", lat=north(1)), make_expert("E2", lat=north(3)))
    jobs = [make_job("J1"), make_job("J2", lat=north(10))]
    result = assign_batch(jobs, pool, open_policy(), T0, exclude={"J1": ["E1"]})
    assert result == {"J1": "E2", "J2": "E1"}
    with pytest.raises(InvalidInput) as error:
        assign_batch(jobs, pool, open_policy(), T0, exclude={"J9": ["E1"]})
    assert error.value.field == "exclude['J9']"


def test_assignment_cost_counts_capacity():
    pool = pool_of(make_expert("E1", capacity=1))
    jobs = [make_job("J1"), make_job("J2")]
    with pytest.raises(InvalidInput) as error:
        assignment_cost({"J1": "E1", "J2": "E1"}, jobs, pool, open_policy(), T0)
    assert error.value.field == "assignment[J2]"


def test_assignment_details_say_what_and_why():
    pool = pool_of(make_expert("E1", lat=north(2), rating=4.8), make_expert("E2", lat=north(1), online=False))
    jobs = [make_job("J1"), make_job("J2", lat=north(0.5)), make_job("J3", skills={"lift": 1})]
    batch = assign_batch(jobs, pool, open_policy(), T0)
    assert list(batch.values()) == ["E1"], "one expert online, with room for one job"
    details = assignment_details(batch, jobs, pool, open_policy(), T0)
    staffed = details[next(iter(batch))]
    assert staffed["expert_id"] == "E1"
    assert staffed["cost_min"] == pytest.approx(staffed["eta_min"])  # well before the SLA deadline: no penalty
    assert sum(d.get("cost_min", 0.0) for d in details.values()) == pytest.approx(
        assignment_cost(batch, jobs, pool, open_policy(), T0)
    )
    codes = [code for code, _params in staffed["reasons"]]
    assert "rating_top" in codes and "tier_pool" in codes
    unstaffed = [job_id for job_id in ("J1", "J2") if job_id not in batch]
    assert details[unstaffed[0]] == {"expert_id": None, "reasons": [("candidates_taken", {"candidates": 1})]}
    code, params = details["J3"]["reasons"][0]
    assert code == "no_candidate" and params["rejections"]["skill"] == 2
