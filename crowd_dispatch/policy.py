"""The dispatch policy: levers on top of the offer rounds, one implementation for every caller.

The Odoo dispatch and the region simulator (:mod:`crowd_dispatch.simulate`, policy ``ours``)
both call :func:`decide` with the same :class:`DispatchSettings`; the simulator keeps no copy
of these rules. :func:`decide` is pure: it reads the job, the expert pool (positions, busy
until, windows, acceptance), the engine :class:`~crowd_dispatch.model.Policy`, the job's
offer history and ``now``, and returns a :class:`Decision` with a code and parameters (the
caller renders them; nothing here is user-facing text).

The caller's side of the contract:

- an expert on a job is in the pool at the job's site with ``busy_until`` = the job's planned
  end (past its planned end but not done: a few minutes after ``now``);
- with ``one_open_offer_per_expert``, an expert holding an open offer for another job is in the
  pool with ``load = capacity``;
- call :func:`decide` when a job arrives, when an offer is answered or expires, at the
  decision's ``wait_until``, and for every waiting job when an expert frees up or comes
  online (event-driven, no polling); a deferred job needs no call before ``wait_until``
  while :func:`free_share` stays below its ``params["recheck_free_share"]``;
- on an acceptance, withdraw the expert's other pending offers (:func:`offers_to_withdraw`)
  and call :func:`decide` at once for the jobs they belonged to;
- ``reserved``: experts another job already waits for (look-ahead), so two jobs do not
  wait for the same expert;
- an expert driving to a visit (not yet on site) may carry a :class:`~crowd_dispatch.model.Trip`:
  that visit's priority and SLA deadline and where the expert is now. On acceptance of a
  ``divert`` offer the caller takes the expert off that visit and dispatches it again at once,
  after the expert holds the new job;
- ``learning``: per-expert :class:`ExpertHistory` from the company's own offers and visits;
  :func:`learned_expert` turns it into the acceptance the ranking uses, :func:`decide` uses the
  learned travel factor and first-time-fix rate.

The levers, in the order :func:`decide` applies them (each one a setting of
:class:`DispatchSettings`, see :func:`settings_table`):

1. **Stagger** (``stagger``): while offers are pending and at least ``stagger_min_free_share``
   of the online experts are free, after ``stagger_after_min`` without an answer the next
   expert (at most ``stagger_max_extra_travel_min`` farther than the nearest pending one) gets
   an offer too; earlier offers stay open, the first acceptance wins. With ``stagger_within_sla``
   only an expert who would reach the door before the SLA deadline (``expected_response_min`` to
   answer plus travel) gets such an offer.
2. **Deferral** (``defer``): a job of priority <= ``defer_max_priority`` is held while fewer
   than ``defer_free_share_below`` of the online experts are free, until
   ``defer_release_before_deadline_min`` before its SLA deadline or ``defer_max_wait_min``
   after creation, whichever comes first; never into a time with fewer qualified people on
   shift (at the release plus the job's duration, less than ``defer_min_staffing`` of those on
   shift now, from the working windows).
3. **SLA-driven widening** (``sla_widening``): when the best candidate of the open pools
   (or none) would reach the door after the SLA deadline (``expected_response_min`` to answer
   plus travel), the next pool opens now instead of at its delay.
4. **Diversion** (``divert``): for jobs of priority >= ``divert_min_priority``, while at least
   ``divert_min_free_share`` of the online experts are free, an expert driving to a less urgent
   visit (a :class:`~crowd_dispatch.model.Trip`) whose SLA deadline is still at least
   ``divert_min_slack_min`` away counts from where they are now; when the best of them reaches the
   door more than ``divert_min_gain_min`` before the best free expert, they get the offer
   (code ``divert``).
5. **Look-ahead** (``lookahead``): for jobs of priority >= ``lookahead_min_priority``, experts
   whose current job ends within ``lookahead_horizon_min`` count too, arriving at their
   planned end plus travel from their current site; when the best of them beats the best
   free expert by more than ``lookahead_min_gain_min``, the job waits for them.
6. **Re-scoring**: the ranked shortlist is re-ordered by travel time corrected with each
   expert's learned travel factor (``learned_travel``) and by their first-time-fix rate on the
   job's equipment model (``asset_weight``).

**Shortage pay** (``shortage_pay_after_rounds``, ``shortage_pay_step``, ``shortage_pay_cap``) is
not a decision but the price of the next round: :func:`shortage_pay` reads the job's offer history
(rounds in which every offer was declined or expired) and returns the share added to the rate.
The simulator pays it and its experts accept more readily for it; Odoo shows it on the offer and
carries it to the payout.
"""

