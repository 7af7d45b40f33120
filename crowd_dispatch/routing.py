"""Route planning for planned work (preventive maintenance days): a VRPTW solved with PyVRP.

A plan assigns visits to technicians in order. Constraints: each technician's shift and home base,
each visit's time window and service duration, the skills a visit needs (a visit goes only to
technicians who have them at the required level), optional vehicle capacity (Solomon demands), and
optional visits that may be left out, at a prize that grows with their priority.

Positions are plane coordinates (``geographic=False``: Euclidean distance, travel time =
distance, as in the Solomon benchmark) or latitude/longitude (``geographic=True``: haversine km
times a road factor, travel minutes at ``speed_kmh``). Times are minutes.

Solver: PyVRP (iterated local search). The mapping onto its model:

- technicians' home bases become depots (one per distinct position), and so do the positions a
  technician resumes from when a day is re-planned (start depot != end depot);
- technicians that share start, home base, shift, capacity and skill profile become one vehicle
  type with as many vehicles, and a shift becomes the vehicle type's time window;
- skills become routing profiles (a site-dependent VRP): in the profile of technicians who lack a
  visit's skills, every edge into that visit is "unreachable" (huge distance and duration); a visit
  locked to one technician is unreachable for every other one the same way;
- optional visits become prize-collecting clients (prize = ``OPTIONAL_PRIZE`` per priority point).

PyVRP works on integers. Distances are rounded to 1/1000 unit (the objective only); durations,
service times and window starts are rounded *up* and window ends *down* to 1/1000 minute, so a
route feasible in integers is feasible in real numbers too. Every result is then checked again in
real numbers by :func:`check_plan`; a plan that breaks a constraint is never returned: the call
raises :class:`InfeasiblePlan`, which lists the violations.

Urgent jobs are inserted into an existing plan by :func:`insert_urgent`: an exact cheapest feasible
insertion over every position of every route (no re-solve), optionally followed by
:func:`reoptimize`, which restarts the solver from the current routes (warm start) and never
returns a plan worse than the one it was given.
"""

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

from .errors import DispatchError, InvalidInput
from .geo import EARTH_RADIUS_KM, term_to_km
from .model import check_non_negative

DIST_SCALE = 1000  # PyVRP works on integers: distances in 1/1000 units (metres in geographic mode)
TIME_SCALE = 1000  # times in 1/1000 minutes
LOAD_SCALE = 1000  # demands and capacities in 1/1000 units
OPTIONAL_PRIZE = 1000.0  # prize of an optional visit per priority point, in distance units
UNREACHABLE = 1 << 40  # distance and duration of an edge into a visit the vehicle type may not serve
ROAD_FACTOR = 1.3
INF = float("inf")
EPS = 1e-6

# Why a visit was left out of a plan (``RoutePlan.reasons``): codes the caller translates.
NO_SKILLED_TECHNICIAN = "no_skilled_technician"  # nobody has the skills at the level required
OUT_OF_REACH = "out_of_reach"  # no skilled technician can serve it even alone (window, shift, capacity)
NO_ROOM = "no_room"  # it fits alone, but not together with the visits that were planned


@dataclass(frozen=True)
class Visit:
    """One job to schedule. ``window`` is the allowed start of service (minutes).

    ``technician``, when set, is the only technician who may serve the visit: a stop the dispatcher
    locked to someone (give it a narrow ``window`` to keep its time as well)."""

    id: object
    x: float
    y: float
    service_min: float = 0.0
    window: tuple = (0.0, INF)
    skills: dict = field(default_factory=dict)
    priority: int = 1
    optional: bool = False
    demand: float = 0.0
    technician: object = None

    def __post_init__(self):
        _check_point(f"visit[{self.id}]", self.x, self.y)
        check_non_negative(f"visit[{self.id}]", "service_min", self.service_min)
        check_non_negative(f"visit[{self.id}]", "demand", self.demand)
        _check_window(f"visit[{self.id}].window", self.window)
        if not isinstance(self.priority, int) or self.priority < 0:
            raise InvalidInput(f"visit[{self.id}].priority", f"must be a non-negative int, got {self.priority!r}")

    @property
    def prize(self):
        """What leaving this optional visit out costs, in distance units."""
        return OPTIONAL_PRIZE * max(self.priority, 1)


