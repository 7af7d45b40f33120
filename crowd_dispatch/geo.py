"""Distances and travel times.

Screening uses a vectorised haversine over numpy arrays (fast, spherical, error below
0.6 % against the WGS84 ellipsoid); the final shortlist uses the ellipsoidal geodesic of
geopy (accurate, about 0.1 ms per pair, so only for a handful of candidates).
"""

import numpy as np
from geopy.distance import geodesic

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
KM_PER_DEGREE_LAT = np.pi * EARTH_RADIUS_KM / 180.0


def haversine_km(lat, lon, lats, lons):
    """Great-circle distances in km from one point (degrees) to arrays of points (degrees)."""
    lat1 = np.radians(lat)
    lat2 = np.radians(lats)
    sin_dlat = np.sin((lat2 - lat1) * 0.5)
    sin_dlon = np.sin(np.radians(lons - lon) * 0.5)
    a = sin_dlat * sin_dlat + np.cos(lat1) * np.cos(lat2) * sin_dlon * sin_dlon
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def geodesic_km(lat1, lon1, lat2, lon2):
    """Ellipsoidal (WGS84) distance in km between two points, via geopy."""
    return geodesic((lat1, lon1), (lat2, lon2)).km


def eta_minutes(distance_km, speed_kmh, road_factor):
    """Travel time in minutes: road distance (great-circle times ``road_factor``) at ``speed_kmh``."""
    return road_factor * distance_km / speed_kmh * 60.0
