"""Supply levers: what an operator can do about the number of free experts, beside the dispatch.

Two levers, both pure functions with their settings in :class:`SupplySettings` (every lever off
by default), for the moonshot of issue 10 (92 % of urgent jobs on site within 60 minutes at the
supply where nearest-first reaches 80 %). They are measured in the simulator
(:mod:`crowd_dispatch.simulate`, ``supply=``) and reported apart from the dispatch policy
(docs/SIMULATION.md, "Moonshot: supply levers"). Odoo calls :func:`standby_calls` (the standby
settings are dispatch rule fields, the cron "Crowd: standby calls"); relocation is simulator-only.

- **Standby calls** (:func:`standby_calls`): when a shortage is predicted (few experts free, or
  urgent jobs waiting with no offer open), ask experts who are not working now (offline today,
  or whose shift starts later) to come online early for a standby premium. The nearest ones to
  the waiting urgent jobs first, only experts qualified for one of them, a bounded number of open
  calls and of calls per day.
- **Relocation** (:func:`relocations`): idle own technicians (free, online, on shift) drive toward
  the largest gaps of the expected demand: the places of recent jobs farthest from any free
  expert. A move is kept only when it shortens the mean distance from those places to the
  nearest free expert.
"""

import math
from dataclasses import dataclass

import numpy as np

from .gates import window_mask
from .geo import EARTH_RADIUS_KM, haversine_km
from .policy import check_settings, setting, settings_rows
from .pool import to_epoch

URGENT_PRIORITY = 3
STANDBY_CALL_OPEN_MIN = 60.0  # a standby call counts as open this long, unless the expert came online
RELOCATE_TARGETS = 5  # largest gaps considered per idle technician


@dataclass(frozen=True)
class SupplySettings:
    """The supply levers and their defaults (all off). ``supply_settings_table()`` lists them."""

    standby: bool = setting(False, "bool", None, None, "Ask experts not working now to come online on a shortage.")
    standby_free_share_below: float = setting(
        0.15, "float", 0, 1, "Shortage: fewer than this share of the online experts is free."
    )
    standby_urgent_waiting: int = setting(
        1, "int", 0, 100, "Shortage: at least this many urgent jobs wait with no offer open (0: ignore the queue)."
    )
    standby_max_open_calls: int = setting(
        8, "int", 1, 100, "Most calls open at once (called within the last hour, not yet online)."
    )
    standby_max_calls_per_day: int = setting(80, "int", 0, 10000, "Most standby calls per day.")
    standby_premium_hours: float = setting(
        1.0, "float", 0, 24, "Premium paid to an expert who comes online on a call, in hours of pay."
    )
    relocate: bool = setting(False, "bool", None, None, "Move idle own technicians toward the gaps of demand.")
    relocate_max_km: float = setting(15.0, "float", 0, 200, "Longest move of an idle technician (km).")
    relocate_min_gain_km: float = setting(
        0.3, "float", 0, 50, "Move only if the mean distance from demand to a free expert falls this much (km)."
    )

    def __post_init__(self):
        check_settings(self, "supply")


def supply_settings_table():
    """One row per supply setting: name, type, default, min, max, doc."""
    return settings_rows(SupplySettings)


def _km(lat1, lon1, lat2, lon2):
    return float(haversine_km(float(lat1), float(lon1), np.array([lat2]), np.array([lon2]))[0])


def _qualified(expert, job):
    return all(expert.skills.get(skill, -1) >= level for skill, level in job.skills.items())


def shortage(share, waiting, settings):
    """True when a shortage is predicted: free share below the threshold, or enough urgent jobs waiting."""
    urgent = sum(1 for job in waiting if job.priority >= URGENT_PRIORITY)
    if settings.standby_urgent_waiting and urgent >= settings.standby_urgent_waiting:
        return True
    return share < settings.standby_free_share_below