@dataclass(frozen=True)
class Technician:
    """One technician (a vehicle): home base (``x``, ``y``), shift and skills.

    Routes start and end at the home base, unless ``start`` gives another starting position: where
    the technician is when the (re)plan begins, e.g. the last stop already done, with ``shift[0]``
    the time they are free there. The route still ends at the home base."""

    id: object
    x: float
    y: float
    shift: tuple = (0.0, 24 * 60.0)
    skills: dict = field(default_factory=dict)
    capacity: float | None = None
    start: tuple | None = None

    def __post_init__(self):
        _check_point(f"technician[{self.id}]", self.x, self.y)
        if self.start is not None:
            try:
                sx, sy = self.start
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"technician[{self.id}].start", f"must be an (x, y) pair, got {self.start!r}"
                ) from None
            _check_point(f"technician[{self.id}].start", sx, sy)
        _check_window(f"technician[{self.id}].shift", self.shift)
        check_non_negative(f"technician[{self.id}]", "capacity", self.capacity)

    def can_do(self, visit):
        if visit.technician is not None and visit.technician != self.id:
            return False
        return all(self.skills.get(code, -1) >= level for code, level in visit.skills.items())

    @property
    def start_point(self):
        return self.start if self.start is not None else (self.x, self.y)


@dataclass(frozen=True)
class Stop:
    visit_id: object
    arrival: float
    start: float


@dataclass
class RoutePlan:
    """``routes`` maps technician id -> ordered stops; ``distance`` is the real (unscaled) total.

    ``reasons`` maps each dropped visit id to why it was left out (``NO_SKILLED_TECHNICIAN``,
    ``OUT_OF_REACH`` or ``NO_ROOM``)."""

    routes: dict
    dropped: list
    distance: float
    reasons: dict = field(default_factory=dict)

    def visit_order(self):
        return {tech: [stop.visit_id for stop in stops] for tech, stops in self.routes.items()}


class Violation(str):
    """One broken constraint: the readable message is the string itself; ``code`` and ``params``
    let a caller render it in its own language."""

    def __new__(cls, code, message, **params):
        violation = super().__new__(cls, message)
        violation.code = code
        violation.params = params
        return violation


class InfeasiblePlan(DispatchError):
    """A plan would break constraints; ``violations`` lists them (:class:`Violation`)."""

    def __init__(self, violations):
        self.violations = list(violations)
        shown = "; ".join(self.violations[:5])
        more = f" (and {len(self.violations) - 5} more)" if len(self.violations) > 5 else ""
        super().__init__(f"no feasible plan: {shown}{more}")


class _Problem:
    """Nodes 0..T-1 are the technicians' starts, T..T+V-1 the visits, then the T home bases (route
    ends, ``end[k]``); matrices in minutes/units.

    ``lazy=True`` computes each distance when first asked for instead of the full matrices: checking
    or patching a plan reads a few arcs per stop, not all N x N of them."""

    def __init__(self, visits, technicians, geographic=False, speed_kmh=40.0, lazy=False):
        if not technicians:
            raise InvalidInput("technicians", "at least one technician is needed")
        ids = [v.id for v in visits]
        if len(set(ids)) != len(ids):
            raise InvalidInput("visits", "visit ids must be unique")
        tech_ids = [t.id for t in technicians]
        if len(set(tech_ids)) != len(tech_ids):
            raise InvalidInput("technicians", "technician ids must be unique")
        if not speed_kmh > 0:
            raise InvalidInput("speed_kmh", f"must be > 0, got {speed_kmh!r}")
        for v in visits:
            if v.technician is not None and v.technician not in tech_ids:
                raise InvalidInput(f"visit[{v.id}].technician", f"unknown technician {v.technician!r}")
        self.visits = list(visits)
        self.techs = list(technicians)
        self.geographic = geographic
        points = [t.start_point for t in self.techs] + [(v.x, v.y) for v in self.visits]
        points += [(t.x, t.y) for t in self.techs]
        xs = np.array([p[0] for p in points], dtype=float)
        ys = np.array([p[1] for p in points], dtype=float)
        if lazy:
            self.distance = _Arcs(points, geographic)
            self.travel = _Arcs(points, geographic, minutes_per_unit=60.0 / speed_kmh) if geographic else self.distance
        elif geographic:
            dist = _haversine_matrix_km(xs, ys) * ROAD_FACTOR
            self.distance = dist
            self.travel = dist / speed_kmh * 60.0
        else:
            self.distance = np.hypot(xs[:, None] - xs[None, :], ys[:, None] - ys[None, :])
            self.travel = self.distance
        self.n_tech = len(self.techs)
        self.index_of = {v.id: self.n_tech + i for i, v in enumerate(self.visits)}
        self.tech_pos = {t.id: k for k, t in enumerate(self.techs)}
        self.end = [self.n_tech + len(self.visits) + k for k in range(self.n_tech)]
        self.service = np.zeros(len(points))
        self.service[self.n_tech : self.n_tech + len(self.visits)] = [v.service_min for v in self.visits]

    def node_visit(self, node):
        return self.visits[node - self.n_tech]

    def alone_ok(self, k, i):
        """Whether technician ``k`` can serve visit ``i`` (0-based) as its only stop."""
        tech, visit, node = self.techs[k], self.visits[i], self.n_tech + i
        if tech.capacity is not None and visit.demand > tech.capacity + EPS:
            return False
        start = max(tech.shift[0] + self.travel[k, node], visit.window[0])
        if start > visit.window[1] + EPS:
            return False
        return start + visit.service_min + self.travel[node, self.end[k]] <= tech.shift[1] + EPS


