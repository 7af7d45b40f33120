"""Offer rounds: assignment, waiting, strategies, rounds, pool cascade, tier escalation."""

from datetime import date, timedelta

import pytest
from conftest import T0, make_expert, make_job, north, open_policy

from crowd_dispatch import (
    ExpertPool,
    InvalidInput,
    OfferRecord,
    Policy,
    PoolStep,
    Tier,
    escalate_to_specialist,
    next_offers,
    offer_expiry,
)


def pool_of(*experts):
    return ExpertPool.from_experts(experts)


def record(expert_id, round_number, state="declined", sent_at=T0):
    return OfferRecord(expert_id=expert_id, round=round_number, state=state, sent_at=sent_at)


def offered(decision):
    return [o.expert_id for o in decision.offers]


LINE = pool_of(*(make_expert(i, lat=north(i)) for i in range(5)))  # expert i is i km away


def test_accepted_offer_means_assigned():
    history = [record(0, 1, "declined"), record(1, 2, "accepted")]
    decision = next_offers(make_job(), LINE, open_policy(), history, T0 + timedelta(minutes=30))
    assert (decision.action, decision.offers) == ("assigned", ())
    assert "1" in decision.reason


def test_broadcast_sends_top_n_with_expiry():
    policy = open_policy(strategy="broadcast", top_n=3, offer_timeout_min=7)
    decision = next_offers(make_job(), LINE, policy, [], T0)
    assert decision.action == "offer"
    assert offered(decision) == [0, 1, 2]
    assert {o.round for o in decision.offers} == {1}
    assert all(o.expires_at == T0 + timedelta(minutes=7) == offer_expiry(T0, policy) for o in decision.offers)
    assert decision.wait_until == T0 + timedelta(minutes=7)
    assert [o.candidate.expert_id for o in decision.offers] == [0, 1, 2]


def test_sequential_sends_one_then_waits_while_pending():
    policy = open_policy(strategy="sequential", offer_timeout_min=5)
    first = next_offers(make_job(), LINE, policy, [], T0)
    assert offered(first) == [0] and first.round == 1
    history = [record(0, 1, "pending", sent_at=T0)]
    waiting = next_offers(make_job(), LINE, policy, history, T0 + timedelta(minutes=4, seconds=59))
    assert (waiting.action, waiting.wait_until, waiting.offers) == ("wait", T0 + timedelta(minutes=5), ())
    # At the expiry instant the pending offer counts as expired: next round, next expert.
    after = next_offers(make_job(), LINE, policy, history, T0 + timedelta(minutes=5))
    assert (after.action, offered(after), after.round) == ("offer", [1], 2)


def test_broadcast_waits_for_the_earliest_pending_expiry():
    history = [record(0, 1, "pending", T0), record(1, 1, "pending", T0 + timedelta(minutes=2)), record(2, 1)]
    decision = next_offers(make_job(), LINE, open_policy(offer_timeout_min=5), history, T0 + timedelta(minutes=1))
    assert decision.action == "wait" and decision.wait_until == T0 + timedelta(minutes=5)


def test_experts_offered_in_any_state_are_never_offered_again():
    states = ["declined", "expired", "withdrawn", "pending"]
    history = [record(i, 1, state) for i, state in enumerate(states)]
    decision = next_offers(make_job(), LINE, open_policy(top_n=3), history, T0 + timedelta(hours=1))
    assert offered(decision) == [4] and decision.round == 2


def test_rounds_beyond_max_escalate():
    policy = open_policy(max_rounds=2, strategy="sequential")
    history = [record(0, 1), record(1, 2)]
    decision = next_offers(make_job(), LINE, policy, history, T0 + timedelta(minutes=20))
    assert decision.action == "escalate" and decision.offers == ()
    assert "2 offer rounds" in decision.reason
    assert next_offers(make_job(), LINE, policy, history[:1], T0 + timedelta(minutes=20)).action == "offer"


def test_cascade_waits_for_the_next_pool_and_offers_it_at_the_delay():
    pool = pool_of(make_expert("partner", kind="partner"), make_expert("crowd", kind="freelance"))
    policy = Policy(pools=(PoolStep("own", 0), PoolStep("partner", 10), PoolStep("crowd", 20)), tier_policy="any")
    now_empty = next_offers(make_job(), pool, policy, [], T0)
    assert (now_empty.action, now_empty.wait_until) == ("wait", T0 + timedelta(minutes=10))
    at_ten = next_offers(make_job(), pool, policy, [], T0 + timedelta(minutes=10))
    assert offered(at_ten) == ["partner"]
    declined = [record("partner", 1)]
    between = next_offers(make_job(), pool, policy, declined, T0 + timedelta(minutes=12))
    assert (between.action, between.wait_until) == ("wait", T0 + timedelta(minutes=20))
    at_twenty = next_offers(make_job(), pool, policy, declined, T0 + timedelta(minutes=20))
    assert (offered(at_twenty), at_twenty.round) == (["crowd"], 2)


