"""Offer rounds: given the offers already made for a job, decide what to do now.

:func:`next_offers` is a pure function of (job, pool, policy, history, now); the caller
(the Odoo addon) sends the offers it returns, records them, and calls again at
``wait_until`` or when an expert answers.

Rules, in order: an accepted offer -> ``assigned``; a pending offer that has not expired
-> ``wait`` until the earliest pending expiry; the next round number beyond
``policy.max_rounds`` -> ``escalate``; otherwise rank the experts never offered this job
(any state) and send 1 (SEQUENTIAL) or ``top_n`` (BROADCAST) offers. With no candidate now:
``wait`` until the next pool opens, or ``escalate`` with the rejection counts when every
pool is already open. Under FIRST_RESPONDER_FIRST only the lowest tier (at or above the
job's minimum) that has candidates is offered; higher tiers get offers only when no lower
tier has any.

Optional keywords (used by :mod:`crowd_dispatch.policy`): ``reask_after_min`` lets an expert
who declined (or let the offer expire) be offered again once that many minutes have passed
since the answer (or the expiry); ``exclude`` keeps more experts out (e.g. awaited by another
job); ``rescore`` re-orders the ranked candidates (a function from a best-first list to a
best-first list), applied to the best ``RESCORE_SHORTLIST`` before the offers are cut.
"""

from dataclasses import dataclass, field, replace
from datetime import timedelta

import numpy as np

from .errors import InvalidInput
from .gates import Rejections, check_inputs, evaluate, next_pool_opening
from .model import Job, OfferRecord, OfferState, Strategy, Tier, TierPolicy
from .pool import to_epoch
from .ranking import Candidate, rank_rows
from .reasons import render

ACTIONS = ("offer", "wait", "escalate", "assigned")
RESCORE_SHORTLIST = 3  # candidates handed to ``rescore`` (more only when more offers go out)


@dataclass(frozen=True)
class Offer:
    """An offer to send now: expires at ``sent_at + policy.offer_timeout_min``."""

    expert_id: object
    round: int
    sent_at: object
    expires_at: object
    candidate: Candidate


@dataclass(frozen=True)
class OfferDecision:
    """What to do for a job now. ``action`` is one of :data:`ACTIONS`."""

    action: str
    offers: tuple = ()
    wait_until: object = None
    code: str = ""  # why, as a code of :mod:`.reasons` ...
    params: dict = field(default_factory=dict)  # ... with its parameters
    round: int = 0

    @property
    def reason(self):
        """English text of the decision's reason (logs, command line)."""
        return render(self.code, self.params) if self.code else ""


def offer_expiry(sent_at, policy):
    """When an offer sent at ``sent_at`` expires."""
    return sent_at + timedelta(minutes=policy.offer_timeout_min)


def _check_history(history):
    records = list(history)
    for i, record in enumerate(records):
        if not isinstance(record, OfferRecord):
            raise InvalidInput(f"history[{i}]", f"must be an OfferRecord, got {type(record).__name__}")
        if not isinstance(record.round, int) or record.round < 1:
            raise InvalidInput(f"history[{i}].round", f"must be an int >= 1, got {record.round!r}")
    return records


def _rank_by_tier_policy(job, pool, policy, now, count, gated):
    """Rank the gated experts; under FIRST_RESPONDER_FIRST only the lowest tier that yields candidates."""
    if policy.tier_policy is not TierPolicy.FIRST_RESPONDER_FIRST or not gated.index.size:
        return rank_rows(job, pool, policy, now, count, gated.index, gated.distance_km, gated.rejections)
    tiers = pool.tier[gated.index]
    for tier in np.unique(tiers):  # ascending: first responders, technicians, specialists
        keep = tiers == tier
        rejections = Rejections(gated.rejections)
        rejections["tier"] += int(keep.size - np.count_nonzero(keep))
        result = rank_rows(job, pool, policy, now, count, gated.index[keep], gated.distance_km[keep], rejections)
        if result.candidates:
            return result
    return result