def plan_routes(
    visits,
    technicians,
    *,
    time_limit_s=10.0,
    geographic=False,
    speed_kmh=40.0,
    initial=None,
    seed=1,
    max_no_improvement=None,
):
    """Solve the VRPTW and return a :class:`RoutePlan`. ``initial`` (tech id -> visit ids) warm-starts it.

    The solver runs for ``time_limit_s`` seconds (wall clock, setup included), or stops earlier after
    ``max_no_improvement`` iterations without a better plan when that is given (measured: a day of 12
    visits settles within 500 iterations, 0.1 s; on Solomon's R112, 2000 stop after about 4 s).

    Optional visits that no technician can serve are dropped with their reason; a mandatory one, or
    a result that breaks any constraint, raises :class:`InfeasiblePlan`.
    """
    started = time.perf_counter()
    if not isinstance(time_limit_s, int | float) or isinstance(time_limit_s, bool) or not time_limit_s >= 0:
        raise InvalidInput("time_limit_s", f"must be a number >= 0, got {time_limit_s!r}")
    problem = _Problem(visits, technicians, geographic, speed_kmh)
    allowed, reasons = _screen(problem)
    unservable = [
        Violation("mandatory_unservable", f"mandatory visit {v.id!r} cannot be served ({reasons[v.id]})",
                  visit=v.id, reason=reasons[v.id])
        for v in problem.visits if v.id in reasons and not v.optional
    ]  # fmt: skip
    if unservable:
        raise InfeasiblePlan(unservable)
    model = _PyvrpModel(problem, allowed, [i for i, v in enumerate(problem.visits) if v.id not in reasons])
    orders = {t.id: [] for t in problem.techs}
    if model.clients:
        init = model.solution(initial) if initial else None
        remaining = max(time_limit_s - (time.perf_counter() - started), 0.01)
        with warnings.catch_warnings():  # "struggles to find a feasible solution": check_plan says what breaks
            warnings.simplefilter("ignore", PenaltyBoundWarning)
            stop = MaxRuntime(remaining)
            if max_no_improvement is not None:
                stop = MultipleCriteria([stop, NoImprovement(max_no_improvement)])
            result = pyvrp.solve(model.data, stop, seed=seed, collect_stats=False, display=False,
                                 initial_solution=init)  # fmt: skip
        orders = model.orders(result.best)
    plan = _plan_from_orders(problem, orders)
    plan.reasons = {vid: reasons.get(vid, NO_ROOM) for vid in plan.dropped}
    return _checked(problem, plan)


def reoptimize(
    plan, visits, technicians, *, time_limit_s=1.0, geographic=False, speed_kmh=40.0, seed=1, max_no_improvement=None
):
    """Improve an existing plan from its current routes (warm start) within ``time_limit_s``.

    Returns the better of the new plan and the given one (rescheduled), by distance plus the prizes
    of the optional visits left out; the given plan must itself be feasible."""
    problem = _Problem(visits, technicians, geographic, speed_kmh)
    current = _checked(problem, _plan_from_orders(problem, _known_orders(problem, plan.visit_order())))
    current.reasons = {vid: plan.reasons.get(vid, NO_ROOM) for vid in current.dropped}
    try:
        new = plan_routes(visits, technicians, time_limit_s=time_limit_s, geographic=geographic, speed_kmh=speed_kmh,
                          initial=plan.visit_order(), seed=seed, max_no_improvement=max_no_improvement)  # fmt: skip
    except InfeasiblePlan:  # the solver found nothing feasible within the budget: keep what works
        return current
    return new if _objective(problem, new) < _objective(problem, current) - EPS else current


