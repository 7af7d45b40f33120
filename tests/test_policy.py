"""Dispatch policy levers: settings, look-ahead, stagger, deferral, SLA widening, learning, asset fit."""

import math
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import BASE_LAT, BASE_LON, T0, make_expert, make_job, north, open_policy

from crowd_dispatch import ExpertPool, InvalidInput, OfferRecord, PoolStep, Trip, next_offers
from crowd_dispatch.policy import (
    DispatchSettings,
    ExpertHistory,
    decide,
    first_time_fix_rate,
    free_share,
    learned_acceptance,
    learned_expert,
    learned_travel_factor,
    offers_to_withdraw,
    settings_table,
)
from crowd_dispatch.pool import to_epoch

SEQ = open_policy(strategy="sequential", offer_timeout_min=10)
ONLY = DispatchSettings().without(
    "lookahead", "stagger", "defer", "sla_widening", "learned_acceptance", "learned_travel", "divert"
)  # every lever off: tests switch on the one under test


def urgent(**values):
    return make_job(priority=3, sla_deadline=T0 + timedelta(minutes=60), **values)


def pool_of(*experts):
    return ExpertPool.from_experts(experts)


def busy(expert_id, km, minutes, **values):
    """An expert ``km`` north, on a job that ends ``minutes`` after T0."""
    return make_expert(expert_id, lat=north(km), busy_until=T0 + timedelta(minutes=minutes), **values)


# ------------------------------------------------------------------ settings
def test_every_setting_has_type_default_bounds_and_doc():
    table = settings_table()
    names = [row["name"] for row in table]
    assert len(names) == len(set(names)) >= 20
    for row in table:
        assert row["doc"] and row["type"] in ("bool", "int", "float")
        if row["type"] != "bool":
            assert row["min"] <= row["default"] <= row["max"], row["name"]
    assert DispatchSettings() == DispatchSettings.from_dict({})


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"lookahead_horizon_min": -1}, "settings.lookahead_horizon_min"),
        ({"stagger_min_free_share": 1.5}, "settings.stagger_min_free_share"),
        ({"defer": "yes"}, "settings.defer"),
        ({"stagger_max_open": 2.5}, "settings.stagger_max_open"),
        ({"colour": 1}, "settings.colour"),
        ({"divert": "yes"}, "settings.divert"),
        ({"divert_min_free_share": 1.5}, "settings.divert_min_free_share"),
        ({"divert_min_free_share": -0.1}, "settings.divert_min_free_share"),
        ({"divert_min_priority": 4}, "settings.divert_min_priority"),
        ({"divert_min_priority": 2.5}, "settings.divert_min_priority"),
        ({"divert_min_gain_min": -1}, "settings.divert_min_gain_min"),
        ({"divert_min_gain_min": float("nan")}, "settings.divert_min_gain_min"),
        ({"divert_min_slack_min": 1441}, "settings.divert_min_slack_min"),
    ],
)
def test_bad_settings_name_the_field(values, field):
    with pytest.raises(InvalidInput) as info:
        DispatchSettings.from_dict(values)
    assert info.value.field == field


# ---------------------------------------------------------------- look-ahead
def test_lookahead_waits_for_a_nearby_expert_finishing_soon():
    pool = pool_of(make_expert(1, lat=north(30)), busy(2, km=2, minutes=10))
    settings = replace(ONLY, lookahead=True)
    decision = decide(urgent(), pool, SEQ, settings, [], T0)
    assert (decision.action, decision.code, decision.waiting_for) == ("wait", "lookahead", 2)
    assert decision.wait_until == T0 + timedelta(minutes=10)
    assert decision.params["wait_min"] == 10.0 and decision.params["gain_min"] > 40
    # Off, not urgent, already awaited by another job, or beyond the horizon: the free expert gets the offer.
    for job, s, reserved in (
        (urgent(), ONLY, ()),
        (make_job(priority=1), settings, ()),
        (urgent(), settings, (2,)),
        (urgent(), replace(settings, lookahead_horizon_min=5), ()),
    ):
        other = decide(job, pool, SEQ, s, [], T0, reserved=reserved)
        assert (other.action, [o.expert_id for o in other.offers]) == ("offer", [1])


