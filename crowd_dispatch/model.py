"""Plain typed inputs of the engine: experts, jobs, policies, offer history.

Everything here is immutable data with validation in ``__post_init__``; bad values
raise :class:`crowd_dispatch.errors.InvalidInput` naming the field. No Odoo, no
database, no network.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum

from .errors import InvalidInput


class Kind(str, Enum):
    """Who the expert is; each kind is served from its own pool."""

    EMPLOYEE = "employee"  # own technician -> pool "own"
    PARTNER = "partner"  # partner company's technician -> pool "partner"
    FREELANCE = "freelance"  # crowd freelancer -> pool "crowd"


class Pool(str, Enum):
    OWN = "own"
    PARTNER = "partner"
    CROWD = "crowd"


POOL_OF_KIND = {Kind.EMPLOYEE: Pool.OWN, Kind.PARTNER: Pool.PARTNER, Kind.FREELANCE: Pool.CROWD}


class Tier(str, Enum):
    FIRST_RESPONDER = "first_responder"
    TECHNICIAN = "technician"
    SPECIALIST = "specialist"

    @property
    def rank(self):
        """0, 1, 2 in escalation order."""
        return TIER_ORDER[self]


TIER_ORDER = {Tier.FIRST_RESPONDER: 0, Tier.TECHNICIAN: 1, Tier.SPECIALIST: 2}


class TierPolicy(str, Enum):
    ANY = "any"  # every tier at or above the job's minimum tier, ranked together
    FIRST_RESPONDER_FIRST = "first_responder_first"  # lowest eligible tier first, escalate later
    DIRECT_SPECIALIST = "direct_specialist"  # specialists only


class Strategy(str, Enum):
    SEQUENTIAL = "sequential"  # one offer at a time
    BROADCAST = "broadcast"  # top N at once, first acceptance wins


class OfferState(str, Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


def _enum(enum_cls, value, field_name):
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum_cls)
        raise InvalidInput(field_name, f"must be one of {allowed}, got {value!r}") from None


def check_position(prefix, lat, lon):
    """Raise InvalidInput unless (lat, lon) is a finite WGS84 position."""
    for name, value, bound in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidInput(f"{prefix}.{name}", f"must be a number, got {value!r}")
        if math.isnan(value) or math.isinf(value) or not -bound <= value <= bound:
            raise InvalidInput(f"{prefix}.{name}", f"must be within [-{bound:g}, {bound:g}], got {value!r}")


def check_non_negative(prefix, name, value):
    if value is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value) or value < 0:
        raise InvalidInput(f"{prefix}.{name}", f"must be a non-negative number, got {value!r}")


@dataclass(frozen=True)
class Trip:
    """The visit an expert is driving to, not yet on site: its ``priority``, its SLA ``deadline`` and the
    expert's current position (``lat``, ``lon``). An urgent job may divert the expert from it
    (:mod:`crowd_dispatch.policy`, ``divert``)."""

    priority: int
    lat: float
    lon: float
    deadline: datetime

    def __post_init__(self):
        if not isinstance(self.priority, int) or isinstance(self.priority, bool) or self.priority < 0:
            raise InvalidInput("trip.priority", f"must be an int >= 0, got {self.priority!r}")
        check_position("trip", self.lat, self.lon)
        if not isinstance(self.deadline, datetime):
            raise InvalidInput("trip.deadline", f"must be a datetime, got {self.deadline!r}")


@dataclass(frozen=True)
class Expert:
    """One candidate. ``skills`` maps skill code -> level (int, higher is better);
    ``certificates`` maps certificate type code -> last valid day (inclusive)."""

    id: int | str
    kind: Kind
    tier: Tier
    lat: float
    lon: float
    radius_km: float = 50.0
    skills: dict = field(default_factory=dict)
    certificates: dict = field(default_factory=dict)
    online: bool = True
    busy_until: datetime | None = None
    # Working windows as (start, end) datetimes; empty means always within hours.
    windows: tuple = ()
    capacity: int = 1
    load: int = 0
    rating: float = 4.0  # 0..5
    acceptance_rate: float = 0.7  # 0..1
    cost_per_job: float = 0.0
    recent_offers: int = 0  # offers received in the fairness window
    trip: Trip | None = None  # the visit they are driving to (not yet on site), if any

    def __post_init__(self):
        prefix = f"expert[{self.id}]"
        object.__setattr__(self, "kind", _enum(Kind, self.kind, f"{prefix}.kind"))
        object.__setattr__(self, "tier", _enum(Tier, self.tier, f"{prefix}.tier"))
        check_position(prefix, self.lat, self.lon)
        for name in ("radius_km", "capacity", "load", "cost_per_job", "recent_offers"):
            check_non_negative(prefix, name, getattr(self, name))
        if not 0 <= self.rating <= 5:
            raise InvalidInput(f"{prefix}.rating", f"must be within [0, 5], got {self.rating!r}")
        if self.trip is not None and not isinstance(self.trip, Trip):
            raise InvalidInput(f"{prefix}.trip", f"must be a Trip or None, got {type(self.trip).__name__}")
        if not 0 <= self.acceptance_rate <= 1:
            raise InvalidInput(f"{prefix}.acceptance_rate", f"must be within [0, 1], got {self.acceptance_rate!r}")
        for skill, level in self.skills.items():
            if not isinstance(level, int) or level < 0:
                raise InvalidInput(f"{prefix}.skills[{skill}]", f"level must be a non-negative int, got {level!r}")
        for cert, until in self.certificates.items():
            if not isinstance(until, date):
                raise InvalidInput(f"{prefix}.certificates[{cert}]", f"must be a date, got {until!r}")

    @property
    def pool(self):
        return POOL_OF_KIND[self.kind]


@dataclass(frozen=True)
class Job:
    """One service request to staff. ``skills`` maps skill code -> minimum level."""

    id: int | str
    lat: float
    lon: float
    created_at: datetime
    sla_deadline: datetime
    skills: dict = field(default_factory=dict)
    certificates: tuple = ()
    min_tier: Tier | None = None
    priority: int = 1  # 0 low .. 3 urgent (Odoo maintenance priorities)
    duration_min: float = 60.0
    equipment_model: str | None = None
    max_cost: float = 0.0  # cost ceiling of one visit (0 = none): experts costing more are gated out

    def __post_init__(self):
        prefix = f"job[{self.id}]"
        check_position(prefix, self.lat, self.lon)
        if self.min_tier is not None:
            object.__setattr__(self, "min_tier", _enum(Tier, self.min_tier, f"{prefix}.min_tier"))
        check_non_negative(prefix, "duration_min", self.duration_min)
        check_non_negative(prefix, "max_cost", self.max_cost)
        if self.sla_deadline < self.created_at:
            raise InvalidInput(f"{prefix}.sla_deadline", "must not be before created_at")
        for skill, level in self.skills.items():
            if not isinstance(level, int) or level < 0:
                raise InvalidInput(f"{prefix}.skills[{skill}]", f"level must be a non-negative int, got {level!r}")
        object.__setattr__(self, "certificates", tuple(self.certificates))


@dataclass(frozen=True)
class Weights:
    """Score weights; each criterion is normalised to [0, 1] before weighting.

    The defaults are the dispatch policy's (the single source: the Odoo dispatch rule's weight fields
    and the simulator's ``ours`` take them from here, see :data:`DEFAULT_WEIGHTS`). They are close to
    nearest-first on purpose: capacity, not the speed of a "yes", is the bottleneck (docs/SIMULATION.md),
    so the ranking mostly saves travel and the gains come from the levers of ``policy.DispatchSettings``.
    """

    travel: float = 0.80
    skill_surplus: float = 0.01
    rating: float = 0.02
    cost: float = 0.0
    acceptance: float = 0.10
    fairness: float = 0.03
    sla_slack: float = 0.04

    def __post_init__(self):
        for name, value in self.__dict__.items():
            check_non_negative("policy.weights", name, value)


DEFAULT_WEIGHTS = Weights()  # the dispatch policy's default weights (one source for Odoo and the simulator)


@dataclass(frozen=True)
class PoolStep:
    """A pool becomes eligible ``delay_min`` minutes after the job was created."""

    pool: Pool
    delay_min: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "pool", _enum(Pool, self.pool, "policy.pools.pool"))
        check_non_negative("policy.pools", "delay_min", self.delay_min)


@dataclass(frozen=True)
class Policy:
    pools: tuple = (PoolStep(Pool.OWN, 0), PoolStep(Pool.PARTNER, 10), PoolStep(Pool.CROWD, 20))
    max_radius_km: float = 60.0
    min_rating: float = 0.0
    tier_policy: TierPolicy = TierPolicy.FIRST_RESPONDER_FIRST
    weights: Weights = field(default_factory=Weights)
    strategy: Strategy = Strategy.BROADCAST
    top_n: int = 3
    offer_timeout_min: float = 5.0
    max_rounds: int = 3
    speed_kmh: float = 40.0  # average road speed turning distance into ETA
    road_factor: float = 1.3  # road distance / great-circle distance
    check_certificates: bool = True

    def __post_init__(self):
        object.__setattr__(self, "tier_policy", _enum(TierPolicy, self.tier_policy, "policy.tier_policy"))
        object.__setattr__(self, "strategy", _enum(Strategy, self.strategy, "policy.strategy"))
        object.__setattr__(self, "pools", tuple(self.pools))
        for name in ("max_radius_km", "min_rating", "offer_timeout_min"):
            check_non_negative("policy", name, getattr(self, name))
        for name in ("top_n", "max_rounds"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise InvalidInput(f"policy.{name}", f"must be an int >= 1, got {getattr(self, name)!r}")
        if not self.speed_kmh > 0:
            raise InvalidInput("policy.speed_kmh", f"must be > 0, got {self.speed_kmh!r}")


@dataclass(frozen=True)
class OfferRecord:
    """One offer already made for a job (the history offer rounds start from)."""

    expert_id: int | str
    round: int
    state: OfferState
    sent_at: datetime
    responded_at: datetime | None = None

    def __post_init__(self):
        object.__setattr__(self, "state", _enum(OfferState, self.state, "offer.state"))
