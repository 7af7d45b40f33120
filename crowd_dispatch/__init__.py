"""crowd_dispatch: the pure-Python dispatch engine of Crowd Service (no Odoo import)."""

from .errors import DispatchError, InvalidInput
from .model import (
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
    Weights,
)
from .pool import ExpertPool
from .gates import REASONS, GateResult, Rejections, evaluate
from .ranking import CRITERIA, Candidate, RankResult, explain, rank

__all__ = [
    "CRITERIA",
    "REASONS",
    "Candidate",
    "DispatchError",
    "Expert",
    "ExpertPool",
    "GateResult",
    "InvalidInput",
    "Job",
    "Kind",
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
    "Weights",
    "evaluate",
    "explain",
    "rank",
]