import copy
import math
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta

import numpy as np

from .errors import InvalidInput
from .gates import check_inputs, evaluate, next_pool_opening, pool_openings, skill_mask, tier_mask, window_mask
from .geo import eta_minutes, haversine_km
from .model import Expert, OfferState, PoolStep
from .offers import Offer, blocked_experts, next_offers, offer_expiry
from .pool import to_epoch
from .ranking import CRITERIA, weight_vector

ACTIONS = ("offer", "wait", "defer", "escalate", "assigned")
# Decision codes (the caller renders them; parameters in Decision.params):
CODES = (
    "assigned",  # an offer was accepted
    "offer",  # offers to send now
    "stagger",  # one more offer while earlier ones stay open
    "pending",  # offers are pending: wait for an answer or the expiry
    "deferred",  # held under congestion until wait_until; params: free_share, recheck_free_share
    "lookahead",  # waiting for an expert finishing soon; params: expert_id, wait_min, gain_min
    "divert",  # an offer to an expert driving to a less urgent visit; params: expert_id, door_min, gain_min
    "no_candidate",  # nobody now; wait for an expert to free up or a pool to open
    "escalate",  # no candidate in any open pool, or rounds exhausted
)
TRAVEL_PRIOR_TRIP_MIN = 20.0  # shrinkage of the travel factor: one prior trip of this many minutes
OVERDUE_BUSY_MIN = 5.0  # busy_until for an expert past their planned end (caller's side, documented)


def setting(default, kind, lo, hi, doc):
    """A settings dataclass field: its default, type ("bool", "int", "float"), bounds and one-line doc."""
    return field(default=default, metadata={"type": kind, "min": lo, "max": hi, "doc": doc})


def check_settings(settings, prefix):
    """Raise InvalidInput (``prefix.name``) unless every field of the settings dataclass ``settings`` has its
    type and lies within its bounds (the fields' metadata, see ``setting``)."""
    for f in fields(settings):
        value = getattr(settings, f.name)
        meta = f.metadata
        if meta["type"] == "bool":
            if not isinstance(value, bool):
                raise InvalidInput(f"{prefix}.{f.name}", f"must be true or false, got {value!r}")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidInput(f"{prefix}.{f.name}", f"must be a number, got {value!r}")
        if meta["type"] == "int" and not isinstance(value, int):
            raise InvalidInput(f"{prefix}.{f.name}", f"must be an integer, got {value!r}")
        if not meta["min"] <= value <= meta["max"]:
            bounds = f"[{meta['min']}, {meta['max']}]"
            raise InvalidInput(f"{prefix}.{f.name}", f"must be within {bounds}, got {value!r}")


def settings_rows(cls):
    """One row per field of the settings dataclass ``cls``: name, type, default, min, max, doc."""
    return [
        {"name": f.name, "default": f.default, **{k: f.metadata[k] for k in ("type", "min", "max", "doc")}}
        for f in fields(cls)
    ]