def _objective(problem, plan):
    by_id = {v.id: v for v in problem.visits}
    return plan.distance + sum(by_id[vid].prize for vid in plan.dropped if vid in by_id)


def _screen(problem):
    """Which technicians may serve each visit (skills), and why the unservable visits are so."""
    allowed, reasons = [], {}
    for i, visit in enumerate(problem.visits):
        skilled = [k for k, t in enumerate(problem.techs) if t.can_do(visit)]
        allowed.append(skilled)
        if not skilled:
            reasons[visit.id] = NO_SKILLED_TECHNICIAN
        elif not any(problem.alone_ok(k, i) for k in skilled):
            reasons[visit.id] = OUT_OF_REACH
    return allowed, reasons


class _PyvrpModel:
    """The problem as PyVRP data: depots first (one per home base), then the servable visits."""

    def __init__(self, problem, allowed, clients):
        self.problem = problem
        techs = problem.techs
        bases, base_node, start_depot, end_depot = {}, [], [], []  # a depot per distinct start or end position
        for k, t in enumerate(techs):
            for point, node, depot_list in ((t.start_point, k, start_depot), ((t.x, t.y), problem.end[k], end_depot)):
                if point not in bases:
                    bases[point] = len(bases)
                    base_node.append(node)
                depot_list.append(bases[point])
        self.clients = clients  # positions in problem.visits, in PyVRP client order
        n_depots = len(bases)
        nodes = base_node + [problem.n_tech + i for i in self.clients]
        sel = np.ix_(nodes, nodes)
        distance = np.rint(problem.distance[sel] * DIST_SCALE).astype(np.int64)
        duration = _ceil(problem.travel[sel] * TIME_SCALE)
        np.fill_diagonal(distance, 0)
        np.fill_diagonal(duration, 0)

        # routing profiles: one per distinct set of servable clients among the technicians
        profile_of, profiles, allowed_sets = [], {}, [set(a) for a in allowed]
        for k in range(len(techs)):
            reach = frozenset(c for c, i in enumerate(self.clients) if k in allowed_sets[i])
            profile_of.append(profiles.setdefault(reach, len(profiles)))
        distances, durations = [], []
        for reach in profiles:
            blocked = [n_depots + c for c in range(len(self.clients)) if c not in reach]
            dist_p, dur_p = distance, duration
            if blocked:
                dist_p, dur_p = distance.copy(), duration.copy()
                dist_p[:, blocked] = UNREACHABLE
                dur_p[:, blocked] = UNREACHABLE
                dist_p[blocked, blocked] = 0
                dur_p[blocked, blocked] = 0
            distances.append(dist_p)
            durations.append(dur_p)

        with_load = any(t.capacity is not None for t in techs)
        locations = [pyvrp.Location(x=float(x), y=float(y)) for x, y in bases]
        locations += [pyvrp.Location(x=float(problem.visits[i].x), y=float(problem.visits[i].y)) for i in self.clients]
        depots = [pyvrp.Depot(location=d) for d in range(n_depots)]
        clients = []
        for c, i in enumerate(self.clients):
            visit = problem.visits[i]
            lo, hi = _time_window(visit.window)
            clients.append(pyvrp.Client(
                location=n_depots + c,
                delivery=[int(_ceil(visit.demand * LOAD_SCALE))] if with_load else [],
                service_duration=int(_ceil(visit.service_min * TIME_SCALE)),
                tw_early=lo, tw_late=hi,
                prize=round(visit.prize * DIST_SCALE) if visit.optional else 0,
                required=not visit.optional,
            ))  # fmt: skip

        # vehicle types: technicians alike in base, shift, capacity and profile share one
        self.type_of, self.techs_of_type, vehicle_types, keys = [], [], [], {}
        for k, t in enumerate(techs):
            cap = t.capacity if t.capacity is not None else None
            key = (start_depot[k], end_depot[k], t.shift, cap, profile_of[k])
            if key not in keys:
                keys[key] = len(keys)
                self.techs_of_type.append([])
            self.type_of.append(keys[key])
            self.techs_of_type[keys[key]].append(k)
        for (start, end, shift, cap, profile), index in keys.items():
            lo, hi = _time_window(shift)
            capacity = []
            if with_load:
                capacity = [math.floor(cap * LOAD_SCALE + EPS) if cap is not None else UNREACHABLE]
            vehicle_types.append(pyvrp.VehicleType(
                num_available=len(self.techs_of_type[index]), capacity=capacity, start_depot=start, end_depot=end,
                tw_early=lo, tw_late=hi, profile=profile,
            ))  # fmt: skip
        self.data = pyvrp.ProblemData(locations, clients, depots, vehicle_types, distances, durations)
        self.client_of = {problem.visits[i].id: c for c, i in enumerate(self.clients)}

    def solution(self, initial):
        """A PyVRP solution from ``initial`` (tech id -> visit ids), or None when it cannot be one."""
        routes = []
        for tech_id, visit_ids in initial.items():
            if tech_id not in self.problem.tech_pos:
                raise InvalidInput("initial", f"unknown technician {tech_id!r}")
            clients = [self.client_of[v] for v in visit_ids if v in self.client_of]
            if clients:
                routes.append(pyvrp.Route(self.data, clients, self.type_of[self.problem.tech_pos[tech_id]]))
        try:
            return pyvrp.Solution(self.data, routes)
        except (ValueError, RuntimeError):  # e.g. a visit listed twice: start from scratch
            return None

    def orders(self, solution):
        """tech id -> problem nodes, in route order."""
        free = [list(ks) for ks in self.techs_of_type]
        orders = {t.id: [] for t in self.problem.techs}
        for route in solution.routes():
            k = free[route.vehicle_type()].pop(0)
            orders[self.problem.techs[k].id] = [
                self.problem.n_tech + self.clients[activity.idx] for activity in route if activity.is_client()
            ]
        return orders


