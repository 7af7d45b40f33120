"""Shortage pay: failed rounds, steps after N rounds, the cap, and what it does in the simulator."""

from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import T0

from crowd_dispatch import InvalidInput, OfferRecord
from crowd_dispatch.policy import DispatchSettings, failed_rounds, shortage_pay, shortage_steps
from crowd_dispatch.simulate import simulate

SHORTAGE = DispatchSettings(shortage_pay_after_rounds=2, shortage_pay_step=0.1, shortage_pay_cap=0.25)


def record(expert_id, round_number, state):
    return OfferRecord(expert_id, round_number, state, T0 + timedelta(minutes=round_number))


def rounds(*states):
    """One offer per round with these states, round 1 first."""
    return [record(i + 1, i + 1, state) for i, state in enumerate(states)]


def test_failed_rounds_count_only_rounds_where_every_offer_failed():
    history = [
        record(1, 1, "declined"),
        record(2, 1, "expired"),  # round 1: all failed
        record(3, 2, "declined"),
        record(4, 2, "pending"),  # round 2: still open
        record(5, 3, "withdrawn"),  # round 3: withdrawn, not a refusal
    ]
    assert failed_rounds(history) == 1
    assert failed_rounds([]) == 0


def test_shortage_steps_start_after_n_rounds_and_stop_at_the_cap():
    assert [shortage_steps(n, SHORTAGE) for n in range(5)] == [0, 0, 1, 2, 3]
    extras = [shortage_pay(rounds(*["declined"] * n), SHORTAGE)[0] for n in range(6)]
    # +10% after 2 rounds, +20% after 3, then the cap of +25%
    assert extras == [0.0, 0.0, 0.1, 0.2, 0.25, 0.25]
    assert shortage_pay(rounds("declined", "expired", "declined"), SHORTAGE) == (0.2, 2, 3)


def test_shortage_pay_is_off_by_default_and_with_a_zero_step():
    history = rounds(*["declined"] * 5)
    assert shortage_pay(history, DispatchSettings()) == (0.0, 0, 5)
    assert shortage_pay(history, replace(SHORTAGE, shortage_pay_step=0.0))[0] == 0.0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"shortage_pay_after_rounds": -1}, "settings.shortage_pay_after_rounds"),
        ({"shortage_pay_after_rounds": 1.5}, "settings.shortage_pay_after_rounds"),
        ({"shortage_pay_step": 1.5}, "settings.shortage_pay_step"),
        ({"shortage_pay_cap": float("nan")}, "settings.shortage_pay_cap"),
    ],
)
def test_bad_shortage_settings_name_the_field(values, field):
    with pytest.raises(InvalidInput) as exc:
        DispatchSettings(**values)
    assert exc.value.field == field


SCARCE = {
    "name": "scarce",
    "seed": 5,
    "duration_hours": 3,
    "region": {"center": [46.95, 7.45], "radius_km": 25},
    "skills": ["router", "fiber"],
    "experts": {"count": 25, "skills_per_expert": [1, 2], "accept_probability": 0.45, "pay_elasticity": 1.5},
    "demand": {"jobs_per_hour": 10, "urgent_share": 0.6, "skills_per_job": [1, 1]},
}


def test_simulator_pays_shortage_and_experts_accept_more_readily_for_it():
    off = simulate(SCARCE, "ours")
    on = simulate(SCARCE, "ours", settings=replace(SHORTAGE, shortage_pay_after_rounds=1, shortage_pay_cap=0.5))
    assert off["shortage_pay"] == 0.0 and off["shortage_paid_jobs"] == 0
    assert on["shortage_paid_jobs"] > 0 and on["shortage_pay"] > 0.0
    # the same jobs; dearer rounds are accepted sooner: fewer offers per job
    assert on["jobs"] == off["jobs"]
    assert on["offers_per_job"] < off["offers_per_job"]
    # nearest never pays shortage
    assert simulate(SCARCE, "nearest")["shortage_pay"] == 0.0
