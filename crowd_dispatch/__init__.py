"""crowd_dispatch: the pure-Python dispatch engine of Crowd Service (no Odoo import)."""

from .errors import DispatchError, InvalidInput
from .model import (
    DEFAULT_WEIGHTS,
    Expert,
    Job,
    Kind,
    OfferRecord,
    OfferState,
    Policy,
    Pool,
    PoolStep,
    Strategy,
    Tier,
    TierPolicy,
    Trip,
    Weights,
)
from .pool import ExpertPool
from .gates import REASONS, GateResult, Rejections, evaluate
from .ranking import CRITERIA, Candidate, RankResult, explain, rank
from .offers import ACTIONS, Offer, OfferDecision, escalate_to_specialist, next_offers, offer_expiry
from .batch import assign_batch, assign_greedy, assignment_cost, assignment_details
from .policy import Decision, DispatchSettings, ExpertHistory, decide, settings_table

__all__ = [
    "ACTIONS",
    "CRITERIA",
    "DEFAULT_WEIGHTS",
    "REASONS",
    "Candidate",
    "Decision",
    "DispatchError",
    "DispatchSettings",
    "Expert",
    "ExpertHistory",
    "ExpertPool",
    "GateResult",
    "InvalidInput",
    "Job",
    "Kind",
    "Offer",
    "OfferDecision",
    "OfferRecord",
    "OfferState",
    "Policy",
    "Pool",
    "PoolStep",
    "RankResult",
    "Rejections",
    "Strategy",
    "Tier",
    "TierPolicy",
    "Trip",
    "Weights",
    "assign_batch",
    "assign_greedy",
    "assignment_cost",
    "assignment_details",
    "decide",
    "escalate_to_specialist",
    "evaluate",
    "explain",
    "next_offers",
    "offer_expiry",
    "rank",
    "settings_table",
]
