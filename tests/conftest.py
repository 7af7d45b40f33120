"""Shared factories and fixtures of the engine suite (importable: ``from conftest import make_expert``).

Makes the repository root importable so ``pytest tests/`` works without installing the package.
"""

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from crowd_dispatch.geo import KM_PER_DEGREE_LAT
from crowd_dispatch.model import Expert, Job, Kind, Policy, PoolStep, Tier
from crowd_dispatch.pool import ExpertPool

T0 = datetime(2026, 3, 2, 9, 0)  # a Monday morning, naive = UTC
BASE_LAT, BASE_LON = 48.137, 11.575  # Munich


def north(km, lat=BASE_LAT):
    """Latitude ``km`` north of ``lat`` on the same meridian (great-circle distance = km)."""
    return lat + km / KM_PER_DEGREE_LAT


def make_expert(expert_id=1, **values):
    """An available employee technician at the base position with skill "hvac" level 2."""
    defaults = {
        "id": expert_id,
        "kind": Kind.EMPLOYEE,
        "tier": Tier.TECHNICIAN,
        "lat": BASE_LAT,
        "lon": BASE_LON,
        "radius_km": 50.0,
        "skills": {"hvac": 2},
        "certificates": {},
        "rating": 4.0,
        "acceptance_rate": 0.7,
    }
    defaults.update(values)
    return Expert(**defaults)


def make_job(job_id="J1", **values):
    """A job at the base position created at T0 with a 4 h SLA, requiring "hvac" level 1."""
    defaults = {
        "id": job_id,
        "lat": BASE_LAT,
        "lon": BASE_LON,
        "created_at": T0,
        "sla_deadline": T0 + timedelta(hours=4),
        "skills": {"hvac": 1},
    }
    defaults.update(values)
    return Job(**defaults)


def open_policy(**values):
    """A policy with every pool open at once and tier policy ANY (gates under test stand alone)."""
    defaults = {
        "pools": (PoolStep("own", 0), PoolStep("partner", 0), PoolStep("crowd", 0)),
        "tier_policy": "any",
    }
    defaults.update(values)
    return Policy(**defaults)


def random_experts(n, seed=0, spread_km=100.0, skills=("hvac", "elec", "plumb", "lift"), certs=("gas", "hv")):
    """``n`` random experts around the base position (uniform square of side 2 * spread_km)."""
    rng = np.random.default_rng(seed)
    kinds, tiers = list(Kind), list(Tier)
    lat = BASE_LAT + rng.uniform(-1, 1, n) * spread_km / KM_PER_DEGREE_LAT
    lon = BASE_LON + rng.uniform(-1, 1, n) * spread_km / (KM_PER_DEGREE_LAT * np.cos(np.radians(BASE_LAT)))
    experts = []
    for i in range(n):
        own_skills = {s: int(rng.integers(0, 5)) for s in skills if rng.random() < 0.5}
        own_certs = {
            c: date(2026, 3, 2) + timedelta(days=int(rng.integers(-30, 30))) for c in certs if rng.random() < 0.4
        }
        capacity = int(rng.integers(1, 4))
        experts.append(
            Expert(
                id=i,
                kind=kinds[int(rng.integers(0, 3))],
                tier=tiers[int(rng.integers(0, 3))],
                lat=float(lat[i]),
                lon=float(lon[i]),
                radius_km=float(rng.uniform(5, 80)),
                skills=own_skills,
                certificates=own_certs,
                online=bool(rng.random() < 0.9),
                busy_until=T0 + timedelta(minutes=int(rng.integers(-60, 60))) if rng.random() < 0.2 else None,
                capacity=capacity,
                load=int(rng.integers(0, capacity + 1)),
                rating=float(rng.uniform(2.5, 5)),
                acceptance_rate=float(rng.uniform(0.2, 1)),
                cost_per_job=float(rng.uniform(50, 200)),
                recent_offers=int(rng.integers(0, 6)),
            )
        )
    return experts


@pytest.fixture
def random_pool():
    """A 2,000-expert random pool around Munich."""
    return ExpertPool.from_experts(random_experts(2000, seed=7))