def standby_calls(share, waiting, candidates, settings, *, open_calls=0, calls_today=0):
    """Ids of the experts to ask to come online now, best first ([] when off or no shortage).

    ``share``: :func:`crowd_dispatch.policy.free_share` of the pool now. ``waiting``: engine Jobs
    waiting for an expert with no offer open. ``candidates``: engine Experts not working now who
    may be called (offline today, or on a shift that starts later), not called already.
    ``open_calls``/``calls_today``: calls still open / made today. One call per waiting urgent job
    (at least one), within ``standby_max_open_calls`` and ``standby_max_calls_per_day``; only
    experts qualified for a waiting job (an urgent one when any waits), nearest to it first.
    """
    if not settings.standby or not shortage(share, waiting, settings):
        return []
    room = min(
        settings.standby_max_open_calls - open_calls,
        settings.standby_max_calls_per_day - calls_today,
    )
    urgent = [job for job in waiting if job.priority >= URGENT_PRIORITY]
    targets = urgent or list(waiting)
    room = min(room, max(len(urgent), 1))
    if room <= 0 or not candidates:
        return []
    scored = []
    for expert in candidates:
        near = [_km(job.lat, job.lon, expert.lat, expert.lon) for job in targets if _qualified(expert, job)]
        if targets and not near:
            continue
        scored.append((float(min(near)) if near else 0.0, expert.id))
    scored.sort()
    return [expert_id for _, expert_id in scored[:room]]


def _gaps(points, lat, lon):
    """Per demand point, the great-circle distance (km) to the nearest of the positions ``lat``/``lon``."""
    if not lat.size:
        return np.full(len(points), math.inf)
    p_lat, p_lon = np.radians(points[:, :1]), np.radians(points[:, 1:])
    e_lat, e_lon = np.radians(lat)[None, :], np.radians(lon)[None, :]
    a = np.sin((e_lat - p_lat) / 2) ** 2 + np.cos(p_lat) * np.cos(e_lat) * np.sin((e_lon - p_lon) / 2) ** 2
    return (2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))).min(axis=1)


def _mean_gap(points, lat, lon):
    """Mean over the demand points of the distance to the nearest of the positions (km)."""
    return float(_gaps(points, lat, lon).mean())


def relocations(pool, now, movable, demand, settings):
    """Moves of idle own technicians toward the gaps of demand: ``[(expert id, lat, lon), ...]``.

    ``pool``: the ExpertPool now; ``movable``: ids of the idle own technicians who may move (the
    caller's choice: own, free, not on a trip); ``demand``: (lat, lon) places of expected demand
    (e.g. the jobs of the last hours). For each technician in turn (the one nearest to the largest
    gap first), the best of the ``RELOCATE_TARGETS`` largest gaps within ``relocate_max_km`` is
    taken if it shortens the mean distance from demand to the nearest free expert by at least
    ``relocate_min_gain_km``; later moves count the earlier ones.
    """
    if not settings.relocate or not movable or not demand:
        return []
    points = np.asarray(demand, dtype=np.float64).reshape(-1, 2)
    free = pool.online & (pool.busy_until <= to_epoch(now)) & (pool.free > 0)
    windows = window_mask(pool, now)
    if windows is not None:
        free &= windows
    rows = np.flatnonzero(free)
    lat, lon = pool.lat[rows].copy(), pool.lon[rows].copy()
    where = {int(row): i for i, row in enumerate(rows)}
    moves = []
    for expert_id in movable:
        row = pool.row_of.get(expert_id)
        if row is None or row not in where:
            continue
        i = where[row]
        current = _mean_gap(points, lat, lon)
        gaps = _gaps(points, lat, lon)
        best = None
        for target in np.argsort(-gaps)[:RELOCATE_TARGETS]:
            t_lat, t_lon = float(points[target, 0]), float(points[target, 1])
            if _km(lat[i], lon[i], t_lat, t_lon) > settings.relocate_max_km:
                continue
            old = lat[i], lon[i]
            lat[i], lon[i] = t_lat, t_lon
            gain = current - _mean_gap(points, lat, lon)
            lat[i], lon[i] = old
            if gain >= settings.relocate_min_gain_km and (best is None or gain > best[0]):
                best = (gain, t_lat, t_lon)
        if best is not None:
            lat[i], lon[i] = best[1], best[2]
            moves.append((expert_id, best[1], best[2]))
    return moves


__all__ = [
    "STANDBY_CALL_OPEN_MIN",
    "SupplySettings",
    "relocations",
    "shortage",
    "standby_calls",
    "supply_settings_table",
]