def blocked_experts(records, policy, now, reask_after_min=None):
    """Ids of the experts who may not be offered the job now: every one offered, except those whose
    decline or expiry is at least ``reask_after_min`` minutes old (None: never asked again)."""
    if reask_after_min is None:
        return {r.expert_id for r in records}
    limit = to_epoch(now) - 60.0 * reask_after_min
    blocked, cooled = set(), set()
    for r in records:
        if r.state in (OfferState.DECLINED, OfferState.EXPIRED, OfferState.WITHDRAWN):
            answered = r.responded_at or offer_expiry(r.sent_at, policy)
            if to_epoch(answered) <= limit:
                cooled.add(r.expert_id)
                continue
        blocked.add(r.expert_id)
    return blocked


def next_offers(job, pool, policy, history, now, *, reask_after_min=None, exclude=(), rescore=None):
    """Decide the next step of the offer cascade for ``job`` at ``now`` (see the module docstring)."""
    check_inputs(job, pool, policy, now)
    records = _check_history(history)
    accepted = [r for r in records if r.state is OfferState.ACCEPTED]
    if accepted:
        return OfferDecision("assigned", code="accepted", params={"expert": accepted[0].expert_id})
    now_epoch = to_epoch(now)
    pending = [offer_expiry(r.sent_at, policy) for r in records if r.state is OfferState.PENDING]
    pending = [moment for moment in pending if to_epoch(moment) > now_epoch]
    if pending:
        return OfferDecision("wait", wait_until=min(pending), code="offers_pending", params={"count": len(pending)})
    round_number = max((r.round for r in records), default=0) + 1
    if round_number > policy.max_rounds:
        return OfferDecision(
            "escalate", code="rounds_exhausted", params={"rounds": policy.max_rounds}, round=round_number
        )
    count = policy.top_n if policy.strategy is Strategy.BROADCAST else 1
    blocked = blocked_experts(records, policy, now, reask_after_min) | set(exclude)
    gated = evaluate(job, pool, policy, now, exclude=blocked)
    result = _rank_by_tier_policy(job, pool, policy, now, max(count, RESCORE_SHORTLIST) if rescore else count, gated)
    if rescore is not None:
        result = replace(result, candidates=list(rescore(result.candidates))[:count])
    if result.candidates:
        expires = offer_expiry(now, policy)
        offers = tuple(Offer(c.expert_id, round_number, now, expires, c) for c in result.candidates)
        params = {"round": round_number, "experts": [o.expert_id for o in offers]}
        return OfferDecision(
            "offer", offers=offers, wait_until=expires, code="offer_round", params=params, round=round_number
        )
    opening = next_pool_opening(job, policy, now)
    if opening is not None:
        return OfferDecision("wait", wait_until=opening, code="pool_opens_later")
    return OfferDecision(
        "escalate", code="no_candidate", params={"rejections": dict(result.rejections)}, round=round_number
    )


def escalate_to_specialist(job, diagnosis_skills=None, *, now=None, job_id=None):
    """Follow-up job for a first responder's escalation: same site, requires Tier.SPECIALIST.

    ``diagnosis_skills`` (skill -> minimum level) are merged into the job's skills, keeping the
    higher level. The follow-up is created at ``now`` (default: the original creation time) and
    keeps the original SLA deadline unless that is already past.
    """
    if not isinstance(job, Job):
        raise InvalidInput("job", f"must be a Job, got {type(job).__name__}")
    skills = dict(job.skills)
    for code, level in (diagnosis_skills or {}).items():
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput("diagnosis_skills", f"code must be a non-empty string, got {code!r}")
        if not isinstance(level, int) or isinstance(level, bool) or level < 0:
            raise InvalidInput(f"diagnosis_skills[{code}]", f"level must be a non-negative int, got {level!r}")
        skills[code] = max(level, skills.get(code, 0))
    created = job.created_at if now is None else now
    to_epoch(created)
    return replace(
        job,
        id=job_id if job_id is not None else f"{job.id}-specialist",
        created_at=created,
        sla_deadline=max(job.sla_deadline, created),
        skills=skills,
        min_tier=Tier.SPECIALIST,
    )
