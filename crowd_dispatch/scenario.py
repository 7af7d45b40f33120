"""Scenario files of the region simulator: parsing, validation and defaults.

A scenario is a JSON object. Unknown keys anywhere are errors; omitted optional keys take the
defaults below. Every error is an :class:`~crowd_dispatch.errors.InvalidInput` naming the dotted
field (for example ``experts.mix``).

=================================  =========================  ==============================================
key                                default                    meaning
=================================  =========================  ==============================================
``name``                           ``"scenario"``             label echoed in the KPIs
``seed``                           ``0``                      seed of experts, demand and behaviour
``duration_hours``                 ``8``                      jobs arrive during this time
``region.center``                  ``[46.95, 7.45]``          [lat, lon] of the region's centre
``region.radius_km``               ``30``                     experts and jobs lie within this radius
``skills``                         ``["general"]``            skill codes of the region
``experts.count``                  ``200``                    experts in the region
``experts.mix``                    0.2 / 0.3 / 0.5            share of employee / partner / freelance
``experts.tiers``                  0.5 / 0.35 / 0.15          share of first_responder / technician / specialist
``experts.skills_per_expert``      ``[1, 2]``                 [min, max] skills per expert (levels 1-3)
``experts.online_share``           ``0.6``                    share of experts online during the day
``experts.speed_kmh``              ``40``                     travel speed (a road factor of 1.3 applies)
``experts.accept_probability``     ``0.7``                    mean acceptance of a nearby offer
``experts.response_delay_min``     ``[1, 8]``                 [min, max] minutes to answer an offer
``demand.jobs_per_hour``           ``20``                     Poisson arrival rate
``demand.urgent_share``            ``0.5``                    share of urgent jobs (priority 3)
``demand.skills_per_job``          ``[1, 1]``                 [min, max] required skills per job (level 1)
``demand.service_minutes``         ``[20, 90]``               [min, max] minutes on site
``demand.sla_minutes``             urgent 60, normal 480      SLA: minutes from creation to the door
``experts.shift_hours``            ``8``                      length of an expert's shift (online window)
``experts.late_start_share``       ``0.3``                    share of experts whose shift starts mid-day
``experts.late_start_hours``       ``[2, 6]``                 [min, max] start of a mid-day shift (hours)
``experts.busy_at_start_share``    ``0.3``                    share of the early shift already on a job
``experts.in_progress_minutes``    ``[10, 90]``               [min, max] minutes left of that job
``experts.reask_after_min``        ``30``                     cool-off before a declined expert is re-asked
``experts.speed_spread``           ``0.2``                    sd of the log of an expert's travel-time factor
``experts.history_offers``         ``[0, 80]``                [min, max] past offers per expert (learning)
``experts.first_time_fix``         ``0.85``                   mean first-time-fix rate on an equipment model
``experts.first_time_fix_spread``  ``0.1``                    its sd over experts and models
``experts.pay_elasticity``         ``0.5``                    acceptance multiplier = (pay / ref pay) ** this
``experts.standby_accept``         ``0.4``                    chance an expert called on standby comes online
``experts.standby_delay_min``      ``[20, 60]``               minutes until a called expert is online
``experts.standby_shift_hours``    ``4``                      shift of an expert called in on a day off
``demand.duration_noise``          ``0.3``                    actual = planned * U(1 - noise, 1 + noise)
``demand.pay_per_hour``            ``60``                     pay of a job per planned hour on site
``demand.urgent_pay_factor``       ``1.5``                    pay multiplier of urgent jobs
``demand.equipment_models``        ``0``                      equipment models (0: no asset history)
``mechanics.*``                    all ``true``               realism switches (see :mod:`.simulate`)
=================================  =========================  ==============================================

``mechanics`` switches (all on by default; all off reproduces the first simulator):
``withdraw_on_accept``, ``event_driven``, ``shifts``, ``in_progress_start``, ``duration_noise``,
``reask``, ``pay_acceptance``, ``first_time_fix``.
"""

import copy
import json
import math
from pathlib import Path

from .errors import InvalidInput