def test_lookahead_needs_the_minimum_gain():
    # Free expert 8 km away (15.6 min), busy one 1 km away done in 12 min (13.95 min): 1.65 min sooner only.
    pool = pool_of(make_expert(1, lat=north(8)), busy(2, km=1, minutes=12))
    decision = decide(urgent(), pool, SEQ, replace(ONLY, lookahead=True), [], T0)
    assert decision.code == "offer" and decision.offers[0].expert_id == 1
    decision = decide(urgent(), pool, SEQ, replace(ONLY, lookahead=True, lookahead_min_gain_min=1), [], T0)
    assert decision.code == "lookahead" and decision.waiting_for == 2


def test_lookahead_with_nobody_free_names_the_expert_to_wait_for():
    pool = pool_of(busy(1, km=5, minutes=40), busy(2, km=1, minutes=20))
    decision = decide(urgent(), pool, SEQ, replace(ONLY, lookahead=True), [], T0)
    assert (decision.code, decision.waiting_for, decision.params["gain_min"]) == ("lookahead", 2, None)
    assert decide(urgent(), pool, SEQ, ONLY, [], T0).code == "no_candidate"


# ------------------------------------------------------------------- stagger
def pending(expert_id, minutes_ago, now=T0):
    return OfferRecord(expert_id, 1, "pending", now - timedelta(minutes=minutes_ago))


def test_stagger_offers_the_next_expert_while_earlier_offers_stay_open():
    pool = pool_of(make_expert(1, lat=north(1)), make_expert(2, lat=north(3)), make_expert(3, lat=north(20)))
    settings = replace(ONLY, stagger=True)
    decision = decide(urgent(), pool, SEQ, settings, [pending(1, 3)], T0)
    assert (decision.action, decision.code, [o.expert_id for o in decision.offers]) == ("offer", "stagger", [2])
    assert decision.params["open_offers"] == 2
    # Too early: wait until the stagger step.
    early = decide(urgent(), pool, SEQ, settings, [pending(1, 1)], T0)
    assert (early.code, early.wait_until) == ("pending", T0 + timedelta(minutes=1))
    # Expert 3 is 19 km farther than the nearest open offer (37 min more travel > 20): no stagger.
    far = decide(urgent(), pool, SEQ, settings, [pending(1, 5), pending(2, 3)], T0)
    assert (far.code, far.offers) == ("pending", ())
    # Switched off: plain waiting for the answer.
    off = decide(urgent(), pool, SEQ, ONLY, [pending(1, 3)], T0)
    assert (off.code, off.wait_until) == ("pending", T0 + timedelta(minutes=7))


def test_stagger_is_gated_on_the_share_of_free_experts():
    experts = [make_expert(1, lat=north(1)), make_expert(2, lat=north(3))]
    experts += [busy(10 + i, km=5, minutes=60) for i in range(4)]  # 2 free of 6 online
    pool = pool_of(*experts)
    assert free_share(pool, T0) == pytest.approx(2 / 6)
    decision = decide(urgent(), pool, SEQ, replace(ONLY, stagger=True), [pending(1, 3)], T0)
    assert (decision.code, decision.offers) == ("pending", ())
    lower = replace(ONLY, stagger=True, stagger_min_free_share=0.3)
    assert decide(urgent(), pool, SEQ, lower, [pending(1, 3)], T0).code == "stagger"


# ------------------------------------------------------------------ deferral
def congested_pool():
    return pool_of(make_expert(1, lat=north(2)), *(busy(10 + i, km=5, minutes=90) for i in range(4)))