@dataclass(frozen=True)
class DispatchSettings:
    """Every lever of the dispatch policy, with its default. ``settings_table()`` lists them for the UI."""

    lookahead: bool = setting(True, "bool", None, None, "Also consider experts who finish their current job soon.")
    lookahead_horizon_min: float = setting(
        45.0, "float", 0, 240, "Minutes ahead in which an expert's current job must end to be waited for."
    )
    lookahead_min_gain_min: float = setting(
        10.0, "float", 0, 120, "Wait only if that expert reaches the door this many minutes before the best free one."
    )
    lookahead_min_priority: int = setting(3, "int", 0, 3, "Lowest job priority that may wait for a busy expert.")
    stagger: bool = setting(True, "bool", None, None, "Offer the next expert too when nobody answers quickly.")
    stagger_after_min: float = setting(2.0, "float", 0, 60, "Minutes without an answer before the next offer.")
    stagger_max_extra_travel_min: float = setting(
        20.0, "float", 0, 120, "Extra travel minutes allowed over the nearest expert already offered."
    )
    stagger_min_free_share: float = setting(
        0.4, "float", 0, 1, "Stagger only while at least this share of online experts is free."
    )
    stagger_max_open: int = setting(3, "int", 1, 10, "Most offers open at once for one job.")
    stagger_within_sla: bool = setting(
        True, "bool", None, None, "Stagger only to an expert who would reach the door before the SLA deadline."
    )
    defer: bool = setting(True, "bool", None, None, "Hold non-urgent jobs while most experts are busy.")
    defer_max_priority: int = setting(2, "int", 0, 3, "Highest job priority that may be deferred.")
    defer_free_share_below: float = setting(
        0.4, "float", 0, 1, "Defer while fewer than this share of online experts is free."
    )
    defer_release_before_deadline_min: float = setting(
        120.0, "float", 0, 1440, "A deferred job goes out at the latest this many minutes before its SLA deadline."
    )
    defer_max_wait_min: float = setting(
        120.0, "float", 0, 1440, "A deferred job goes out at the latest this many minutes after creation."
    )
    defer_min_staffing: float = setting(
        0.8, "float", 0, 1, "Defer only if at release time at least this share of the headcount on shift now works."
    )
    defer_staffing_horizon_min: float = setting(
        0.0,
        "float",
        0,
        1440,
        "Defer only if the headcount on shift also holds this many minutes ahead (0: only at the release).",
    )
    sla_widening: bool = setting(
        True, "bool", None, None, "Open the next pool early when the SLA would be missed otherwise."
    )
    expected_response_min: float = setting(
        5.0, "float", 0, 60, "Minutes an expert takes to answer, in the predicted time to the door."
    )
    reask_after_min: float = setting(
        30.0, "float", 0, 1440, "An expert who declined may be asked again after this many minutes (0: never)."
    )
    one_open_offer_per_expert: bool = setting(
        True, "bool", None, None, "An expert holding an open offer gets no other one until they answer."
    )
    divert: bool = setting(
        True, "bool", None, None, "An urgent job may divert an expert driving to a less urgent visit."
    )
    divert_min_priority: int = setting(3, "int", 0, 3, "Lowest job priority that may divert an expert.")
    divert_min_gain_min: float = setting(
        10.0, "float", 0, 120, "Divert only if that expert reaches the door this many minutes before the best free one."
    )
    divert_min_slack_min: float = setting(
        240.0, "float", 0, 1440, "Divert only from a visit that still has this many minutes before its SLA deadline."
    )
    divert_min_free_share: float = setting(
        0.2, "float", 0, 1, "Divert only while at least this share of online experts is free."
    )
    withdraw_on_accept: bool = setting(
        True, "bool", None, None, "On acceptance, withdraw the expert's other open offers and re-dispatch those jobs."
    )
    learned_acceptance: bool = setting(
        True, "bool", None, None, "Use each expert's own acceptance history (shrunk toward the prior)."
    )
    learned_travel: bool = setting(
        True, "bool", None, None, "Correct travel times with each expert's own history (shrunk toward 1)."
    )
    prior_acceptance: float = setting(0.7, "float", 0, 1, "Acceptance assumed for an expert without history.")
    prior_strength: float = setting(
        10.0, "float", 0, 1000, "Weight of the prior, in offers (or trips, or visits) of history."
    )
    prior_first_time_fix: float = setting(
        0.85, "float", 0, 1, "First-time-fix rate assumed for an expert without history on a model."
    )
    asset_weight: float = setting(
        60.0, "float", 0, 600, "Travel minutes one full point of first-time-fix rate is worth."
    )
    shortage_pay_after_rounds: int = setting(
        0,
        "int",
        0,
        50,
        "Shortage pay: after this many rounds declined or expired, the next round pays a step more (0: off).",
    )
    shortage_pay_step: float = setting(
        0.1, "float", 0, 1, "Shortage pay: share of the rate added per round beyond the threshold (0.1 = +10%)."
    )
    shortage_pay_cap: float = setting(
        0.5, "float", 0, 5, "Shortage pay: most that shortage adds to the rate (0.5 = at most +50%)."
    )

    def __post_init__(self):
        check_settings(self, "settings")

    @classmethod
    def from_dict(cls, values):
        """Settings from a plain mapping (unknown keys are errors, missing keys take the default)."""
        if not isinstance(values, dict):
            raise InvalidInput("settings", "must be a mapping")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInput(f"settings.{unknown[0]}", "unknown setting")
        return cls(**values)

    def without(self, *levers):
        """A copy with the named boolean levers switched off (for measuring one lever at a time)."""
        return replace(self, **dict.fromkeys(levers, False))