DEFAULTS = {
    "name": "scenario",
    "seed": 0,
    "duration_hours": 8,
    "region": {"center": [46.95, 7.45], "radius_km": 30},
    "skills": ["general"],
    "experts": {
        "count": 200,
        "mix": {"employee": 0.2, "partner": 0.3, "freelance": 0.5},
        "tiers": {"first_responder": 0.5, "technician": 0.35, "specialist": 0.15},
        "skills_per_expert": [1, 2],
        "online_share": 0.6,
        "speed_kmh": 40,
        "accept_probability": 0.7,
        "response_delay_min": [1, 8],
        "shift_hours": 8,
        "late_start_share": 0.3,
        "late_start_hours": [2, 6],
        "busy_at_start_share": 0.3,
        "in_progress_minutes": [10, 90],
        "reask_after_min": 30,
        "speed_spread": 0.2,
        "history_offers": [0, 80],
        "first_time_fix": 0.85,
        "first_time_fix_spread": 0.1,
        "pay_elasticity": 0.5,
        "standby_accept": 0.4,
        "standby_delay_min": [20, 60],
        "standby_shift_hours": 4,
    },
    "demand": {
        "jobs_per_hour": 20,
        "urgent_share": 0.5,
        "skills_per_job": [1, 1],
        "service_minutes": [20, 90],
        "sla_minutes": {"urgent": 60, "normal": 480},
        "duration_noise": 0.3,
        "pay_per_hour": 60,
        "urgent_pay_factor": 1.5,
        "equipment_models": 0,
    },
    "mechanics": {
        "withdraw_on_accept": True,
        "event_driven": True,
        "shifts": True,
        "in_progress_start": True,
        "duration_noise": True,
        "reask": True,
        "pay_acceptance": True,
        "first_time_fix": True,
    },
}
MIX_KEYS = {"employee", "partner", "freelance"}
TIER_KEYS = {"first_responder", "technician", "specialist"}


