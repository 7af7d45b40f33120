"""Route planning: feasibility (windows, shifts, skills, capacity), home bases, optional visits and
why they were left out, plans that break a constraint raising instead of being returned (R112),
Solomon parsing, urgent insertion from an existing plan, and bad input."""

import itertools
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crowd_dispatch import InvalidInput, routing
from crowd_dispatch.errors import DispatchError
from crowd_dispatch.routing import (
    NO_ROOM,
    NO_SKILLED_TECHNICIAN,
    OUT_OF_REACH,
    InfeasiblePlan,
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
    plan = plan_routes(visits, techs, time_limit_s=1, max_no_improvement=1000)
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
    plan = plan_routes(visits, techs, time_limit_s=1, max_no_improvement=1000)
    assert "hv" in [s.visit_id for s in plan.routes["b"]]
    assert check_plan(plan, visits, techs) == []


def test_optional_visit_that_cannot_fit_is_dropped_and_mandatory_kept():
    visits = [
        Visit(id="must", x=10, y=0, service_min=30, window=(0, 100)),
        Visit(id="maybe", x=500, y=0, service_min=30, window=(0, 100), optional=True, priority=3),
    ]
    techs = [Technician(id="a", x=0, y=0, shift=(0, 200))]
    plan = plan_routes(visits, techs, time_limit_s=1, max_no_improvement=1000)
    assert plan.dropped == ["maybe"]
    assert plan.reasons == {"maybe": OUT_OF_REACH}
    assert [s.visit_id for s in plan.routes["a"]] == ["must"]
    assert check_plan(plan, visits, techs) == []


def test_capacity_dimension_splits_routes():
    visits = [Visit(id=i, x=i, y=0, demand=6) for i in range(1, 5)]
    techs = [Technician(id=k, x=0, y=0, capacity=12) for k in range(3)]
    plan = plan_routes(visits, techs, time_limit_s=1, max_no_improvement=1000)
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
    plan = plan_routes(visits, techs, time_limit_s=1, geographic=True, speed_kmh=40, max_no_improvement=1000)
    arrival = plan.routes["a"][0].arrival
    assert 7.6 * 1.3 / 40 * 60 * 0.95 < arrival < 7.6 * 1.3 / 40 * 60 * 1.05


def test_urgent_insertion_is_feasible_and_keeps_prior_visits():
    visits = grid_visits(12)
    techs = [Technician(id="a", x=0, y=0, shift=(0, 480)), Technician(id="b", x=30, y=20, shift=(0, 480))]
    plan = plan_routes(visits, techs, time_limit_s=1, max_no_improvement=1000)
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
    plan = plan_routes(visits, techs, time_limit_s=1, max_no_improvement=1000)
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


def test_skills_restrict_technicians_across_many_visits():
    """Site-dependent VRP: each visit needs one of three skills, each technician has one or two."""
    skills = ["hvac", "fiber", "router"]
    visits = [
        Visit(id=f"v{i}", x=(i * 7) % 40, y=(i * 13) % 40, service_min=10, skills={skills[i % 3]: 1}) for i in range(24)
    ]
    techs = [
        Technician(id="hf", x=0, y=0, skills={"hvac": 1, "fiber": 1}),
        Technician(id="r", x=40, y=40, skills={"router": 2}),
        Technician(id="f", x=0, y=40, skills={"fiber": 1}),
        Technician(id="rh", x=40, y=0, skills={"router": 1, "hvac": 1}),
    ]
    plan = plan_routes(visits, techs, time_limit_s=0.5)
    assert check_plan(plan, visits, techs) == []
    assert plan.dropped == []
    by_id = {v.id: v for v in visits}
    tech_of = {t.id: t for t in techs}
    for tech_id, stops in plan.routes.items():
        for stop in stops:
            assert tech_of[tech_id].can_do(by_id[stop.visit_id]), (tech_id, stop.visit_id)


def test_home_bases_are_depots_and_routes_end_at_home():
    """Two technicians 1000 units apart each serve the cluster at their own home base."""
    west = [Visit(id=f"w{i}", x=float(i), y=1.0, service_min=5) for i in range(5)]
    east = [Visit(id=f"e{i}", x=1000.0 + i, y=1.0, service_min=5) for i in range(5)]
    techs = [Technician(id="west", x=0, y=0), Technician(id="east", x=1000, y=0)]
    plan = plan_routes([*west, *east], techs, time_limit_s=0.5)
    assert check_plan(plan, [*west, *east], techs) == []
    assert {s.visit_id for s in plan.routes["west"]} == {v.id for v in west}
    assert {s.visit_id for s in plan.routes["east"]} == {v.id for v in east}
    # out along y=1 and back home: 1 + 4 + sqrt(17) per technician
    assert plan.distance == pytest.approx(2 * (1 + 4 + math.sqrt(17)), rel=1e-9)


def test_identical_technicians_each_get_at_most_one_route():
    """Technicians alike (base, shift, skills) share one PyVRP vehicle type; each still gets its own route."""
    visits = [Visit(id=i, x=10.0 * i, y=0.0, service_min=50, window=(0, 200)) for i in range(1, 7)]
    techs = [Technician(id=f"t{k}", x=0, y=0, shift=(0, 300)) for k in range(4)]
    plan = plan_routes(visits, techs, time_limit_s=0.5)
    assert check_plan(plan, visits, techs) == []
    assert set(plan.routes) == {t.id for t in techs}
    served = [s.visit_id for stops in plan.routes.values() for s in stops]
    assert sorted(served) == list(range(1, 7))


def test_dropped_optional_visits_say_why():
    visits = [
        Visit(id="nobody", x=1, y=0, skills={"crane": 1}, optional=True),
        Visit(id="far", x=10_000, y=0, window=(0, 100), optional=True),
        Visit(id="first", x=10, y=0, service_min=60, window=(0, 60), optional=True, priority=3),
        Visit(id="second", x=-10, y=0, service_min=60, window=(0, 60), optional=True, priority=1),
    ]
    techs = [Technician(id="a", x=0, y=0, shift=(0, 200))]
    plan = plan_routes(visits, techs, time_limit_s=0.5)
    assert check_plan(plan, visits, techs) == []
    assert [s.visit_id for s in plan.routes["a"]] == ["first"], "the higher priority wins the only slot"
    assert plan.reasons == {"nobody": NO_SKILLED_TECHNICIAN, "far": OUT_OF_REACH, "second": NO_ROOM}


def test_mandatory_visit_nobody_can_serve_is_an_error_not_a_plan():
    visits = [*grid_visits(3), Visit(id="crane", x=1, y=1, skills={"crane": 1})]
    techs = [Technician(id="a", x=0, y=0)]
    with pytest.raises(InfeasiblePlan) as info:
        plan_routes(visits, techs, time_limit_s=0.5)
    (violation,) = info.value.violations
    assert violation.code == "mandatory_unservable"
    assert violation.params == {"visit": "crane", "reason": NO_SKILLED_TECHNICIAN}
    assert "crane" in str(info.value)


def test_mandatory_visits_that_do_not_fit_together_raise():
    """Each fits alone, not both: PyVRP's best is infeasible, and that is an error, not a plan."""
    visits = [
        Visit(id="x", x=10, y=0, service_min=60, window=(0, 60)),
        Visit(id="y", x=-10, y=0, service_min=60, window=(0, 60)),
    ]
    techs = [Technician(id="a", x=0, y=0, shift=(0, 200))]
    with pytest.raises(InfeasiblePlan) as info:
        plan_routes(visits, techs, time_limit_s=0.3)
    assert {v.code for v in info.value.violations} & {"window_missed", "shift_overrun", "mandatory_dropped"}


def test_check_plan_violations_carry_codes_and_params():
    visits = [Visit(id="x", x=100, y=0, window=(0, 50), skills={"fiber": 1}), Visit(id="m", x=1, y=0)]
    techs = [Technician(id="a", x=0, y=0, shift=(0, 120))]
    bad = RoutePlan(routes={"a": [Stop("x", 100, 100), Stop("x", 0, 0)], "ghost": []}, dropped=["m"], distance=0)
    codes = {v.code: v.params for v in check_plan(bad, visits, techs)}
    assert set(codes) == {
        "unknown_technician",
        "missing_skill",
        "window_missed",
        "served_twice",
        "shift_overrun",
        "mandatory_dropped",
    }
    assert codes["window_missed"]["visit"] == "x" and codes["window_missed"]["window_end"] == 50
    assert codes["mandatory_dropped"] == {"visit": "m"}


def test_reoptimize_improves_a_poor_plan_and_never_returns_a_worse_one(monkeypatch):
    visits = grid_visits(12)
    at = {v.id: (v.x, v.y) for v in visits}
    techs = [Technician(id="a", x=0, y=0, shift=(0, 600))]
    zigzag = [f"v{i}" for i in (0, 11, 1, 10, 2, 9, 3, 8, 4, 7, 5, 6)]
    points = [(0, 0), *(at[v] for v in zigzag), (0, 0)]
    zigzag_distance = sum(math.dist(a, b) for a, b in itertools.pairwise(points))
    poor = RoutePlan(routes={"a": [Stop(v, 0, 0) for v in zigzag]}, dropped=[], distance=zigzag_distance)
    better = reoptimize(poor, visits, techs, time_limit_s=0.5)
    assert check_plan(better, visits, techs) == []
    assert better.distance == pytest.approx(120), "a Hamiltonian cycle of the 4x3 grid, 10 apart"

    # a solver run that comes back worse is not taken: the given plan is returned, rescheduled
    monkeypatch.setattr(routing, "plan_routes", lambda *args, **kwargs: poor)
    kept = reoptimize(better, visits, techs, time_limit_s=0.1)
    assert kept.visit_order() == better.visit_order()
    assert kept.distance == pytest.approx(120)


def test_reoptimize_refuses_a_plan_that_breaks_a_constraint():
    visits = [Visit(id="x", x=100, y=0, window=(0, 50))]
    techs = [Technician(id="a", x=0, y=0, shift=(0, 600))]
    broken = RoutePlan(routes={"a": [Stop("x", 100, 100)]}, dropped=[], distance=200)
    with pytest.raises(InfeasiblePlan) as info:
        reoptimize(broken, visits, techs, time_limit_s=0.2)
    assert [v.code for v in info.value.violations] == ["window_missed"]


def test_warm_start_with_an_unknown_technician_is_refused():
    visits = grid_visits(3)
    with pytest.raises(InvalidInput) as info:
        plan_routes(visits, [Technician(id="a", x=0, y=0)], time_limit_s=0.2, initial={"zz": ["v0"]})
    assert info.value.field == "initial"


@pytest.mark.skipif(not SOLOMON.exists(), reason=f"Solomon data not found at {SOLOMON}")
def test_r112_plan_is_feasible_in_real_numbers():
    """R112 is where the former OR-Tools setting returned a plan that broke the instance's constraints."""
    _, visits, techs = read_instance(SOLOMON / "R112.txt")
    plan = plan_routes(visits, techs, time_limit_s=1.5)
    assert check_plan(plan, visits, techs) == []
    assert plan.dropped == []
    bks, _ = best_known(SOLOMON, "R112")
    assert bks - 0.01 <= plan.distance <= bks * 1.10


@pytest.mark.skipif(not SOLOMON.exists(), reason=f"Solomon data not found at {SOLOMON}")
def test_r112_solver_result_that_breaks_a_constraint_is_never_returned(monkeypatch):
    """If the solver hands back routes that break R112's windows, plan_routes raises instead."""
    _, visits, techs = read_instance(SOLOMON / "R112.txt")
    orders = routing._PyvrpModel.orders

    def reversed_orders(self, solution):
        return {tech: nodes[::-1] for tech, nodes in orders(self, solution).items()}

    monkeypatch.setattr(routing._PyvrpModel, "orders", reversed_orders)
    with pytest.raises(InfeasiblePlan) as info:
        plan_routes(visits, techs, time_limit_s=0.3)
    assert any(v.code == "window_missed" for v in info.value.violations)
    assert "no feasible plan" in str(info.value)


def test_replan_from_where_the_technician_is_ends_at_home():
    """A technician who finished a stop at (100, 0) at minute 200 resumes from there and returns home."""
    visits = [Visit(id="near", x=100, y=10, service_min=10), Visit(id="home", x=0, y=10, service_min=10)]
    resumed = Technician(id="a", x=0, y=0, shift=(200, 600), start=(100, 0))
    plan = plan_routes(visits, [resumed], time_limit_s=0.3, max_no_improvement=500)
    assert check_plan(plan, visits, [resumed]) == []
    assert [s.visit_id for s in plan.routes["a"]] == ["near", "home"]
    assert plan.routes["a"][0].arrival == pytest.approx(210)
    assert plan.distance == pytest.approx(10 + 100 + 10)
    late = Technician(id="a", x=0, y=0, shift=(200, 320), start=(100, 0))  # 210 + 10 + 100 + 10 + 10 = 340
    with pytest.raises(InfeasiblePlan) as info:
        plan_routes(visits, [late], time_limit_s=0.3, max_no_improvement=500)
    assert {v.code for v in info.value.violations} <= {"shift_overrun", "window_missed", "mandatory_unservable"}


def test_locked_visit_stays_with_its_technician():
    """A stop locked to "far" is served by "far" even though "near" is next door and free."""
    visits = [Visit(id="locked", x=1, y=0, service_min=10, technician="far"), Visit(id="free", x=2, y=0)]
    techs = [Technician(id="near", x=0, y=0), Technician(id="far", x=50, y=0)]
    plan = plan_routes(visits, techs, time_limit_s=0.3, max_no_improvement=500)
    assert check_plan(plan, visits, techs) == []
    assert "locked" in [s.visit_id for s in plan.routes["far"]]
    moved = RoutePlan(routes={"near": [Stop("locked", 1, 1), Stop("free", 2, 2)], "far": []}, dropped=[], distance=4)
    assert [v.code for v in check_plan(moved, visits, techs)] == ["missing_skill"]
    with pytest.raises(InvalidInput) as info:
        plan_routes([Visit(id="x", x=0, y=0, technician="ghost")], techs, time_limit_s=0.1)
    assert info.value.field == "visit[x].technician"


def test_urgent_insertion_respects_a_resumed_start_and_the_way_home():
    visits = [Visit(id="v", x=100, y=10, service_min=10)]
    tech = Technician(id="a", x=0, y=0, shift=(200, 400), start=(100, 0))
    plan = plan_routes(visits, [tech], time_limit_s=0.2, max_no_improvement=200)
    urgent = Visit(id="u", x=50, y=0, service_min=10, window=(0, 400))
    new = insert_urgent(plan, visits, [tech], urgent)
    assert [s.visit_id for s in new.routes["a"]] == ["v", "u"], "on the way home is cheapest"
    assert check_plan(new, [*visits, urgent], [tech]) == []
    with pytest.raises(DispatchError):  # back home by 400 is impossible with a detour of 200 more
        insert_urgent(plan, visits, [tech], Visit(id="u2", x=100, y=200, window=(0, 400)))


@st.composite
def small_days(draw):
    """A few technicians (some resuming elsewhere) and visits with random skills, windows and options."""
    skills = ["a", "b"]
    techs = []
    for k in range(draw(st.integers(1, 3))):
        begin = draw(st.integers(0, 120))
        start = draw(st.none() | st.tuples(st.integers(0, 60), st.integers(0, 60)))
        own = draw(st.sets(st.sampled_from(skills), max_size=2))
        techs.append(Technician(id=f"t{k}", x=draw(st.integers(0, 60)), y=draw(st.integers(0, 60)),
                                shift=(begin, begin + draw(st.integers(60, 480))), start=start,
                                skills=dict.fromkeys(own, 1)))  # fmt: skip
    visits = []
    for i in range(draw(st.integers(0, 10))):
        lo = draw(st.integers(0, 400))
        visits.append(Visit(
            id=i, x=draw(st.integers(0, 60)), y=draw(st.integers(0, 60)), service_min=draw(st.integers(0, 40)),
            window=(lo, lo + draw(st.integers(0, 200))), skills=draw(st.sampled_from([{}, {"a": 1}, {"b": 1}])),
            optional=draw(st.booleans()), priority=draw(st.integers(0, 3)),
            technician=draw(st.none() | st.sampled_from([t.id for t in techs])),
        ))  # fmt: skip
    return visits, techs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_days(), st.integers(0, 60), st.integers(0, 60), st.integers(0, 400))
def test_every_plan_handed_out_is_feasible(day, ux, uy, u_lo):
    """Whatever the day, plan_routes and insert_urgent either return a plan that passes check_plan,
    with a reason for every dropped visit and every mandatory visit served, or raise."""
    visits, techs = day
    try:
        plan = plan_routes(visits, techs, time_limit_s=1, max_no_improvement=200)
    except InfeasiblePlan as error:
        assert error.violations and all(v.code for v in error.violations)
        return
    assert check_plan(plan, visits, techs) == []
    assert set(plan.reasons) == set(plan.dropped)
    assert all(v.optional for v in visits if v.id in plan.dropped)
    urgent = Visit(id="u", x=ux, y=uy, service_min=10, window=(u_lo, u_lo + 120))
    try:
        new = insert_urgent(plan, visits, techs, urgent)
    except DispatchError:
        return
    assert check_plan(new, [*visits, urgent], techs) == []
    assert {t: [v for v in ids if v != "u"] for t, ids in new.visit_order().items()} == plan.visit_order()