def _time_window(window):
    lo = int(_ceil(window[0] * TIME_SCALE))
    hi = np.iinfo(np.int64).max if not math.isfinite(window[1]) else math.floor(window[1] * TIME_SCALE + EPS)
    return lo, hi


def _ceil(values):
    """Round up to integers, ignoring float noise below 1e-6 (10.000000001 * 1000 stays 10000)."""
    return np.ceil(np.asarray(values, dtype=float) - EPS).astype(np.int64)


def _known_orders(problem, order):
    """tech id -> problem nodes of ``order`` (tech id -> visit ids), skipping visits not in the problem."""
    for tech_id in order:
        if tech_id not in problem.tech_pos:
            raise InvalidInput("plan", f"unknown technician {tech_id!r}")
    return {t: [problem.index_of[v] for v in ids if v in problem.index_of] for t, ids in order.items()}


def _plan_from_orders(problem, orders):
    """Earliest-start schedule of each ordered route (shift start at the technician's position)."""
    routes, distance, served = {}, 0.0, set()
    for k, tech in enumerate(problem.techs):
        nodes = orders.get(tech.id, [])
        stops, prev, t = [], k, tech.shift[0]
        for node in nodes:
            arrival = t + problem.travel[prev, node]
            start = max(arrival, problem.node_visit(node).window[0])
            stops.append(Stop(problem.node_visit(node).id, float(arrival), float(start)))
            distance += problem.distance[prev, node]
            t = start + problem.service[node]
            prev = node
        if nodes:
            distance += problem.distance[prev, problem.end[k]]
        routes[tech.id] = stops
        served.update(nodes)
    dropped = [v.id for i, v in enumerate(problem.visits) if problem.n_tech + i not in served]
    return RoutePlan(routes=routes, dropped=dropped, distance=float(distance))


def _checked(problem, plan):
    violations = _violations(problem, plan)
    if violations:
        raise InfeasiblePlan(violations)
    return plan


