"""Hard gates: each gate at its boundary, the rejection order and counts, and invariants (hypothesis)."""

from datetime import date, timedelta

import numpy as np
import pytest
from conftest import BASE_LAT, BASE_LON, T0, make_expert, make_job, north, open_policy, random_experts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crowd_dispatch import REASONS, Expert, ExpertPool, InvalidInput, Policy, PoolStep, Tier, evaluate
from crowd_dispatch.geo import haversine_km


def gate(experts, job=None, policy=None, now=T0, exclude=()):
    return evaluate(job or make_job(), ExpertPool.from_experts(experts), policy or open_policy(), now, exclude)


def passing_ids(result, experts):
    return [experts[row].id for row in result.index]


def only_reason(result, reason, count=1):
    """The rejections are exactly ``count`` for ``reason`` and zero elsewhere."""
    assert result.rejections == {r: (count if r == reason else 0) for r in REASONS}


# ---------------------------------------------------------------- certificates


@pytest.mark.parametrize(("days_after_expiry", "passes"), [(-1, True), (0, True), (1, False), (30, False)])
def test_certificate_boundary_day(days_after_expiry, passes):
    expiry = date(2026, 3, 2)
    expert = make_expert(certificates={"gas": expiry})
    job = make_job(certificates=("gas",), created_at=T0 - timedelta(days=60))
    now = T0 + timedelta(days=days_after_expiry)  # T0 is 2026-03-02 09:00
    result = gate([expert], job, now=now)
    assert (result.index.size == 1) is passes
    if not passes:
        only_reason(result, "certificate")


def test_certificate_last_minute_of_expiry_day_still_valid():
    expert = make_expert(certificates={"gas": date(2026, 3, 2)})
    result = gate([expert], make_job(certificates=("gas",)), now=T0.replace(hour=23, minute=59, second=59))
    assert result.index.tolist() == [0]


def test_missing_or_unknown_certificate_fails_and_check_can_be_disabled():
    experts = [make_expert(1, certificates={"gas": date(2027, 1, 1)}), make_expert(2)]
    result = gate(experts, make_job(certificates=("gas",)))
    assert passing_ids(result, experts) == [1]
    only_reason(result, "certificate")
    only_reason(gate(experts, make_job(certificates=("nuclear",))), "certificate", 2)
    assert gate(experts, make_job(certificates=("nuclear",)), open_policy(check_certificates=False)).index.size == 2


# ---------------------------------------------------------------- skills


def test_skill_levels():
    experts = [
        make_expert(1, skills={"hvac": 3}),
        make_expert(2, skills={"hvac": 2}),
        make_expert(3, skills={"elec": 5}),
        make_expert(4, skills={"hvac": 0}),
    ]
    result = gate(experts, make_job(skills={"hvac": 3}))
    assert passing_ids(result, experts) == [1]
    only_reason(result, "skill", 3)
    # Level 0 means "has the skill at all": the expert without it still fails.
    assert passing_ids(gate(experts, make_job(skills={"hvac": 0})), experts) == [1, 2, 4]
    assert passing_ids(gate(experts, make_job(skills={"hvac": 2, "elec": 1})), experts) == []


def test_unknown_skill_means_nobody_qualifies():
    experts = [make_expert(1), make_expert(2, skills={"hvac": 9})]
    result = gate(experts, make_job(skills={"quantum": 0}))
    assert result.index.size == 0
    only_reason(result, "skill", 2)


@pytest.mark.parametrize("code", ["", "  ", 3, None])
def test_non_string_skill_code_is_invalid(code):
    with pytest.raises(InvalidInput) as error:
        gate([make_expert()], make_job(skills={code: 1}))
    assert error.value.field == "job[J1].skills"


# ---------------------------------------------------------------- tier and pool cascade


def tiered_experts():
    return [make_expert(i, tier=tier) for i, tier in enumerate(Tier)]


def test_tier_order_and_min_tier():
    experts = tiered_experts()  # ids 0 first responder, 1 technician, 2 specialist
    assert passing_ids(gate(experts, make_job()), experts) == [0, 1, 2]
    result = gate(experts, make_job(min_tier="technician"))
    assert passing_ids(result, experts) == [1, 2]
    only_reason(result, "tier")
    assert passing_ids(gate(experts, make_job(min_tier=Tier.SPECIALIST)), experts) == [2]


def test_direct_specialist_policy_ignores_lower_tiers():
    experts = tiered_experts()
    result = gate(experts, make_job(), open_policy(tier_policy="direct_specialist"))
    assert passing_ids(result, experts) == [2]
    only_reason(result, "tier", 2)