def settings_table():
    """One row per setting: name, type, default, min, max, doc (for the Odoo dispatch rule and the docs)."""
    return settings_rows(DispatchSettings)


@dataclass
class ExpertHistory:
    """What the company knows of one expert from past offers and visits (the learning input)."""

    offers: int = 0  # offers answered or expired
    accepted: int = 0
    trips: int = 0
    planned_travel_min: float = 0.0  # sum over trips of the planned travel time
    actual_travel_min: float = 0.0  # sum over the same trips of the actual travel time
    visits_by_model: dict = field(default_factory=dict)  # equipment model -> (visits, fixed first time)


def learned_acceptance(history, settings):
    """Acceptance rate shrunk toward the prior: (accepted + s * prior) / (offers + s)."""
    s = settings.prior_strength
    if history is None or history.offers + s <= 0:
        return settings.prior_acceptance
    return (history.accepted + s * settings.prior_acceptance) / (history.offers + s)


def learned_travel_factor(history, settings):
    """Actual / planned travel time, shrunk toward 1 with ``prior_strength`` trips of TRAVEL_PRIOR_TRIP_MIN."""
    if history is None or not settings.learned_travel:
        return 1.0
    prior = settings.prior_strength * TRAVEL_PRIOR_TRIP_MIN
    if history.planned_travel_min + prior <= 0:
        return 1.0
    return (history.actual_travel_min + prior) / (history.planned_travel_min + prior)


def first_time_fix_rate(history, model, settings):
    """First-time-fix rate of the expert on ``model``, shrunk toward ``prior_first_time_fix``."""
    if history is None or model is None:
        return settings.prior_first_time_fix
    visits, fixed = history.visits_by_model.get(model, (0, 0))
    s = settings.prior_strength
    if visits + s <= 0:
        return settings.prior_first_time_fix
    return (fixed + s * settings.prior_first_time_fix) / (visits + s)


def failed_rounds(history):
    """Rounds of offers of a job that are over without an acceptance: every offer of the round was
    declined or expired (a round with a pending, accepted or withdrawn offer does not count)."""
    by_round = {}
    for record in history:
        by_round.setdefault(record.round, set()).add(record.state)
    failed = {OfferState.DECLINED, OfferState.EXPIRED}
    return sum(1 for states in by_round.values() if states and states <= failed)


def shortage_steps(rounds_failed, settings):
    """Shortage steps earned after ``rounds_failed`` failed rounds: none before
    ``shortage_pay_after_rounds``, then one per failed round from it on (0 when the lever is off)."""
    after = settings.shortage_pay_after_rounds
    if not after or settings.shortage_pay_step <= 0 or rounds_failed < after:
        return 0
    return rounds_failed - after + 1


def shortage_pay(history, settings):
    """Shortage pay of the next round of a job: ``(extra share, steps, failed rounds)``.

    ``extra = min(steps * shortage_pay_step, shortage_pay_cap)``; the round's pay is the rate times
    ``1 + extra`` (the Odoo pay rules stack it after the time-window and urgency multipliers)."""
    rounds = failed_rounds(history)
    steps = shortage_steps(rounds, settings)
    extra = min(steps * settings.shortage_pay_step, settings.shortage_pay_cap) if steps else 0.0
    return round(extra, 6), steps, rounds


def learned_expert(expert, history, settings):
    """The expert with the acceptance rate the ranking should use (learned, or the prior)."""
    if not isinstance(expert, Expert):
        raise InvalidInput("expert", f"must be an Expert, got {type(expert).__name__}")
    rate = learned_acceptance(history, settings) if settings.learned_acceptance else settings.prior_acceptance
    return replace(expert, acceptance_rate=float(min(max(rate, 0.0), 1.0)))


@dataclass(frozen=True)
class Decision:
    """What to do for a job now. ``action`` in :data:`ACTIONS`, ``code`` in :data:`CODES`.

    ``wait_until``: call again at the latest then. ``waiting_for``: the expert a look-ahead
    waits for (pass it in ``reserved`` for the other jobs).
    """

    action: str
    code: str
    offers: tuple = ()
    wait_until: object = None
    waiting_for: object = None
    params: dict = field(default_factory=dict)
    round: int = 0


