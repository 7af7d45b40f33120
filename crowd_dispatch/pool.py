"""Columnar, read-only view of the experts, built once and then ranked against many jobs.

Every per-expert attribute lives in a numpy array indexed by row; skills and certificates
are dense matrices over a vocabulary (column-major, so one required skill is one contiguous
column). Ranking a job then never loops over experts in Python.
"""

import math
from datetime import datetime

import numpy as np

from .errors import InvalidInput
from .geo import km_to_term
from .model import Expert, Kind, Pool, Tier

POOLS = tuple(Pool)  # pool code i in the arrays is POOLS[i]
TIERS = tuple(Tier)  # tier rank i in the arrays is TIERS[i] (escalation order)
NO_SKILL = -1  # skill level of an expert who lacks the skill
NO_CERTIFICATE = 0  # certificate expiry ordinal of an expert who lacks the certificate
FAIRNESS_NEUTRAL = 0.5  # fairness criterion of non-freelancers: neither favoured nor penalised
_EPOCH = datetime(1970, 1, 1)  # naive datetimes are UTC


def to_epoch(moment, field_name="now"):
    """Seconds since the epoch; naive datetimes are taken as UTC."""
    if not isinstance(moment, datetime):
        raise InvalidInput(field_name, f"must be a datetime, got {moment!r}")
    if moment.tzinfo is None:
        return (moment - _EPOCH).total_seconds()
    return moment.timestamp()


def check_code(field_name, code):
    """Raise InvalidInput unless ``code`` (a skill or certificate code) is a non-empty string."""
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput(field_name, f"code must be a non-empty string, got {code!r}")