def test_pool_opens_exactly_at_its_delay():
    experts = [make_expert(1, kind="employee"), make_expert(2, kind="partner"), make_expert(3, kind="freelance")]
    policy = open_policy(pools=(PoolStep("own", 0), PoolStep("partner", 10), PoolStep("crowd", 20)))
    at = {minutes: gate(experts, make_job(), policy, now=T0 + timedelta(minutes=minutes)) for minutes in (0, 10, 20)}
    assert passing_ids(at[0], experts) == [1]
    only_reason(at[0], "pool", 2)
    assert passing_ids(at[10], experts) == [1, 2]
    assert passing_ids(at[20], experts) == [1, 2, 3]
    one_second_early = gate(experts, make_job(), policy, now=T0 + timedelta(minutes=10, seconds=-1))
    assert passing_ids(one_second_early, experts) == [1]


def test_pool_not_in_policy_never_opens():
    experts = [make_expert(1, kind="employee"), make_expert(2, kind="freelance")]
    result = gate(experts, make_job(), open_policy(pools=(PoolStep("own", 0),)), now=T0 + timedelta(days=3))
    assert passing_ids(result, experts) == [1]


# ---------------------------------------------------------------- availability, capacity, rating, radius


def test_online_busy_and_windows():
    window = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    experts = [
        make_expert(1, online=False),
        make_expert(2, busy_until=T0 + timedelta(seconds=1)),
        make_expert(3, busy_until=T0),  # free again exactly now
        make_expert(4, windows=(window,)),
        make_expert(5, windows=((T0 - timedelta(hours=2), T0),)),  # window ended exactly now
        make_expert(6, windows=((T0 + timedelta(hours=1), T0 + timedelta(hours=2)), window)),
    ]
    result = gate(experts)
    assert passing_ids(result, experts) == [3, 4, 6]
    assert result.rejections["offline"] == 1
    assert result.rejections["busy"] == 1
    assert result.rejections["off_hours"] == 1
    assert result.rejections.total == 3


def test_capacity_and_rating():
    experts = [
        make_expert(1, capacity=2, load=1),
        make_expert(2, capacity=2, load=2),
        make_expert(3, capacity=0),
        make_expert(4, rating=4.49),
        make_expert(5, rating=4.5),
    ]
    result = gate(experts, policy=open_policy(min_rating=4.5))
    assert passing_ids(result, experts) == [5]
    assert (result.rejections["capacity"], result.rejections["rating"]) == (2, 2)
    # Expert 1 is only rejected by rating: without a minimum it passes.
    assert passing_ids(gate(experts), experts) == [1, 4, 5]


def test_radius_uses_the_smaller_of_expert_and_policy_limit():
    experts = [
        make_expert(1, lat=north(10.0), radius_km=9.9),
        make_expert(2, lat=north(10.0), radius_km=10.1),
        make_expert(3, lat=north(30.0), radius_km=100.0),
    ]
    result = gate(experts, policy=open_policy(max_radius_km=25.0))
    assert passing_ids(result, experts) == [2]
    only_reason(result, "radius", 2)
    assert result.distance_km == pytest.approx([10.0], abs=1e-6)
    assert passing_ids(gate(experts, policy=open_policy(max_radius_km=100.0)), experts) == [2, 3]


# ---------------------------------------------------------------- reasons, order, exclusion


def test_first_failing_reason_in_documented_order_and_counts_add_up():
    experts = [
        make_expert(1, skills={}, online=False, lat=north(200)),  # skill first
        make_expert(2, online=False, capacity=0),  # offline before capacity
        make_expert(3, capacity=0, lat=north(200)),  # capacity before radius
        make_expert(4, lat=north(200)),
        make_expert(5),
    ]
    result = gate(experts)
    assert list(result.rejections) == list(REASONS)
    assert {r: c for r, c in result.rejections.items() if c} == {"skill": 1, "offline": 1, "capacity": 1, "radius": 1}
    assert result.rejections.total + result.index.size == len(experts)
    assert result.rejections.describe() == "skill: 1, offline: 1, capacity: 1, radius: 1"
    assert result.mask.tolist() == [False, False, False, False, True]


def test_exclude_counts_first_and_ignores_unknown_ids():
    experts = [make_expert(1), make_expert(2, skills={})]
    result = gate(experts, exclude={2, 99})
    assert passing_ids(result, experts) == [1]
    only_reason(result, "excluded")