def free_share(pool, now):
    """Share of the experts online now (and inside a working window, if they declared any) who are free."""
    online = pool.online.copy()
    windows = window_mask(pool, now)
    if windows is not None:
        online &= windows
    total = int(np.count_nonzero(online))
    if not total:
        return 0.0
    free = online & (pool.busy_until <= to_epoch(now)) & (pool.free > 0)
    return float(np.count_nonzero(free)) / total


def _staffing(job, pool, policy, later, now):
    """Experts qualified for ``job``, online and inside a working window at ``later`` / the same at ``now``.

    1 when nobody declared working windows.
    """
    at_now, at_later = window_mask(pool, now), window_mask(pool, later)
    if at_now is None:
        return 1.0
    qualified = pool.online.copy()
    for mask in (skill_mask(job, pool), tier_mask(job, pool, policy)):
        if mask is not None:
            qualified &= mask
    staffed = int(np.count_nonzero(qualified & at_now))
    return float(np.count_nonzero(qualified & at_later)) / staffed if staffed else 0.0


def offers_to_withdraw(expert_id, open_offers):
    """The open offers to withdraw when ``expert_id`` accepts one: their other ones.

    ``open_offers`` is an iterable of (job id, expert id) pairs; returns the pairs to withdraw.
    """
    return [(job_id, eid) for job_id, eid in open_offers if eid == expert_id]


def _travel_factors(ids, learning, settings):
    if not learning or not settings.learned_travel:
        return np.ones(len(ids))
    return np.array([learned_travel_factor(learning.get(i), settings) for i in ids], dtype=np.float64)


def _rescorer(job, policy, settings, learning):
    """Re-order candidates by score with the travel criterion corrected and the first-time-fix bonus."""
    w_travel = weight_vector(policy)[CRITERIA.index("travel")]
    max_eta = eta_minutes(policy.max_radius_km, policy.speed_kmh, policy.road_factor) or 1.0
    use_asset = job.equipment_model is not None and settings.asset_weight > 0

    def adjusted(candidate):
        history = learning.get(candidate.expert_id) if learning else None
        extra = candidate.eta_min * (learned_travel_factor(history, settings) - 1.0)
        if use_asset:
            ftf = first_time_fix_rate(history, job.equipment_model, settings)
            extra -= settings.asset_weight * (ftf - settings.prior_first_time_fix)
        return candidate.score - w_travel * extra / max_eta

    def rescore(candidates):
        return sorted(candidates, key=lambda c: -adjusted(c))

    return rescore


def _arrival(candidate, learning, settings):
    """Predicted travel minutes of a candidate, with the learned travel factor."""
    history = learning.get(candidate.expert_id) if learning else None
    return candidate.eta_min * learned_travel_factor(history, settings)


def _widen(job, policy, now):
    """The policy with the next pool(s) to open after ``now`` open now."""
    opening = next_pool_opening(job, policy, now)
    if opening is None:
        return None
    elapsed = max((to_epoch(now) - to_epoch(job.created_at)) / 60.0, 0.0)
    openings = pool_openings(job, policy)
    pools = tuple(
        PoolStep(step.pool, elapsed) if openings[step.pool] == opening and step.delay_min > elapsed else step
        for step in policy.pools
    )
    return replace(policy, pools=pools)


def _soon_free(job, pool, policy, settings, now, exclude, learning):
    """Best expert finishing within the horizon: (expert id, minutes to the door, planned end) or None."""
    gated = evaluate(job, pool, policy, now, exclude=exclude, busy_grace_min=settings.lookahead_horizon_min)
    now_epoch = to_epoch(now)
    busy_until = pool.busy_until[gated.index]
    busy = busy_until > now_epoch
    if not np.any(busy):
        return None
    rows, distance, until = gated.index[busy], gated.distance_km[busy], busy_until[busy]
    ids = [pool.ids[r] for r in rows]
    travel = eta_minutes(distance, policy.speed_kmh, policy.road_factor) * _travel_factors(ids, learning, settings)
    door = (until - now_epoch) / 60.0 + travel
    best = int(np.argmin(door))
    return ids[best], float(door[best]), float(until[best])