def insert_urgent(plan, visits, technicians, urgent, *, geographic=False, speed_kmh=40.0):
    """Insert ``urgent`` into ``plan`` at the feasible position that serves it earliest, then with the
    least extra travel; every visit already planned keeps its technician and order.

    Returns a new :class:`RoutePlan`; raises :class:`DispatchError` when no position is feasible
    (skills, windows, shift or capacity), and :class:`InfeasiblePlan` when ``plan`` itself breaks a
    constraint.
    """
    problem = _Problem([*visits, urgent], technicians, geographic, speed_kmh, lazy=True)
    u = problem.index_of[urgent.id]
    orders = _known_orders(problem, plan.visit_order())
    travel, distance, service = problem.travel, problem.distance, problem.service
    lo_u, hi_u = urgent.window
    best = None
    for k, tech in enumerate(problem.techs):
        if not tech.can_do(urgent):
            continue
        nodes = orders.get(tech.id, [])
        load = sum(problem.node_visit(n).demand for n in nodes) + urgent.demand
        if tech.capacity is not None and load > tech.capacity + 1e-9:
            continue
        departure, latest = _route_slack(problem, k, nodes)
        path = [k, *nodes, problem.end[k]]
        for pos in range(len(nodes) + 1):
            prev, nxt = path[pos], path[pos + 1]
            start_u = max(departure[pos] + travel[prev, u], lo_u)
            if start_u > hi_u + 1e-9:
                continue
            arrive_next = start_u + service[u] + travel[u, nxt]
            if pos < len(nodes):
                arrive_next = max(arrive_next, problem.node_visit(nxt).window[0])
            if arrive_next > latest[pos] + 1e-9:
                continue
            extra = distance[prev, u] + distance[u, nxt] - distance[prev, nxt]
            key = (round(start_u, 6), extra)
            if best is None or key < best[0]:
                best = (key, tech.id, [*nodes[:pos], u, *nodes[pos:]])
    if best is None:
        raise DispatchError(f"no feasible insertion for urgent visit {urgent.id!r}")
    orders[best[1]] = best[2]
    new = _plan_from_orders(problem, orders)
    new.reasons = {vid: plan.reasons.get(vid, NO_ROOM) for vid in new.dropped}
    return _checked(problem, new)


def _route_slack(problem, k, nodes):
    """Forward and backward schedule of technician ``k``'s route ``nodes`` (earliest starts).

    ``departure[p]``: when the technician leaves the p-th point of ``[home, *nodes]`` at the earliest;
    ``latest[p]``: the latest start of service at the p-th visit (``p == len(nodes)``: the latest
    return home) that keeps the rest of the route feasible. Inserting a visit before ``nodes[p]`` is
    feasible when it can start within its window and the route reaches ``nodes[p]`` by ``latest[p]``.
    """
    tech, travel, service = problem.techs[k], problem.travel, problem.service
    departure, t, prev = [tech.shift[0]], tech.shift[0], k
    for node in nodes:
        t = max(t + travel[prev, node], problem.node_visit(node).window[0]) + service[node]
        departure.append(t)
        prev = node
    latest = [0.0] * (len(nodes) + 1)
    latest[-1] = tech.shift[1]
    after = tech.shift[1]  # latest arrival at what follows the current visit
    nxt = problem.end[k]
    for p in range(len(nodes) - 1, -1, -1):
        node = nodes[p]
        latest[p] = min(problem.node_visit(node).window[1], after - travel[node, nxt] - service[node])
        after, nxt = latest[p], node
    return departure, latest


def check_plan(plan, visits, technicians, *, geographic=False, speed_kmh=40.0):
    """List every violation in ``plan`` (empty when feasible): windows, shifts, skills, capacity,
    visits served twice or unknown, and mandatory visits dropped. Each item is a :class:`Violation`
    (a readable string with a ``code`` and ``params``)."""
    return _violations(_Problem(visits, technicians, geographic, speed_kmh, lazy=True), plan)