class ExpertPool:
    """Experts as numpy columns. Build with :meth:`from_experts`; treat as immutable (rebuild on change).

    Arrays (length ``size``): ``lat``, ``lon`` (degrees; also ``lat_rad``, ``lon_rad``, ``cos_lat``),
    ``radius_km`` (and its haversine term ``radius_term``), ``tier`` (rank 0..2),
    ``pool`` (index into ``POOLS``), ``online``, ``busy_until`` (epoch seconds, -inf when
    free), ``capacity``, ``load``, ``free`` (capacity - load), ``rating``, ``acceptance``,
    ``cost``, ``recent_offers``, ``freelance``; derived scores ``cost_score`` and
    ``fairness_score`` in [0, 1]. The visit an expert is driving to (:class:`Trip`) is in ``trip_priority``
    (-1 without one), ``trip_lat``, ``trip_lon`` (their current position) and ``trip_deadline`` (epoch
    seconds). ``skills`` is an int matrix (experts x skill vocabulary,
    ``NO_SKILL`` when absent); ``cert_until`` an int matrix of ordinal last valid days
    (``NO_CERTIFICATE`` when absent). Working windows are flattened into ``window_owner``,
    ``window_start``, ``window_end`` (epoch seconds) with ``has_windows`` per expert.
    """

    def __init__(self, experts):
        """Validate and index ``experts`` (an iterable of :class:`Expert`); same as :meth:`from_experts`."""
        self.experts = tuple(experts)
        for i, expert in enumerate(self.experts):
            if not isinstance(expert, Expert):
                raise InvalidInput(f"experts[{i}]", f"must be an Expert, got {type(expert).__name__}")
        self.size = len(self.experts)
        self.ids = [e.id for e in self.experts]
        self.row_of = {}
        for row, expert_id in enumerate(self.ids):
            if expert_id in self.row_of:
                raise InvalidInput(f"experts[{row}].id", f"duplicate expert id {expert_id!r}")
            self.row_of[expert_id] = row
        self._build_scalars()
        self._build_skills()
        self._build_certificates()
        self._build_windows()

    @classmethod
    def from_experts(cls, experts):
        """Build the columnar pool from an iterable of :class:`Expert` (done once; ranking reuses it)."""
        return cls(experts)

    def _column(self, getter, dtype):
        return np.fromiter((getter(e) for e in self.experts), dtype=dtype, count=self.size)

    def _build_scalars(self):
        pool_code = {p: i for i, p in enumerate(POOLS)}
        self.lat = self._column(lambda e: e.lat, np.float64)
        self.lon = self._column(lambda e: e.lon, np.float64)
        self.radius_km = self._column(lambda e: e.radius_km, np.float64)
        self.lat_rad, self.lon_rad = np.radians(self.lat), np.radians(self.lon)
        self.cos_lat = np.cos(self.lat_rad)
        self.radius_term = km_to_term(self.radius_km)
        self.tier = self._column(lambda e: e.tier.rank, np.int8)
        self.pool = self._column(lambda e: pool_code[e.pool], np.int8)
        self.online = self._column(lambda e: bool(e.online), np.bool_)
        self.busy_until = self._column(
            lambda e: -math.inf if e.busy_until is None else to_epoch(e.busy_until, f"expert[{e.id}].busy_until"),
            np.float64,
        )
        self.capacity = self._column(lambda e: e.capacity, np.float64)
        self.load = self._column(lambda e: e.load, np.float64)
        self.free = self.capacity - self.load
        trips = [e.trip for e in self.experts]
        self.trip_priority = np.fromiter((-1 if t is None else t.priority for t in trips), np.int16, self.size)
        self.trip_lat = np.fromiter((math.nan if t is None else t.lat for t in trips), np.float64, self.size)
        self.trip_lon = np.fromiter((math.nan if t is None else t.lon for t in trips), np.float64, self.size)
        self.trip_deadline = np.fromiter(
            (
                math.nan if t is None else to_epoch(t.deadline, f"expert[{e.id}].trip.deadline")
                for e, t in zip(self.experts, trips)
            ),
            np.float64,
            self.size,
        )
        self.rating = self._column(lambda e: e.rating, np.float64)
        self.acceptance = self._column(lambda e: e.acceptance_rate, np.float64)
        self.cost = self._column(lambda e: e.cost_per_job, np.float64)
        self.recent_offers = self._column(lambda e: e.recent_offers, np.float64)
        self.freelance = self._column(lambda e: e.kind is Kind.FREELANCE, np.bool_)
        max_cost = float(self.cost.max()) if self.size else 0.0
        self.cost_score = 1.0 - self.cost / max_cost if max_cost > 0 else np.ones(self.size)
        self.fairness_score = np.where(self.freelance, 1.0 / (1.0 + self.recent_offers), FAIRNESS_NEUTRAL)

    def _build_skills(self):
        self.skill_vocab = {}
        for expert in self.experts:
            for code in expert.skills:
                check_code(f"expert[{expert.id}].skills", code)
                self.skill_vocab.setdefault(code, len(self.skill_vocab))
        self.skills = np.full((self.size, len(self.skill_vocab)), NO_SKILL, dtype=np.int32, order="F")
        for row, expert in enumerate(self.experts):
            for code, level in expert.skills.items():
                self.skills[row, self.skill_vocab[code]] = level

    def _build_certificates(self):
        self.cert_vocab = {}
        for expert in self.experts:
            for code in expert.certificates:
                check_code(f"expert[{expert.id}].certificates", code)
                self.cert_vocab.setdefault(code, len(self.cert_vocab))
        self.cert_until = np.full((self.size, len(self.cert_vocab)), NO_CERTIFICATE, dtype=np.int32, order="F")
        for row, expert in enumerate(self.experts):
            for code, until in expert.certificates.items():
                self.cert_until[row, self.cert_vocab[code]] = until.toordinal()

    def _build_windows(self):
        owners, starts, ends = [], [], []
        for row, expert in enumerate(self.experts):
            for i, window in enumerate(expert.windows):
                field_name = f"expert[{expert.id}].windows[{i}]"
                if not isinstance(window, tuple | list) or len(window) != 2:
                    raise InvalidInput(field_name, f"must be a (start, end) pair, got {window!r}")
                start, end = to_epoch(window[0], field_name), to_epoch(window[1], field_name)
                if end < start:
                    raise InvalidInput(field_name, "end must not be before start")
                owners.append(row)
                starts.append(start)
                ends.append(end)
        self.window_owner = np.asarray(owners, dtype=np.int64)
        self.window_start = np.asarray(starts, dtype=np.float64)
        self.window_end = np.asarray(ends, dtype=np.float64)
        self.has_windows = np.zeros(self.size, dtype=np.bool_)
        self.has_windows[self.window_owner] = True

    def rows(self, expert_ids):
        """Rows of the given expert ids (ids not in the pool are ignored)."""
        return np.fromiter((self.row_of[i] for i in expert_ids if i in self.row_of), dtype=np.int64)

    def __len__(self):
        return self.size