def _on_the_way(job, pool, settings, now, share):
    """The pool with only the experts ``job`` may divert, each at their current position and free (their
    trip's visit is their work in hand), or None when there is none (``divert`` and its gates)."""
    if not settings.divert or job.priority < settings.divert_min_priority or share < settings.divert_min_free_share:
        return None
    slack_until = to_epoch(now) + 60.0 * settings.divert_min_slack_min
    with np.errstate(invalid="ignore"):
        rows = (pool.trip_priority >= 0) & (pool.trip_priority < job.priority) & (pool.trip_deadline >= slack_until)
    if not np.any(rows):
        return None
    view = copy.copy(pool)
    view.online = pool.online & rows
    view.lat, view.lon = np.where(rows, pool.trip_lat, pool.lat), np.where(rows, pool.trip_lon, pool.lon)
    view.lat_rad, view.lon_rad = np.radians(view.lat), np.radians(view.lon)
    view.cos_lat = np.cos(view.lat_rad)
    view.busy_until = np.where(rows, -math.inf, pool.busy_until)
    return view


def _pending_decision(job, pool, policy, settings, records, pending, now, share, exclude, learning, round_number):
    """Offers are pending: stagger one more when the rules allow, else wait for the answers."""
    expiry = min(offer_expiry(r.sent_at, policy) for r in pending)
    wait = Decision("wait", "pending", wait_until=expiry, params={"pending": len(pending)}, round=round_number)
    if not settings.stagger or len(pending) >= settings.stagger_max_open or share < settings.stagger_min_free_share:
        return wait
    step_at = max(r.sent_at for r in pending) + timedelta(minutes=settings.stagger_after_min)
    if to_epoch(step_at) > to_epoch(now):
        return replace(wait, wait_until=min(step_at, expiry, key=to_epoch))
    base = next_offers(
        job, pool, replace(policy, strategy="sequential"), [r for r in records if r not in pending], now,
        reask_after_min=settings.reask_after_min or None, exclude={*exclude, *(r.expert_id for r in pending)},
        rescore=_rescorer(job, policy, settings, learning),
    )  # fmt: skip
    if base.action != "offer":
        return wait
    rows = pool.rows([r.expert_id for r in pending])
    distances = haversine_km(job.lat, job.lon, pool.lat[rows], pool.lon[rows])
    nearest_pending = float(np.min(eta_minutes(distances, policy.speed_kmh, policy.road_factor))) if rows.size else 0.0
    candidate = base.offers[0].candidate
    if candidate.eta_min > nearest_pending + settings.stagger_max_extra_travel_min:
        return wait
    door = settings.expected_response_min + _arrival(candidate, learning, settings)
    if settings.stagger_within_sla and to_epoch(now) + 60.0 * door > to_epoch(job.sla_deadline):
        return wait  # a hedge that cannot make the SLA only spends a likely "yes" and the expert's time
    offer = replace(base.offers[0], round=round_number)
    return Decision(
        "offer", "stagger", offers=(offer,), wait_until=offer.expires_at, round=round_number,
        params={"expert_id": candidate.expert_id, "open_offers": len(pending) + 1},
    )  # fmt: skip


