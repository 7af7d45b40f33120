"""Supply levers (moonshot): standby calls and relocation of idle own technicians, engine and simulator."""

from datetime import timedelta

import pytest
from conftest import BASE_LAT, BASE_LON, T0, make_expert, make_job, north

from crowd_dispatch import ExpertPool, InvalidInput
from crowd_dispatch.simulate import simulate
from crowd_dispatch.supply import SupplySettings, relocations, shortage, standby_calls, supply_settings_table

ON = SupplySettings(standby=True, relocate=True)


def urgent_job(job_id="U1", **values):
    return make_job(job_id, priority=3, sla_deadline=T0 + timedelta(hours=1), **values)


def test_settings_are_off_by_default_bounded_and_documented():
    settings = SupplySettings()
    assert not settings.standby and not settings.relocate
    assert {row["name"] for row in supply_settings_table()} >= {"standby", "relocate", "standby_premium_hours"}
    assert all(row["doc"] for row in supply_settings_table())
    for bad in ({"standby_free_share_below": 1.5}, {"standby_max_open_calls": 0}, {"relocate": 1}):
        with pytest.raises(InvalidInput) as info:
            SupplySettings(**bad)
        assert info.value.field == f"supply.{next(iter(bad))}"


def test_shortage_from_the_queue_or_the_free_share():
    assert shortage(0.5, [urgent_job()], ON)
    assert not shortage(0.5, [make_job(priority=1)], ON)
    assert shortage(0.1, [], ON)
    assert not shortage(0.1, [], SupplySettings(standby=True, standby_free_share_below=0.0))


def test_standby_calls_the_nearest_qualified_experts_for_the_waiting_urgent_jobs():
    job = urgent_job()
    near = make_expert(1, lat=north(2), online=False)
    far = make_expert(2, lat=north(20), online=False)
    unqualified = make_expert(3, lat=north(1), online=False, skills={"fiber": 1})
    candidates = [far, unqualified, near]
    assert standby_calls(0.5, [job], candidates, SupplySettings()) == []  # off
    assert standby_calls(0.5, [], candidates, ON) == []  # no shortage
    assert standby_calls(0.5, [job], candidates, ON) == [1]  # one call per waiting urgent job
    two = [job, urgent_job("U2", lat=north(19))]
    assert standby_calls(0.5, two, candidates, ON) == [2, 1]  # expert 2 is 1 km from the second job
    assert standby_calls(0.5, two, candidates, ON, open_calls=ON.standby_max_open_calls - 1) == [2]
    assert standby_calls(0.5, two, candidates, ON, calls_today=ON.standby_max_calls_per_day) == []


def test_an_idle_technician_moves_toward_the_gap_and_only_when_it_pays():
    now = T0
    here = make_expert(1)  # idle at the base
    other = make_expert(2, lat=north(1))  # another free expert near the base
    pool = ExpertPool.from_experts([here, other])
    gap = [(north(10), BASE_LON)] * 5 + [(north(0.5), BASE_LON)]  # most demand 10 km north, nobody there
    moves = relocations(pool, now, [1], gap, ON)
    assert [(m[0], round(m[1], 4)) for m in moves] == [(1, round(north(10), 4))]
    assert relocations(pool, now, [1], gap, SupplySettings()) == []
    assert relocations(pool, now, [1], gap, SupplySettings(relocate=True, relocate_max_km=5)) == []
    covered = [(BASE_LAT, BASE_LON)] * 3 + [(north(1), BASE_LON)] * 3  # demand where the experts already are
    assert relocations(pool, now, [1], covered, ON) == []


SMALL = {
    "name": "small",
    "seed": 3,
    "duration_hours": 4,
    "region": {"center": [46.95, 7.45], "radius_km": 20},
    "skills": ["router", "fiber"],
    "experts": {"count": 40, "skills_per_expert": [1, 2], "mix": {"employee": 0.5, "partner": 0.2, "freelance": 0.3}},
    "demand": {"jobs_per_hour": 14, "urgent_share": 0.6, "skills_per_job": [1, 1]},
}


def test_simulated_supply_levers_are_counted_and_off_changes_nothing():
    plain = simulate(SMALL, "ours")
    assert simulate(SMALL, "ours", supply=SupplySettings()) == plain
    assert plain["standby_calls"] == plain["relocations"] == 0
    levers = simulate(SMALL, "ours", supply=ON)
    assert levers["standby_calls"] > 0 and levers["relocations"] > 0
    assert 0 < levers["standby_arrivals"] <= levers["standby_calls"]
    assert levers["standby_premium"] == levers["standby_arrivals"] * ON.standby_premium_hours * 60
    assert levers["standby_extra_hours"] > 0 and levers["relocation_km"] > 0
    assert simulate(SMALL, "nearest", supply=ON)["standby_calls"] == 0  # the levers are ours'
    with pytest.raises(InvalidInput):
        simulate(SMALL, "ours", supply={"standby": True})