def test_no_candidate_and_no_pool_left_escalates_with_reasons():
    pool = pool_of(make_expert(1, skills={}), make_expert(2, skills={}), make_expert(3, online=False))
    decision = next_offers(make_job(), pool, open_policy(), [], T0)
    assert decision.action == "escalate"
    assert "skill: 2" in decision.reason and "offline: 1" in decision.reason


def test_first_responder_first_offers_lowest_tier_then_escalates_tiers():
    pool = pool_of(
        make_expert("spec", tier="specialist"),
        make_expert("tech", tier="technician", lat=north(1)),
        make_expert("fr1", tier="first_responder", lat=north(5)),
        make_expert("fr2", tier="first_responder", lat=north(6)),
    )
    policy = open_policy(tier_policy="first_responder_first", top_n=3)
    first = next_offers(make_job(), pool, policy, [], T0)
    assert offered(first) == ["fr1", "fr2"]
    later = T0 + timedelta(minutes=30)
    second = next_offers(make_job(), pool, policy, [record("fr1", 1), record("fr2", 1)], later)
    assert offered(second) == ["tech"]
    third = next_offers(make_job(), pool, policy, [record("fr1", 1), record("fr2", 1), record("tech", 2)], later)
    assert offered(third) == ["spec"]
    # The job's minimum tier is the lowest eligible tier: first responders skipped, specialists wait.
    assert offered(next_offers(make_job(min_tier="technician"), pool, policy, [], T0)) == ["tech"]
    # Under ANY every tier is ranked together (nearest first here).
    assert offered(next_offers(make_job(), pool, open_policy(tier_policy="any", top_n=3), [], T0)) == [
        "spec",
        "tech",
        "fr1",
    ]


def test_escalate_to_specialist_builds_a_follow_up_job():
    job = make_job(skills={"hvac": 1}, certificates=("gas",))
    follow_up = escalate_to_specialist(job, diagnosis_skills={"hvac": 3, "elec": 2}, now=T0 + timedelta(hours=1))
    assert follow_up.min_tier is Tier.SPECIALIST
    assert follow_up.skills == {"hvac": 3, "elec": 2}
    assert (follow_up.lat, follow_up.lon, follow_up.certificates) == (job.lat, job.lon, ("gas",))
    assert follow_up.id == "J1-specialist" and follow_up.created_at == T0 + timedelta(hours=1)
    assert follow_up.sla_deadline == job.sla_deadline
    assert job.skills == {"hvac": 1}  # the original is untouched
    gas = {"gas": date(2027, 1, 1)}
    overdue = escalate_to_specialist(job, now=T0 + timedelta(hours=6), job_id=77)
    assert (overdue.id, overdue.sla_deadline) == (77, T0 + timedelta(hours=6))
    pool = pool_of(
        make_expert("fr", tier="first_responder", skills={"hvac": 3, "elec": 2}, certificates=gas),
        make_expert("spec", tier="specialist", skills={"hvac": 3, "elec": 2}, certificates=gas, lat=north(20)),
        make_expert("weak", tier="specialist", skills={"hvac": 3}, certificates=gas),
    )
    decision = next_offers(follow_up, pool, open_policy(), [], T0 + timedelta(hours=1))
    assert offered(decision) == ["spec"]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: next_offers(make_job(), LINE, open_policy(), ["offer"], T0), "history[0]"),
        (lambda: next_offers(make_job(), LINE, open_policy(), [record(1, 0)], T0), "history[0].round"),
        (lambda: record(1, 1, state="maybe"), "offer.state"),
        (lambda: next_offers(make_job(), LINE, open_policy(), [], None), "now"),
        (lambda: next_offers(make_job(), LINE, "policy", [record(1, 1)], T0), "policy"),
        (lambda: next_offers(make_job(), [make_expert()], open_policy(), [], T0), "pool"),
        (lambda: Policy(top_n=0), "policy.top_n"),
        (lambda: Policy(max_rounds=-1), "policy.max_rounds"),
        (lambda: Policy(strategy="shout"), "policy.strategy"),
        (lambda: Policy(offer_timeout_min=-1), "policy.offer_timeout_min"),
        (lambda: Policy(speed_kmh=0), "policy.speed_kmh"),
        (lambda: escalate_to_specialist("job"), "job"),
        (lambda: escalate_to_specialist(make_job(), {"": 1}), "diagnosis_skills"),
        (lambda: escalate_to_specialist(make_job(), {"hvac": -1}), "diagnosis_skills[hvac]"),
        (lambda: escalate_to_specialist(make_job(), now="now"), "now"),
    ],
)
def test_bad_input(call, field):
    with pytest.raises(InvalidInput) as error:
        call()
    assert error.value.field == field
