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

__all__ = [
    "DispatchError",
    "Expert",
    "InvalidInput",
    "Job",
    "Kind",
    "OfferRecord",
    "OfferState",
    "Policy",
    "Pool",
    "PoolStep",
    "Strategy",
    "Tier",
    "TierPolicy",
    "Weights",
]
