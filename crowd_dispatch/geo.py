"""Distances and travel times.

Screening uses a vectorised haversine over numpy arrays (fast, spherical, error below
0.6 % against the WGS84 ellipsoid); the final shortlist uses the ellipsoidal geodesic of
geopy (accurate, about 45 us per pair, so only for a handful of candidates).
"""

import math

import numpy as np
from geopy.distance import geodesic

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
_WGS84 = geodesic()  # one reusable measurer: building a geodesic per pair costs ~35 us more
KM_PER_DEGREE_LAT = np.pi * EARTH_RADIUS_KM / 180.0


def haversine_term(lat_rad, lon_rad, lats_rad, lons_rad, cos_lats):
    """Haversine of the central angle, in [0, 1], from one point to arrays of points.

    Everything in radians; ``cos_lats`` is ``cos(lats_rad)``, precomputed by the caller. The
    term grows with distance, so radius checks compare terms and skip the arcsine.
    """
    sin_dlat = np.sin((lats_rad - lat_rad) * 0.5)
    sin_dlon = np.sin((lons_rad - lon_rad) * 0.5)
    return np.clip(sin_dlat * sin_dlat + math.cos(lat_rad) * cos_lats * sin_dlon * sin_dlon, 0.0, 1.0)


def term_to_km(term):
    """Great-circle distance in km of a haversine term."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(term))


def km_to_term(km):
    """Haversine term of a great-circle distance in km (distances beyond half the globe saturate at 1)."""
    return np.sin(np.clip(km, 0.0, np.pi * EARTH_RADIUS_KM) / (2.0 * EARTH_RADIUS_KM)) ** 2


def haversine_km(lat, lon, lats, lons):
    """Great-circle distances in km from one point (degrees) to arrays of points (degrees)."""
    lats_rad = np.radians(lats)
    term = haversine_term(math.radians(lat), math.radians(lon), lats_rad, np.radians(lons), np.cos(lats_rad))
    return term_to_km(term)


def geodesic_km(lat1, lon1, lat2, lon2):
    """Ellipsoidal (WGS84) distance in km between two points, via geopy."""
    return _WGS84.measure((lat1, lon1), (lat2, lon2))


def eta_minutes(distance_km, speed_kmh, road_factor):
    """Travel time in minutes: road distance (great-circle times ``road_factor``) at ``speed_kmh``."""
    return road_factor * distance_km / speed_kmh * 60.0