def _violations(problem, plan):
    by_id = {v.id: v for v in problem.visits}
    problems, seen = [], set()

    def add(code, message, **params):
        problems.append(Violation(code, message, **params))

    for tech_id in plan.routes:
        if tech_id not in problem.tech_pos:
            add("unknown_technician", f"unknown technician {tech_id!r}", technician=tech_id)
    for k, tech in enumerate(problem.techs):
        stops = plan.routes.get(tech.id, [])
        t, prev, load = tech.shift[0], k, 0.0
        for stop in stops:
            visit = by_id.get(stop.visit_id)
            if visit is None:
                add(
                    "unknown_visit",
                    f"{tech.id}: unknown visit {stop.visit_id!r}",
                    technician=tech.id,
                    visit=stop.visit_id,
                )
                continue
            if stop.visit_id in seen:
                add("served_twice", f"visit {stop.visit_id!r} is served twice", visit=stop.visit_id)
            seen.add(stop.visit_id)
            if not tech.can_do(visit):
                add(
                    "missing_skill",
                    f"{tech.id} lacks the skills of visit {visit.id!r}",
                    technician=tech.id,
                    visit=visit.id,
                )
            node = problem.index_of[visit.id]
            t = max(t + problem.travel[prev, node], visit.window[0])
            if t > visit.window[1] + EPS:
                message = f"visit {visit.id!r} starts at {t:.1f}, after its window ends ({visit.window[1]})"
                add("window_missed", message, visit=visit.id, start=t, window_end=visit.window[1])
            t += visit.service_min
            load += visit.demand
            prev = node
        end = t + problem.travel[prev, problem.end[k]]
        if stops and end > tech.shift[1] + EPS:
            message = f"{tech.id} returns after the end of the shift ({tech.shift[1]})"
            add("shift_overrun", message, technician=tech.id, end=end, shift_end=tech.shift[1])
        if tech.capacity is not None and load > tech.capacity + 1e-9:
            message = f"{tech.id} carries {load}, over its capacity {tech.capacity}"
            add("over_capacity", message, technician=tech.id, load=load, capacity=tech.capacity)
    for visit in problem.visits:
        if visit.id in seen or visit.optional:
            continue
        if visit.id in plan.dropped:
            add("mandatory_dropped", f"mandatory visit {visit.id!r} was dropped", visit=visit.id)
        else:
            add(
                "mandatory_missing",
                f"mandatory visit {visit.id!r} is neither served nor reported dropped",
                visit=visit.id,
            )
    return problems


class _Arcs:
    """Distances (or travel minutes) between points, computed on first use and cached; indexed
    ``arcs[i, j]`` like the matrices. The same formulas as the matrices, one pair at a time."""

    def __init__(self, points, geographic, minutes_per_unit=1.0):
        self.points = points
        self.geographic = geographic
        self.factor = (ROAD_FACTOR if geographic else 1.0) * minutes_per_unit
        self.cache = {}
        if geographic:
            self.rad = [(math.radians(lat), math.radians(lon)) for lat, lon in points]

    def __getitem__(self, pair):
        value = self.cache.get(pair)
        if value is None:
            i, j = pair
            if self.geographic:
                (lat1, lon1), (lat2, lon2) = self.rad[i], self.rad[j]
                sin_dlat, sin_dlon = math.sin((lat2 - lat1) * 0.5), math.sin((lon2 - lon1) * 0.5)
                term = min(max(sin_dlat * sin_dlat + math.cos(lat1) * math.cos(lat2) * sin_dlon * sin_dlon, 0.0), 1.0)
                value = 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(term)) * self.factor
            else:
                (x1, y1), (x2, y2) = self.points[i], self.points[j]
                value = math.hypot(x2 - x1, y2 - y1) * self.factor
            self.cache[pair] = value
        return value


def _haversine_matrix_km(lats, lons):
    """Great-circle distances in km between all pairs of points (degrees), in one vectorised pass."""
    lat, lon = np.radians(lats), np.radians(lons)
    sin_dlat = np.sin((lat[None, :] - lat[:, None]) * 0.5)
    sin_dlon = np.sin((lon[None, :] - lon[:, None]) * 0.5)
    cos_lat = np.cos(lat)
    term = sin_dlat * sin_dlat + cos_lat[:, None] * cos_lat[None, :] * sin_dlon * sin_dlon
    return term_to_km(np.clip(term, 0.0, 1.0))


def _check_point(prefix, x, y):
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise InvalidInput(f"{prefix}.{name}", f"must be a finite number, got {value!r}")


def _check_window(name, window):
    try:
        start, end = window
    except (TypeError, ValueError):
        raise InvalidInput(name, f"must be a (start, end) pair, got {window!r}") from None
    for value in (start, end):
        if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
            raise InvalidInput(name, f"must hold numbers, got {window!r}")
    if start < 0:
        raise InvalidInput(name, f"start must be >= 0, got {start!r}")
    if end < start:
        raise InvalidInput(name, f"end must not be before start, got {window!r}")