def test_normal_jobs_are_deferred_under_congestion_with_an_sla_safeguard():
    settings = replace(ONLY, defer=True)
    job = make_job(priority=1, sla_deadline=T0 + timedelta(minutes=480))
    decision = decide(job, congested_pool(), SEQ, settings, [], T0)
    assert (decision.action, decision.code) == ("defer", "deferred")
    assert decision.wait_until == T0 + timedelta(minutes=settings.defer_max_wait_min)
    assert decision.params == {"free_share": 0.2, "recheck_free_share": settings.defer_free_share_below}
    tight = make_job(priority=1, sla_deadline=T0 + timedelta(minutes=180))
    assert decide(tight, congested_pool(), SEQ, settings, [], T0).wait_until == T0 + timedelta(minutes=60)
    # Urgent jobs, jobs past their release, and a calm region: offered at once.
    late = T0 + timedelta(minutes=settings.defer_max_wait_min)
    for the_job, now, pool in ((urgent(), T0, congested_pool()), (job, late, congested_pool())):
        assert decide(the_job, pool, SEQ, settings, [], now).code == "offer"
    assert decide(job, pool_of(make_expert(1)), SEQ, settings, [], T0).code == "offer"


def test_deferral_never_pushes_work_into_a_thinner_shift():
    shift = ((T0 - timedelta(hours=4), T0 + timedelta(minutes=60)),)  # most of them leave in an hour
    experts = [make_expert(1, lat=north(2), windows=shift)]
    experts += [busy(10 + i, km=5, minutes=50, windows=shift) for i in range(4)]
    experts += [busy(20, km=5, minutes=50)]  # no declared windows: always on
    job = make_job(priority=1, sla_deadline=T0 + timedelta(minutes=480))
    assert decide(job, pool_of(*experts), SEQ, replace(ONLY, defer=True), [], T0).code == "offer"


def test_deferral_staffing_horizon_looks_past_the_release():
    """Most of the shift leaves in 5 h: at the release (2 h) it is still staffed, so the job is deferred;
    with a 6-hour staffing horizon the thinning day ahead is seen and the job goes out now."""
    shift = ((T0 - timedelta(hours=3), T0 + timedelta(hours=5)),)
    experts = [make_expert(1, lat=north(2), windows=shift)]
    experts += [busy(10 + i, km=5, minutes=50, windows=shift) for i in range(4)]
    experts += [busy(20, km=5, minutes=50)]  # no declared windows: always on
    job = make_job(priority=1, sla_deadline=T0 + timedelta(minutes=480))
    pool = pool_of(*experts)
    assert decide(job, pool, SEQ, replace(ONLY, defer=True), [], T0).code == "deferred"
    ahead = replace(ONLY, defer=True, defer_staffing_horizon_min=360.0)
    assert decide(job, pool, SEQ, ahead, [], T0).code == "offer"
    assert decide(job, pool, SEQ, replace(ahead, defer_staffing_horizon_min=240.0), [], T0).code == "deferred"


# ---------------------------------------------------------------- widening
def test_sla_widening_opens_the_next_pool_when_the_open_one_would_miss_the_sla():
    policy = open_policy(
        strategy="sequential", pools=(PoolStep("own", 0), PoolStep("partner", 15), PoolStep("crowd", 30))
    )
    own_far = make_expert(1, lat=north(40))  # 78 min away: misses a 60-min SLA
    partner_near = make_expert(2, kind="partner", lat=north(3))
    crowd_near = make_expert(3, kind="freelance", lat=north(1))
    pool = pool_of(own_far, partner_near, crowd_near)
    plain = decide(urgent(), pool, policy, ONLY, [], T0)
    assert (plain.code, plain.offers[0].expert_id) == ("offer", 1)
    widened = decide(urgent(), pool, policy, replace(ONLY, sla_widening=True), [], T0)
    assert widened.offers[0].expert_id == 2 and widened.params["widened"] is True  # the next pool only
    relaxed = make_job(priority=1)  # 4 h SLA: the own expert makes it, nothing widens
    assert decide(relaxed, pool, policy, replace(ONLY, sla_widening=True), [], T0).offers[0].expert_id == 1