def load(path):
    """Read and validate a scenario file."""
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as exc:
        raise InvalidInput("scenario", f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput("scenario", f"not valid JSON: {exc}") from None
    return validate(raw)


def validate(raw):
    """Return the scenario with defaults filled in, or raise InvalidInput naming the field."""
    if not isinstance(raw, dict):
        raise InvalidInput("scenario", "must be a JSON object")
    scenario = _merge(DEFAULTS, raw, "")
    if not isinstance(scenario["name"], str):
        raise InvalidInput("name", "must be a string")
    _int(scenario, "seed", minimum=0)
    _number(scenario, "duration_hours", positive=True)
    region = scenario["region"]
    center = region["center"]
    if (
        not isinstance(center, list)
        or len(center) != 2
        or not all(_is_number(v) for v in center)
        or not -90 <= center[0] <= 90
        or not -180 <= center[1] <= 180
    ):
        raise InvalidInput("region.center", f"must be [lat, lon] within range, got {center!r}")
    _number(region, "radius_km", positive=True, prefix="region.")
    skills = scenario["skills"]
    if not isinstance(skills, list) or not skills or not all(isinstance(s, str) and s.strip() for s in skills):
        raise InvalidInput("skills", "must be a non-empty list of skill codes")
    if len(set(skills)) != len(skills):
        raise InvalidInput("skills", "must not repeat a skill")
    experts = scenario["experts"]
    _int(experts, "count", minimum=1, prefix="experts.")
    _shares(experts, "mix", MIX_KEYS, "experts.")
    _shares(experts, "tiers", TIER_KEYS, "experts.")
    _range(experts, "skills_per_expert", "experts.", integer=True, lo=1, hi=len(skills))
    _share(experts, "online_share", "experts.")
    _number(experts, "speed_kmh", positive=True, prefix="experts.")
    _share(experts, "accept_probability", "experts.")
    _range(experts, "response_delay_min", "experts.")
    _number(experts, "shift_hours", positive=True, prefix="experts.")
    _share(experts, "late_start_share", "experts.")
    _range(experts, "late_start_hours", "experts.")
    _share(experts, "busy_at_start_share", "experts.")
    _range(experts, "in_progress_minutes", "experts.")
    _number(experts, "reask_after_min", prefix="experts.")
    _number(experts, "speed_spread", prefix="experts.")
    _range(experts, "history_offers", "experts.", integer=True)
    _share(experts, "first_time_fix", "experts.")
    _number(experts, "first_time_fix_spread", prefix="experts.")
    _number(experts, "pay_elasticity", prefix="experts.")
    _share(experts, "standby_accept", "experts.")
    _range(experts, "standby_delay_min", "experts.")
    _number(experts, "standby_shift_hours", positive=True, prefix="experts.")
    demand = scenario["demand"]
    _number(demand, "jobs_per_hour", prefix="demand.")
    _share(demand, "urgent_share", "demand.")
    _range(demand, "skills_per_job", "demand.", integer=True, lo=1, hi=len(skills))
    _range(demand, "service_minutes", "demand.")
    for key in ("urgent", "normal"):
        _number(demand["sla_minutes"], key, positive=True, prefix="demand.sla_minutes.")
    _share(demand, "duration_noise", "demand.")
    _number(demand, "pay_per_hour", positive=True, prefix="demand.")
    _number(demand, "urgent_pay_factor", positive=True, prefix="demand.")
    _int(demand, "equipment_models", minimum=0, prefix="demand.")
    for key, value in scenario["mechanics"].items():
        if not isinstance(value, bool):
            raise InvalidInput(f"mechanics.{key}", f"must be true or false, got {value!r}")
    return scenario


def _merge(defaults, raw, prefix):
    if not isinstance(raw, dict):
        raise InvalidInput(prefix.rstrip(".") or "scenario", "must be an object")
    unknown = set(raw) - set(defaults)
    if unknown:
        raise InvalidInput(f"{prefix}{sorted(unknown)[0]}", "unknown key")
    merged = copy.deepcopy(defaults)
    for key, value in raw.items():
        if isinstance(defaults[key], dict) and key not in ("mix", "tiers"):
            merged[key] = _merge(defaults[key], value, f"{prefix}{key}.")
        else:
            merged[key] = value
    return merged


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(obj, key, positive=False, prefix=""):
    value = obj[key]
    if not _is_number(value) or value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        raise InvalidInput(f"{prefix}{key}", f"must be {kind} number, got {value!r}")


def _int(obj, key, minimum=0, prefix=""):
    value = obj[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidInput(f"{prefix}{key}", f"must be an integer >= {minimum}, got {value!r}")


def _share(obj, key, prefix):
    value = obj[key]
    if not _is_number(value) or not 0 <= value <= 1:
        raise InvalidInput(f"{prefix}{key}", f"must be a number in [0, 1], got {value!r}")


def _shares(obj, key, allowed, prefix):
    value = obj[key]
    field = f"{prefix}{key}"
    if not isinstance(value, dict) or not value:
        raise InvalidInput(field, "must be an object of shares")
    unknown = set(value) - allowed
    if unknown:
        raise InvalidInput(f"{field}.{sorted(unknown)[0]}", "unknown key")
    for name, share in value.items():
        if not _is_number(share) or share < 0:
            raise InvalidInput(f"{field}.{name}", f"must be a non-negative number, got {share!r}")
    if abs(sum(value.values()) - 1.0) > 1e-6:
        raise InvalidInput(field, f"shares must sum to 1, got {sum(value.values()):g}")


def _range(obj, key, prefix, integer=False, lo=0, hi=None):
    value = obj[key]
    field = f"{prefix}{key}"
    if not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) for v in value):
        raise InvalidInput(field, f"must be [min, max], got {value!r}")
    if integer and not all(isinstance(v, int) for v in value):
        raise InvalidInput(field, f"must hold integers, got {value!r}")
    if value[0] < lo or value[1] < value[0] or (hi is not None and value[1] > hi):
        bound = f" and max <= {hi}" if hi is not None else ""
        raise InvalidInput(field, f"must satisfy {lo} <= min <= max{bound}, got {value!r}")