def test_empty_pool():
    result = gate([])
    assert result.index.size == 0 and result.rejections.total == 0
    assert result.rejections.describe() == "no expert rejected"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"lat": float("nan")}, "expert[1].lat"),
        ({"lat": 90.5}, "expert[1].lat"),
        ({"lon": -181}, "expert[1].lon"),
        ({"radius_km": -1}, "expert[1].radius_km"),
        ({"capacity": -1}, "expert[1].capacity"),
        ({"cost_per_job": -5}, "expert[1].cost_per_job"),
        ({"acceptance_rate": 1.5}, "expert[1].acceptance_rate"),
        ({"rating": 6}, "expert[1].rating"),
        ({"kind": "robot"}, "expert[1].kind"),
        ({"tier": "wizard"}, "expert[1].tier"),
    ],
)
def test_bad_expert_values_name_the_field(values, field):
    with pytest.raises(InvalidInput) as error:
        make_expert(1, **values)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("experts", "field"),
    [
        (["not an expert"], "experts[0]"),
        ([make_expert(1), make_expert(1)], "experts[1].id"),
        ([make_expert(1, skills={"": 2})], "expert[1].skills"),
        ([make_expert(1, certificates={7: date(2027, 1, 1)})], "expert[1].certificates"),
        ([make_expert(1, windows=((T0,),))], "expert[1].windows[0]"),
        ([make_expert(1, windows=((T0, T0 - timedelta(1)),))], "expert[1].windows[0]"),
        ([make_expert(1, windows=(("9:00", "17:00"),))], "expert[1].windows[0]"),
        ([make_expert(1, busy_until="later")], "expert[1].busy_until"),
    ],
)
def test_bad_pool_input_names_the_field(experts, field):
    with pytest.raises(InvalidInput) as error:
        ExpertPool.from_experts(experts)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("make_args", "field"),
    [
        (lambda: (make_job(lat=float("inf")),), "job[J1].lat"),
        (lambda: ("job",), "job"),
        (lambda: (make_job(), "pool"), "pool"),
        (lambda: (make_job(), None, "policy"), "policy"),
        (lambda: (make_job(), None, None, "2026-03-02"), "now"),
        (lambda: (make_job(certificates=("",)),), "job[J1].certificates"),
        (lambda: (make_job(min_tier="boss"),), "job[J1].min_tier"),
        (lambda: (make_job(sla_deadline=T0 - timedelta(1)),), "job[J1].sla_deadline"),
        (lambda: (make_job(), None, Policy(max_radius_km=-1)), "policy.max_radius_km"),
        (lambda: (make_job(), None, Policy(tier_policy="random")), "policy.tier_policy"),
        (lambda: (make_job(), None, Policy(pools=(PoolStep("moon"),))), "policy.pools.pool"),
    ],
)
def test_bad_gate_input_names_the_field(make_args, field):
    defaults = [None, ExpertPool.from_experts([make_expert()]), open_policy(), T0]
    with pytest.raises(InvalidInput) as error:
        args = list(make_args())
        args += defaults[len(args) :]
        args = [d if a is None else a for a, d in zip(args, defaults)]
        evaluate(*args)
    assert error.value.field == field


# ---------------------------------------------------------------- invariants (hypothesis)


def reference_passes(expert, job, policy, now):
    """Plain per-expert restatement of the gates (pools all open, tier policy ANY)."""
    day = now.date()
    limit = min(expert.radius_km, policy.max_radius_km)
    distance = float(haversine_km(job.lat, job.lon, np.array([expert.lat]), np.array([expert.lon]))[0])
    return (
        all(expert.skills.get(code, -1) >= level for code, level in job.skills.items())
        and all(code in expert.certificates and expert.certificates[code] >= day for code in job.certificates)
        and expert.online
        and (expert.busy_until is None or expert.busy_until <= now)
        and expert.load < expert.capacity
        and distance <= limit
    )


job_strategy = st.builds(
    make_job,
    created_at=st.just(T0 - timedelta(days=60)),
    lat=st.floats(BASE_LAT - 0.5, BASE_LAT + 0.5),
    lon=st.floats(BASE_LON - 0.7, BASE_LON + 0.7),
    skills=st.dictionaries(st.sampled_from(["hvac", "elec", "plumb", "lift"]), st.integers(0, 4), max_size=2),
    certificates=st.lists(st.sampled_from(["gas", "hv"]), max_size=2, unique=True),
)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(job=job_strategy, seed=st.integers(0, 10_000), days=st.integers(-40, 40), max_radius=st.floats(1, 120))
def test_gate_invariants(job, seed, days, max_radius):
    experts = random_experts(150, seed=seed, spread_km=60)
    now = T0 + timedelta(days=days)
    policy = open_policy(max_radius_km=max_radius)
    result = gate(experts, job, policy, now)
    passing = set(result.index.tolist())
    for row in passing:
        expert: Expert = experts[row]
        for code in job.certificates:
            assert expert.certificates[code] >= now.date()  # never an expired or missing certificate
        for code, level in job.skills.items():
            assert expert.skills[code] >= level  # never lacks a required skill or level
    distances = dict(zip(result.index.tolist(), result.distance_km.tolist()))
    for row, distance in distances.items():
        assert distance <= min(experts[row].radius_km, max_radius)  # never beyond radius
    assert passing == {row for row, e in enumerate(experts) if reference_passes(e, job, policy, now)}
    assert result.rejections.total + len(passing) == len(experts)


def test_cost_ceiling_gate():
    cheap = make_expert(1, cost_per_job=80)
    dear = make_expert(2, cost_per_job=120)
    pool = ExpertPool.from_experts([cheap, dear])
    result = evaluate(make_job(max_cost=100), pool, open_policy(), T0)
    assert [pool.ids[i] for i in result.index] == [1]
    assert result.rejections["cost"] == 1
    assert evaluate(make_job(), pool, open_policy(), T0).index.size == 2  # no ceiling, no gate