# ----------------------------------------------------------------- learning
def test_learned_acceptance_shrinks_toward_the_prior():
    settings = DispatchSettings(prior_acceptance=0.7, prior_strength=10)
    assert learned_acceptance(None, settings) == 0.7
    assert learned_acceptance(ExpertHistory(), settings) == 0.7
    assert learned_acceptance(ExpertHistory(offers=10, accepted=2), settings) == pytest.approx(0.45)
    assert learned_acceptance(ExpertHistory(offers=1000, accepted=200), settings) == pytest.approx(0.2, abs=0.01)
    expert = learned_expert(make_expert(1, acceptance_rate=0.9), ExpertHistory(offers=10, accepted=2), settings)
    assert expert.acceptance_rate == pytest.approx(0.45)
    prior_only = learned_expert(
        make_expert(1), ExpertHistory(offers=10, accepted=2), replace(settings, learned_acceptance=False)
    )
    assert prior_only.acceptance_rate == 0.7


def test_learned_travel_factor_reorders_candidates():
    settings = DispatchSettings(prior_strength=1)
    slow = ExpertHistory(trips=50, planned_travel_min=1000.0, actual_travel_min=2000.0)
    assert learned_travel_factor(slow, settings) == pytest.approx(2020 / 1020)
    assert learned_travel_factor(None, settings) == 1.0
    assert learned_travel_factor(slow, replace(settings, learned_travel=False)) == 1.0
    pool = pool_of(make_expert(1, lat=north(5)), make_expert(2, lat=north(7)))
    learning = {1: slow}
    plain = decide(urgent(), pool, SEQ, ONLY, [], T0, learning=learning)
    assert plain.offers[0].expert_id == 1
    learned = decide(urgent(), pool, SEQ, replace(ONLY, learned_travel=True), [], T0, learning=learning)
    assert learned.offers[0].expert_id == 2


def test_asset_history_prefers_the_expert_who_fixes_that_model():
    settings = replace(ONLY, prior_strength=5)
    good = ExpertHistory(visits_by_model={"boiler-x": (40, 39)})
    bad = ExpertHistory(visits_by_model={"boiler-x": (40, 20)})
    assert first_time_fix_rate(good, "boiler-x", settings) > settings.prior_first_time_fix
    assert first_time_fix_rate(bad, "other", settings) == settings.prior_first_time_fix
    pool = pool_of(make_expert(1, lat=north(2)), make_expert(2, lat=north(3)))
    learning = {1: bad, 2: good}
    with_model = decide(urgent(equipment_model="boiler-x"), pool, SEQ, settings, [], T0, learning=learning)
    assert with_model.offers[0].expert_id == 2
    no_model = decide(urgent(), pool, SEQ, settings, [], T0, learning=learning)
    assert no_model.offers[0].expert_id == 1
    off = decide(
        urgent(equipment_model="boiler-x"), pool, SEQ, replace(settings, asset_weight=0), [], T0, learning=learning
    )
    assert off.offers[0].expert_id == 1


# ------------------------------------------------------- rounds and history
def test_declined_expert_is_asked_again_after_the_cool_off():
    pool = pool_of(make_expert(1, lat=north(1)), make_expert(2, lat=north(9)))
    declined = [OfferRecord(1, 1, "declined", T0, responded_at=T0 + timedelta(minutes=2))]
    soon = next_offers(urgent(), pool, SEQ, declined, T0 + timedelta(minutes=20), reask_after_min=30)
    later = next_offers(urgent(), pool, SEQ, declined, T0 + timedelta(minutes=32), reask_after_min=30)
    never = next_offers(urgent(), pool, SEQ, declined, T0 + timedelta(minutes=300))
    assert [o.expert_id for o in soon.offers] == [2] == [o.expert_id for o in never.offers]
    assert [o.expert_id for o in later.offers] == [1] and later.round == 2
    settings = replace(ONLY, reask_after_min=30)
    assert decide(urgent(), pool, SEQ, settings, declined, T0 + timedelta(minutes=32)).offers[0].expert_id == 1
    assert (
        decide(urgent(), pool, SEQ, replace(ONLY, reask_after_min=0), declined, T0 + timedelta(minutes=32))
        .offers[0]
        .expert_id
        == 2
    )


