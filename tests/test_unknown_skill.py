"""A job requiring a skill that no expert of the pool has: nobody qualifies, nothing crashes.

Found by the Odoo addon (a request copying an asset's skill that no expert holds yet).
"""

from datetime import timedelta

from conftest import T0, make_expert

from crowd_dispatch import ExpertPool, Job, Policy, PoolStep, next_offers, rank

POLICY = Policy(pools=(PoolStep("own", 0), PoolStep("partner", 10)))


def job(**values):
    defaults = {
        "id": "j1",
        "lat": 48.137,
        "lon": 11.575,
        "created_at": T0,
        "sla_deadline": T0 + timedelta(hours=1),
        "skills": {"never_seen": 0},
    }
    defaults.update(values)
    return Job(**defaults)


def test_rank_with_unknown_skill_ranks_nobody():
    pool = ExpertPool.from_experts([make_expert(1), make_expert(2)])
    result = rank(job(), pool, POLICY, T0)
    assert result.candidates == []
    assert result.rejections["skill"] == 2


def test_next_offers_with_unknown_skill_waits_then_escalates():
    pool = ExpertPool.from_experts([make_expert(1)])
    decision = next_offers(job(), pool, POLICY, (), T0)
    assert decision.action == "wait"
    assert decision.wait_until == T0 + timedelta(minutes=10)
    decision = next_offers(job(), pool, POLICY, (), T0 + timedelta(minutes=10))
    assert decision.action == "escalate"