def decide(job, pool, policy, settings, history, now, *, reserved=(), learning=None):
    """The next step for ``job`` at ``now`` under ``settings`` (see the module docstring)."""
    check_inputs(job, pool, policy, now)
    if not isinstance(settings, DispatchSettings):
        raise InvalidInput("settings", f"must be DispatchSettings, got {type(settings).__name__}")
    records = list(history)
    accepted = [r for r in records if r.state is OfferState.ACCEPTED]
    if accepted:
        return Decision("assigned", "assigned", params={"expert_id": accepted[0].expert_id})
    now_epoch = to_epoch(now)
    share = free_share(pool, now)
    round_number = max((r.round for r in records), default=0)
    pending = [
        r for r in records if r.state is OfferState.PENDING and to_epoch(offer_expiry(r.sent_at, policy)) > now_epoch
    ]
    reserved = set(reserved)
    if pending:
        return _pending_decision(
            job, pool, policy, settings, records, pending, now, share, reserved, learning, round_number
        )
    if settings.defer and job.priority <= settings.defer_max_priority and share < settings.defer_free_share_below:
        release = min(
            job.sla_deadline - timedelta(minutes=settings.defer_release_before_deadline_min),
            job.created_at + timedelta(minutes=settings.defer_max_wait_min),
            key=to_epoch,
        )
        job_end = release + timedelta(minutes=job.duration_min)
        ahead = now + timedelta(minutes=settings.defer_staffing_horizon_min)
        if (
            to_epoch(release) > now_epoch
            and _staffing(job, pool, policy, job_end, now) >= settings.defer_min_staffing
            and (
                not settings.defer_staffing_horizon_min
                or _staffing(job, pool, policy, ahead, now) >= settings.defer_min_staffing
            )
        ):
            params = {"free_share": round(share, 3), "recheck_free_share": settings.defer_free_share_below}
            return Decision("defer", "deferred", wait_until=release, params=params)
    reask = settings.reask_after_min or None
    rescore = _rescorer(job, policy, settings, learning)
    effective = policy
    base = next_offers(job, pool, effective, records, now, reask_after_min=reask, exclude=reserved, rescore=rescore)
    widened = False
    while settings.sla_widening and base.action != "assigned":
        door = (
            settings.expected_response_min + _arrival(base.offers[0].candidate, learning, settings)
            if base.action == "offer"
            else math.inf
        )
        if now_epoch + 60.0 * door <= to_epoch(job.sla_deadline):
            break
        wider = _widen(job, effective, now)
        if wider is None or wider == effective:
            break  # nothing left to open (a job dated after ``now`` opens nothing new: no endless loop)
        trial = next_offers(job, pool, wider, records, now, reask_after_min=reask, exclude=reserved, rescore=rescore)
        effective, widened = wider, True
        if trial.action == "offer" or base.action != "offer":
            base = trial
    free_door = _arrival(base.offers[0].candidate, learning, settings) if base.action == "offer" else math.inf
    on_the_way = _on_the_way(job, pool, settings, now, share)
    if on_the_way is not None:
        trial = next_offers(
            job, on_the_way, effective, records, now, reask_after_min=reask, exclude=reserved, rescore=rescore
        )
        if trial.action == "offer":
            door = _arrival(trial.offers[0].candidate, learning, settings)
            if door + settings.divert_min_gain_min < free_door:
                gain = round(free_door - door, 1) if math.isfinite(free_door) else None
                return Decision(
                    "offer", "divert", offers=trial.offers[:1], wait_until=trial.wait_until, round=trial.round,
                    params={"expert_id": trial.offers[0].expert_id, "door_min": round(door, 1), "gain_min": gain},
                )  # fmt: skip
    if settings.lookahead and job.priority >= settings.lookahead_min_priority:
        blocked = blocked_experts(records, policy, now, reask) | reserved
        soon = _soon_free(job, pool, effective, settings, now, blocked, learning)
        if soon is not None and soon[1] + settings.lookahead_min_gain_min < free_door:
            expert_id, door, until = soon
            gain = round(free_door - door, 1) if math.isfinite(free_door) else None
            return Decision(
                "wait", "lookahead", waiting_for=expert_id, round=round_number,
                wait_until=now + timedelta(seconds=until - now_epoch),
                params={
                    "expert_id": expert_id, "wait_min": round((until - now_epoch) / 60.0, 1),
                    "door_min": round(door, 1), "gain_min": gain,
                },
            )  # fmt: skip
    if base.action == "offer":
        return Decision(
            "offer", "offer", offers=base.offers, wait_until=base.wait_until, round=base.round,
            params={"expert_id": base.offers[0].expert_id, "widened": widened},
        )  # fmt: skip
    if base.action == "wait":
        return Decision("wait", "no_candidate", wait_until=base.wait_until, round=round_number)
    if base.action == "escalate" and not base.round > policy.max_rounds:
        # Nobody free in any open pool: the caller re-dispatches when an expert frees up.
        return Decision("escalate", "no_candidate", round=round_number)
    return Decision("escalate", "escalate", round=round_number)


__all__ = [
    "ACTIONS",
    "CODES",
    "Decision",
    "DispatchSettings",
    "ExpertHistory",
    "Offer",
    "decide",
    "failed_rounds",
    "first_time_fix_rate",
    "free_share",
    "learned_acceptance",
    "learned_expert",
    "learned_travel_factor",
    "offers_to_withdraw",
    "settings_table",
    "shortage_pay",
    "shortage_steps",
]