def test_accepted_means_assigned_and_other_offers_are_withdrawn():
    history = [OfferRecord(1, 1, "accepted", T0)]
    decision = decide(urgent(), pool_of(make_expert(1)), SEQ, ONLY, history, T0)
    assert (decision.action, decision.params) == ("assigned", {"expert_id": 1})
    assert offers_to_withdraw(7, [("A", 7), ("B", 8), ("C", 7)]) == [("A", 7), ("C", 7)]


def test_decide_refuses_bad_settings():
    with pytest.raises(InvalidInput) as info:
        decide(urgent(), pool_of(make_expert(1)), SEQ, {"lookahead": True}, [], T0)
    assert info.value.field == "settings"


def test_decide_returns_for_a_job_dated_after_now():
    """Regression: SLA widening looped for ever when the job was created after ``now`` and a pool was
    still to open (the elapsed time was clamped to 0, so the same pool was "opened" again and again)."""
    job = make_job(created_at=T0 + timedelta(minutes=30), sla_deadline=T0 + timedelta(minutes=40))
    policy = open_policy(pools=(PoolStep("own", 0), PoolStep("crowd", 20)))
    pool = ExpertPool.from_experts([make_expert(1, lat=north(40), kind="freelance")])
    result = {}
    worker = threading.Thread(
        target=lambda: result.setdefault("d", decide(job, pool, policy, DispatchSettings(), (), T0)), daemon=True
    )
    worker.start()
    worker.join(10)
    assert "d" in result, "decide() must return"


def test_stagger_only_to_an_expert_who_can_make_the_sla():
    # Expert 2 is 15 km away: 5 min to answer + ~29 min travel = 34 min to the door.
    pool = pool_of(make_expert(1, lat=north(1)), make_expert(2, lat=north(15)))
    settings = replace(ONLY, stagger=True, stagger_max_extra_travel_min=60)
    assert settings.stagger_within_sla and DispatchSettings().stagger_within_sla  # on by default
    roomy = decide(urgent(), pool, SEQ, settings, [pending(1, 3)], T0)  # 60 min left: the hedge can make it
    assert (roomy.code, [o.expert_id for o in roomy.offers]) == ("stagger", [2])
    tight = make_job(priority=3, sla_deadline=T0 + timedelta(minutes=30))  # 30 min left: expert 2 would be late
    assert decide(tight, pool, SEQ, settings, [pending(1, 3)], T0).code == "pending"
    off = replace(settings, stagger_within_sla=False)
    assert decide(tight, pool, SEQ, off, [pending(1, 3)], T0).code == "stagger"


# -------------------------------------------------------------------- divert
DIV = replace(ONLY, divert=True)


def on_trip(expert_id, km, trip_priority=1, deadline_min=480, **values):
    """An expert driving to a visit 40 km south (busy there until T0 + 90 min, like any busy expert), now
    ``km`` north of the base; the visit has ``trip_priority`` and its SLA deadline ``deadline_min`` after T0."""
    trip = Trip(trip_priority, north(km), BASE_LON, T0 + timedelta(minutes=deadline_min))
    return busy(expert_id, km=-40, minutes=90, trip=trip, **values)


