"""Route planning: feasibility (windows, shifts, skills, capacity), optional visits, Solomon
parsing, urgent insertion from an existing plan, and bad input."""

import math
import os
from pathlib import Path

import pytest

from crowd_dispatch import InvalidInput
from crowd_dispatch.errors import DispatchError
from crowd_dispatch.routing import (
    RoutePlan,
    Stop,
    Technician,
    Visit,
    check_plan,
    insert_urgent,
    plan_routes,
    reoptimize,
)
from crowd_dispatch.solomon import best_known, read_instance

# the data folder beside the checkout (as CI lays it), or CROWD_VRPTW_DATA
SOLOMON = Path(
    os.environ.get("CROWD_VRPTW_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vrptw" / "solomon"
)


def grid_visits(n=12, window=(0, 600)):
    return [Visit(id=f"v{i}", x=(i % 4) * 10.0, y=(i // 4) * 10.0, service_min=15, window=window) for i in range(n)]


def test_plan_respects_windows_shifts_and_serves_everyone():
    visits = grid_visits()
    visits[3] = Visit(id="v3", x=30, y=0, service_min=15, window=(200, 220))
    techs = [Technician(id="a", x=0, y=0, shift=(0, 480)), Technician(id="b", x=30, y=20, shift=(60, 480))]
    plan = plan_routes(visits, techs, time_limit_s=1)
    assert check_plan(plan, visits, techs) == []
    assert plan.dropped == []
    served = [s.visit_id for stops in plan.routes.values() for s in stops]
    assert sorted(served) == sorted(v.id for v in visits)
    (stop,) = [s for stops in plan.routes.values() for s in stops if s.visit_id == "v3"]
    assert 200 <= stop.start <= 220
    assert all(s.start >= 60 for s in plan.routes["b"])


def test_skill_only_one_technician_has_goes_to_that_technician():
    visits = [*grid_visits(8), Visit(id="hv", x=0, y=0, service_min=10, skills={"hvac": 2})]
    techs = [
        Technician(id="a", x=0, y=0, skills={"hvac": 1}),  # level too low
        Technician(id="b", x=40, y=40, skills={"hvac": 3}),
        Technician(id="c", x=0, y=0),
    ]
    plan = plan_routes(visits, techs, time_limit_s=1)
    assert "hv" in [s.visit_id for s in plan.routes["b"]]
    assert check_plan(plan, visits, techs) == []


def test_optional_visit_that_cannot_fit_is_dropped_and_mandatory_kept():
    visits = [
        Visit(id="must", x=10, y=0, service_min=30, window=(0, 100)),
        Visit(id="maybe", x=500, y=0, service_min=30, window=(0, 100), optional=True, priority=3),
    ]
    techs = [Technician(id="a", x=0, y=0, shift=(0, 200))]
    plan = plan_routes(visits, techs, time_limit_s=1)
    assert plan.dropped == ["maybe"]
    assert [s.visit_id for s in plan.routes["a"]] == ["must"]
    assert check_plan(plan, visits, techs) == []


def test_capacity_dimension_splits_routes():
    visits = [Visit(id=i, x=i, y=0, demand=6) for i in range(1, 5)]
    techs = [Technician(id=k, x=0, y=0, capacity=12) for k in range(3)]
    plan = plan_routes(visits, techs, time_limit_s=1)
    assert all(sum(6 for _ in stops) <= 12 for stops in plan.routes.values())
    assert sum(1 for stops in plan.routes.values() if stops) == 2
    assert check_plan(plan, visits, techs) == []


def test_check_plan_reports_violations():
    visits = [Visit(id="x", x=100, y=0, window=(0, 50), skills={"fiber": 1})]
    techs = [Technician(id="a", x=0, y=0, shift=(0, 120))]
    bad = RoutePlan(routes={"a": [Stop("x", 100, 100)]}, dropped=[], distance=200)
    problems = check_plan(bad, visits, techs)
    assert any("lacks the skills" in p for p in problems)
    assert any("after its window ends" in p for p in problems)
    assert any("end of the shift" in p for p in problems)


def test_geographic_mode_uses_minutes_at_speed():
    visits = [Visit(id="v", x=46.95, y=7.55, service_min=30, window=(0, 600))]  # ~7.6 km east
    techs = [Technician(id="a", x=46.95, y=7.45)]
    plan = plan_routes(visits, techs, time_limit_s=1, geographic=True, speed_kmh=40)
    arrival = plan.routes["a"][0].arrival
    assert 7.6 * 1.3 / 40 * 60 * 0.95 < arrival < 7.6 * 1.3 / 40 * 60 * 1.05


def test_urgent_insertion_is_feasible_and_keeps_prior_visits():
    visits = grid_visits(12)
    techs = [Technician(id="a", x=0, y=0, shift=(0, 480)), Technician(id="b", x=30, y=20, shift=(0, 480))]
    plan = plan_routes(visits, techs, time_limit_s=1)
    before = plan.visit_order()
    urgent = Visit(id="u", x=15, y=5, service_min=20, window=(0, 120), priority=3)
    new = insert_urgent(plan, visits, techs, urgent)
    assert check_plan(new, [*visits, urgent], techs) == []
    (tech_id,) = [t for t, stops in new.routes.items() if "u" in [s.visit_id for s in stops]]
    after = new.visit_order()
    for t in before:
        assert [v for v in after[t] if v != "u"] == before[t], "prior visits keep technician and order"
    start = next(s.start for s in new.routes[tech_id] if s.visit_id == "u")
    assert start <= 120
    improved = reoptimize(new, [*visits, urgent], techs, time_limit_s=0.5)
    assert check_plan(improved, [*visits, urgent], techs) == []
    assert improved.distance <= new.distance + 1e-6


def test_urgent_insertion_without_a_feasible_position_raises():
    visits = grid_visits(4)
    techs = [Technician(id="a", x=0, y=0, shift=(0, 480))]
    plan = plan_routes(visits, techs, time_limit_s=1)
    with pytest.raises(DispatchError):
        insert_urgent(plan, visits, techs, Visit(id="u", x=1000, y=0, window=(0, 30)))
    with pytest.raises(DispatchError):
        insert_urgent(plan, visits, techs, Visit(id="u2", x=1, y=0, skills={"x": 1}))


@pytest.mark.skipif(not SOLOMON.exists(), reason=f"Solomon data not found at {SOLOMON}")
def test_solomon_c101_parses_and_solves_feasibly():
    name, visits, techs = read_instance(SOLOMON / "C101.txt")
    assert name == "C101" and len(visits) == 100 and len(techs) == 25
    assert techs[0].capacity == 200 and techs[0].shift == (0, 1236)
    assert visits[0].window == (912, 967) and visits[0].service_min == 90 and visits[0].demand == 10
    bks, vehicles = best_known(SOLOMON, "C101")
    assert (bks, vehicles) == (828.94, 10)
    plan = plan_routes(visits, techs, time_limit_s=2)
    assert check_plan(plan, visits, techs) == []
    assert plan.dropped == []
    assert bks - 0.01 <= plan.distance <= bks * 1.10


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Visit(id="v", x=0, y=0, service_min=-5), "visit[v].service_min"),
        (lambda: Visit(id="v", x=0, y=0, window=(50, 10)), "visit[v].window"),
        (lambda: Visit(id="v", x=math.nan, y=0), "visit[v].x"),
        (lambda: Technician(id="t", x=0, y=0, shift=(100, 0)), "technician[t].shift"),
        (lambda: Technician(id="t", x=0, y=0, capacity=-1), "technician[t].capacity"),
    ],
)
def test_bad_input_names_the_field(make, field):
    with pytest.raises(InvalidInput) as info:
        make()
    assert info.value.field == field


def test_duplicate_visit_ids_and_no_technician_are_refused():
    with pytest.raises(InvalidInput):
        plan_routes([Visit(id=1, x=0, y=0), Visit(id=1, x=1, y=1)], [Technician(id="a", x=0, y=0)])
    with pytest.raises(InvalidInput):
        plan_routes([Visit(id=1, x=0, y=0)], [])
