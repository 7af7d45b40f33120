"""Coverage grid and recruiting suggestions on a company's own history (issue 11, part 7)."""

import math

import pytest

from crowd_dispatch import Expert, InvalidInput
from crowd_dispatch.coverage import DemandJob, cell_bounds, grid_cell, recruiting_suggestions

CENTRE = (46.95, 7.45)


@pytest.mark.parametrize("cell_km", [0.5, 5.0, 50.0])
@pytest.mark.parametrize("position", [CENTRE, (-33.86, 151.21), (64.13, -21.9), (0.0, 0.0)])
def test_a_cell_holds_its_positions(position, cell_km):
    key, lat, lon = grid_cell(*position, cell_km)
    (south, west), (north, east) = cell_bounds(key, cell_km)
    assert south <= position[0] < north and west <= position[1] < east
    assert south < lat < north and west < lon < east
    assert (north - south) * 111.32 == pytest.approx(cell_km)
    assert (east - west) * 111.32 * math.cos(math.radians(lat)) == pytest.approx(cell_km)


def test_grid_refuses_bad_input():
    with pytest.raises(InvalidInput, match="cell_km"):
        grid_cell(*CENTRE, 0.0)
    with pytest.raises(InvalidInput, match="cell_km"):
        grid_cell(*CENTRE, math.nan)
    with pytest.raises(InvalidInput, match=r"position\.lat"):
        grid_cell(95.0, 7.0, 5.0)
    with pytest.raises(InvalidInput, match="cell"):
        cell_bounds("nonsense", 5.0)


def _history():
    demand = [
        DemandJob(
            day="2026-03-02",
            minute=480 + 30 * i,
            lat=CENTRE[0] + 0.003 * (i % 3),
            lon=CENTRE[1] + 0.003 * (i % 2),
            priority=3,
            skills={"boiler" if i % 3 == 0 else "router": 1},
            service_min=45.0,
            sla_min=60.0,
        )
        for i in range(9)
    ]
    experts = [
        Expert(
            id=i, kind="freelance", tier="technician", lat=CENTRE[0] + 0.004 * i, lon=CENTRE[1], skills={"router": 2}
        )
        for i in range(3)
    ]
    return demand, experts


def test_a_missing_skill_ranks_first():
    demand, experts = _history()
    result = recruiting_suggestions(demand, experts, cell_km=5.0, add=2, seeds=(1,))
    assert result["urgent_jobs"] == 9
    assert result["missed"] >= 3  # nobody does boilers
    assert result["baseline_share"] < 1.0
    best = result["suggestions"][0]
    assert best.skill == "boiler"
    assert best.gain_points > 0 and best.recovered >= 1
    assert best.share > result["baseline_share"]
    assert best.cell == grid_cell(*CENTRE, 5.0)[0]
    gains = [s.gain_points for s in result["suggestions"]]
    assert gains == sorted(gains, reverse=True)
    # the same history and seed give the same suggestions (common random numbers)
    assert recruiting_suggestions(demand, experts, cell_km=5.0, add=2, seeds=(1,)) == result


def test_nothing_to_suggest():
    assert recruiting_suggestions([], [], seeds=(1,)) == {
        "urgent_jobs": 0,
        "baseline_share": 0.0,
        "missed": 0,
        "suggestions": [],
    }


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"seeds": ()}, "seeds"),
        ({"seeds": (1, 2, 3, 4, 5, 6)}, "seeds"),
        ({"add": 0}, "add"),
        ({"add": 1.5}, "add"),
        ({"cell_km": -1}, "cell_km"),
        ({"max_cells": 10, "max_skills": 10}, "max_cells"),
        ({"speed_kmh": 0}, "speed_kmh"),
    ],
)
def test_bounds_are_refused(kwargs, field):
    demand, experts = _history()
    with pytest.raises(InvalidInput, match=field):
        recruiting_suggestions(demand, experts, **kwargs)


def test_demand_is_checked():
    with pytest.raises(InvalidInput, match=r"demand\.minute"):
        DemandJob(day="d", minute=-1, lat=46.0, lon=7.0)
    with pytest.raises(InvalidInput, match=r"demand\.lat"):
        DemandJob(day="d", minute=1, lat=99.0, lon=7.0)
    with pytest.raises(InvalidInput, match="demand"):
        recruiting_suggestions([{"lat": 1}], [], seeds=(1,))