def offered(decision):
    return decision.code, [o.expert_id for o in decision.offers]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"priority": -1}, "trip.priority"),
        ({"priority": True}, "trip.priority"),
        ({"priority": "1"}, "trip.priority"),
        ({"priority": 1.0}, "trip.priority"),
        ({"lat": 91.0}, "trip.lat"),
        ({"lat": float("nan")}, "trip.lat"),
        ({"lon": "east"}, "trip.lon"),
        ({"lon": None}, "trip.lon"),
        ({"deadline": "2026-03-02T17:00"}, "trip.deadline"),
        ({"deadline": None}, "trip.deadline"),
        ({"deadline": T0.date()}, "trip.deadline"),
    ],
)
def test_bad_trips_name_the_field(values, field):
    good = {"priority": 1, "lat": BASE_LAT, "lon": BASE_LON, "deadline": T0}
    with pytest.raises(InvalidInput) as info:
        Trip(**{**good, **values})
    assert info.value.field == field


def test_expert_trip_must_be_a_trip_and_lands_in_the_pool_columns():
    for bad in ((1, BASE_LAT, BASE_LON, T0), {"priority": 1}, "trip", 1):
        with pytest.raises(InvalidInput) as info:
            make_expert(7, trip=bad)
        assert info.value.field == "expert[7].trip"
    trip = Trip(2, north(3), BASE_LON, T0 + timedelta(hours=5))
    assert make_expert(7).trip is None and make_expert(7, trip=trip).trip is trip
    pool = pool_of(make_expert(1), make_expert(2, trip=trip))
    assert pool.trip_priority.tolist() == [-1, 2]
    assert pool.trip_lat[1] == north(3) and pool.trip_lon[1] == BASE_LON
    assert pool.trip_deadline[1] == to_epoch(T0 + timedelta(hours=5))
    assert all(math.isnan(column[0]) for column in (pool.trip_lat, pool.trip_lon, pool.trip_deadline))


def test_divert_offers_the_urgent_job_to_an_expert_driving_nearby():
    # Free expert 30 km away: 58.5 min. Expert 2 drives to a normal visit 40 km south, now 2 km away: 3.9 min.
    pool = pool_of(make_expert(1, lat=north(30)), on_trip(2, km=2))
    decision = decide(urgent(), pool, SEQ, DIV, [], T0)
    assert (decision.action, *offered(decision)) == ("offer", "divert", [2])
    assert decision.params["expert_id"] == 2
    assert decision.params["door_min"] == pytest.approx(3.9, abs=0.05)
    assert decision.params["gain_min"] == pytest.approx(58.5 - 3.9, abs=0.1)
    assert decision.round == 1 and decision.wait_until == decision.offers[0].expires_at
    # Off: the free expert; the expert on the trip is busy like any other.
    assert offered(decide(urgent(), pool, SEQ, ONLY, [], T0)) == ("offer", [1])


def test_divert_needs_the_minimum_gain():
    # Now 25 km away (48.75 min) against 58.5 min: 9.75 min sooner only.
    pool = pool_of(make_expert(1, lat=north(30)), on_trip(2, km=25))
    assert offered(decide(urgent(), pool, SEQ, DIV, [], T0)) == ("offer", [1])
    lower = decide(urgent(), pool, SEQ, replace(DIV, divert_min_gain_min=5), [], T0)
    assert offered(lower) == ("divert", [2]) and lower.params["gain_min"] == pytest.approx(9.75, abs=0.1)


def test_divert_sends_a_single_offer_even_when_broadcasting():
    broadcast = open_policy(strategy="broadcast", top_n=3, offer_timeout_min=10)
    pool = pool_of(make_expert(1, lat=north(30)), on_trip(2, km=2), on_trip(3, km=3))
    decision = decide(urgent(), pool, broadcast, DIV, [], T0)
    assert offered(decision) == ("divert", [2])


@pytest.mark.parametrize(
    ("case", "job", "settings", "trip", "reserved"),
    [
        ("lever off", urgent(), ONLY, {}, ()),
        ("job below divert_min_priority", make_job(priority=2, sla_deadline=T0 + timedelta(minutes=60)), DIV, {}, ()),
        ("urgent visit left for an urgent job", urgent(), DIV, {"trip_priority": 3}, ()),
        ("visit too close to its SLA deadline", urgent(), DIV, {"deadline_min": 239}, ()),
        ("holding an open offer", urgent(), DIV, {"load": 1}, ()),
        ("lacking the skill", urgent(), DIV, {"skills": {"elec": 2}}, ()),
        ("offline", urgent(), DIV, {"online": False}, ()),
        ("awaited by another job", urgent(), DIV, {}, (2,)),
    ],
)
def test_divert_gates(case, job, settings, trip, reserved):
    pool = pool_of(make_expert(1, lat=north(30)), on_trip(2, km=2, **trip))
    decision = decide(job, pool, SEQ, settings, [], T0, reserved=reserved)
    assert offered(decision) == ("offer", [1]), case


def test_divert_gates_follow_their_settings():
    pool = pool_of(make_expert(1, lat=north(30)), on_trip(2, km=2))
    job = make_job(priority=2, sla_deadline=T0 + timedelta(minutes=60))
    assert offered(decide(job, pool, SEQ, replace(DIV, divert_min_priority=2), [], T0)) == ("divert", [2])
    high = pool_of(make_expert(1, lat=north(30)), on_trip(2, km=2, trip_priority=2))
    assert offered(decide(urgent(), high, SEQ, DIV, [], T0)) == ("divert", [2])  # strictly less urgent suffices
    for deadline, slack, code in ((240, 240, "divert"), (200, 240, "offer"), (200, 180, "divert")):
        tight = pool_of(make_expert(1, lat=north(30)), on_trip(2, km=2, deadline_min=deadline))
        settings = replace(DIV, divert_min_slack_min=slack)
        assert decide(urgent(), tight, SEQ, settings, [], T0).code == code, (deadline, slack)


def test_divert_is_gated_on_the_share_of_free_experts():
    experts = [make_expert(1, lat=north(30)), on_trip(2, km=2)]
    experts += [busy(10 + i, km=5, minutes=60) for i in range(4)]  # 1 free of 6 online
    pool = pool_of(*experts)
    assert free_share(pool, T0) == pytest.approx(1 / 6)
    assert offered(decide(urgent(), pool, SEQ, DIV, [], T0)) == ("offer", [1])
    lower = replace(DIV, divert_min_free_share=0.15)
    assert offered(decide(urgent(), pool, SEQ, lower, [], T0)) == ("divert", [2])


def test_divert_with_nobody_free_has_no_gain():
    pool = pool_of(on_trip(2, km=2), busy(3, km=1, minutes=120))
    # Nobody free: the share gate (default 0.2) holds the divert back.
    assert decide(urgent(), pool, SEQ, DIV, [], T0).code == "no_candidate"
    decision = decide(urgent(), pool, SEQ, replace(DIV, divert_min_free_share=0), [], T0)
    assert offered(decision) == ("divert", [2])
    assert decision.params["gain_min"] is None and decision.params["door_min"] == pytest.approx(3.9, abs=0.05)


def test_divert_does_not_ask_again_an_expert_who_declined_before_the_cool_off():
    pool = pool_of(make_expert(1, lat=north(30)), on_trip(2, km=2))
    declined = [OfferRecord(2, 1, "declined", T0 - timedelta(minutes=3), responded_at=T0 - timedelta(minutes=1))]
    now = decide(urgent(), pool, SEQ, DIV, declined, T0)
    assert offered(now) == ("offer", [1]) and now.round == 2
    later = decide(urgent(), pool, SEQ, DIV, declined, T0 + timedelta(minutes=30))
    assert offered(later) == ("divert", [2]) and later.round == 2
    never = replace(DIV, reask_after_min=0)
    assert offered(decide(urgent(), pool, SEQ, never, declined, T0 + timedelta(minutes=30))) == ("offer", [1])
