"""Route planning for planned work (preventive maintenance days): VRPTW with OR-Tools.

A plan assigns visits to technicians in order. Constraints: each technician's shift and start
position, each visit's time window and service duration, the skills a visit needs (a visit goes
only to technicians who have them at the required level), optional vehicle capacity (Solomon
demands), and optional visits that may be dropped at a penalty scaled by their priority.

Positions are plane coordinates (``geographic=False``: Euclidean distance, travel time =
distance, as in the Solomon benchmark) or latitude/longitude (``geographic=True``: haversine km
times a road factor, travel minutes at ``speed_kmh``). Times are minutes.

Solver: OR-Tools routing with PARALLEL_CHEAPEST_INSERTION for the first solution and GUIDED_LOCAL
SEARCH within a time limit, the known-good setting on Solomon instances. Urgent jobs are inserted
into an existing plan by :func:`insert_urgent`: an exact cheapest feasible insertion over every
position of every route (no re-solve), optionally followed by :func:`reoptimize`, which restarts the
solver from the current routes (warm start).
"""

import math
from dataclasses import dataclass, field

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from .errors import DispatchError, InvalidInput
from .geo import haversine_km
from .model import check_non_negative

SCALE = 100  # OR-Tools works on integers: distances and times in 1/100 units
MANDATORY_PENALTY = 10**9  # a mandatory visit is dropped only when no route can take it
OPTIONAL_PENALTY = 10**5  # per priority point, in scaled distance units
ROAD_FACTOR = 1.3
INF = float("inf")


@dataclass(frozen=True)
class Visit:
    """One job to schedule. ``window`` is the allowed start of service (minutes)."""

    id: object
    x: float
    y: float
    service_min: float = 0.0
    window: tuple = (0.0, INF)
    skills: dict = field(default_factory=dict)
    priority: int = 1
    optional: bool = False
    demand: float = 0.0

    def __post_init__(self):
        _check_point(f"visit[{self.id}]", self.x, self.y)
        check_non_negative(f"visit[{self.id}]", "service_min", self.service_min)
        check_non_negative(f"visit[{self.id}]", "demand", self.demand)
        _check_window(f"visit[{self.id}].window", self.window)
        if not isinstance(self.priority, int) or self.priority < 0:
            raise InvalidInput(f"visit[{self.id}].priority", f"must be a non-negative int, got {self.priority!r}")


@dataclass(frozen=True)
class Technician:
    """One technician (a vehicle): start position, shift and skills. Routes end where they start."""

    id: object
    x: float
    y: float
    shift: tuple = (0.0, 24 * 60.0)
    skills: dict = field(default_factory=dict)
    capacity: float | None = None

    def __post_init__(self):
        _check_point(f"technician[{self.id}]", self.x, self.y)
        _check_window(f"technician[{self.id}].shift", self.shift)
        check_non_negative(f"technician[{self.id}]", "capacity", self.capacity)

    def can_do(self, visit):
        return all(self.skills.get(code, -1) >= level for code, level in visit.skills.items())


@dataclass(frozen=True)
class Stop:
    visit_id: object
    arrival: float
    start: float


@dataclass
class RoutePlan:
    """``routes`` maps technician id -> ordered stops; ``distance`` is the real (unscaled) total."""

    routes: dict
    dropped: list
    distance: float

    def visit_order(self):
        return {tech: [stop.visit_id for stop in stops] for tech, stops in self.routes.items()}


class _Problem:
    """Nodes 0..T-1 are the technicians' starts, T.. the visits; matrices in minutes/units."""

    def __init__(self, visits, technicians, geographic=False, speed_kmh=40.0):
        if not technicians:
            raise InvalidInput("technicians", "at least one technician is needed")
        ids = [v.id for v in visits]
        if len(set(ids)) != len(ids):
            raise InvalidInput("visits", "visit ids must be unique")
        if not speed_kmh > 0:
            raise InvalidInput("speed_kmh", f"must be > 0, got {speed_kmh!r}")
        self.visits = list(visits)
        self.techs = list(technicians)
        self.geographic = geographic
        xs = np.array([t.x for t in self.techs] + [v.x for v in self.visits], dtype=float)
        ys = np.array([t.y for t in self.techs] + [v.y for v in self.visits], dtype=float)
        if geographic:
            dist = np.vstack([haversine_km(xs[i], ys[i], xs, ys) for i in range(xs.size)]) * ROAD_FACTOR
            self.distance = dist
            self.travel = dist / speed_kmh * 60.0
        else:
            self.distance = np.hypot(xs[:, None] - xs[None, :], ys[:, None] - ys[None, :])
            self.travel = self.distance
        self.n_tech = len(self.techs)
        self.index_of = {v.id: self.n_tech + i for i, v in enumerate(self.visits)}
        self.service = np.array([0.0] * self.n_tech + [v.service_min for v in self.visits])
        self.allowed = [[k for k, t in enumerate(self.techs) if t.can_do(v)] for v in self.visits]

    def node_visit(self, node):
        return self.visits[node - self.n_tech]


def plan_routes(visits, technicians, *, time_limit_s=10.0, geographic=False, speed_kmh=40.0, initial=None):
    """Solve the VRPTW and return a :class:`RoutePlan`. ``initial`` (tech id -> visit ids) warm-starts it."""
    problem = _Problem(visits, technicians, geographic, speed_kmh)
    return _solve(problem, time_limit_s, initial)


def reoptimize(plan, visits, technicians, *, time_limit_s=1.0, geographic=False, speed_kmh=40.0):
    """Improve an existing plan from its current routes (warm start) within ``time_limit_s``."""
    return plan_routes(
        visits, technicians, time_limit_s=time_limit_s, geographic=geographic, speed_kmh=speed_kmh,
        initial=plan.visit_order(),
    )  # fmt: skip


def _solve(problem, time_limit_s, initial):
    n_nodes = problem.n_tech + len(problem.visits)
    starts = list(range(problem.n_tech))
    manager = pywrapcp.RoutingIndexManager(n_nodes, problem.n_tech, starts, starts)
    routing = pywrapcp.RoutingModel(manager)

    dist_int = np.rint(problem.distance * SCALE).astype(np.int64)
    time_int = np.rint((problem.travel + problem.service[:, None]) * SCALE).astype(np.int64)
    dist_rows = dist_int.tolist()
    time_rows = time_int.tolist()

    def distance_cb(i, j):
        return dist_rows[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def time_cb(i, j):
        return time_rows[manager.IndexToNode(i)][manager.IndexToNode(j)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance_cb))
    ends = [t.shift[1] for t in problem.techs] + [v.window[1] for v in problem.visits]
    finite = [e for e in ends if math.isfinite(e)]
    horizon = int((max(finite) if finite and len(finite) == len(ends) else 10**7) * SCALE)
    time_transit = routing.RegisterTransitCallback(time_cb)
    routing.AddDimension(time_transit, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for k, tech in enumerate(problem.techs):
        lo, hi = _scaled(tech.shift, horizon)
        time_dim.CumulVar(routing.Start(k)).SetRange(lo, hi)
        time_dim.CumulVar(routing.End(k)).SetRange(lo, hi)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(k)))
    for i, visit in enumerate(problem.visits):
        index = manager.NodeToIndex(problem.n_tech + i)
        lo, hi = _scaled(visit.window, horizon)
        time_dim.CumulVar(index).SetRange(lo, hi)
        allowed = problem.allowed[i]
        if len(allowed) < problem.n_tech:  # -1 keeps "unperformed" possible (the visit is then dropped)
            routing.VehicleVar(index).SetValues([-1, *allowed])
        penalty = OPTIONAL_PENALTY * max(visit.priority, 1) if visit.optional else MANDATORY_PENALTY
        routing.AddDisjunction([index], penalty)

    if any(t.capacity is not None for t in problem.techs):
        demands = [0] * problem.n_tech + [round(v.demand * SCALE) for v in problem.visits]

        def demand_cb(i):
            return demands[manager.IndexToNode(i)]

        capacities = [round((t.capacity if t.capacity is not None else 1e9) * SCALE) for t in problem.techs]
        routing.AddDimensionWithVehicleCapacity(routing.RegisterUnaryTransitCallback(demand_cb), 0, capacities,
                                                True, "capacity")  # fmt: skip

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(int(time_limit_s * 1000), 1))

    solution = None
    if initial:
        tech_pos = {t.id: k for k, t in enumerate(problem.techs)}
        routes = [[] for _ in problem.techs]
        for tech_id, visit_ids in initial.items():
            routes[tech_pos[tech_id]] = [problem.index_of[v] for v in visit_ids if v in problem.index_of]
        routing.CloseModelWithParameters(params)
        start = routing.ReadAssignmentFromRoutes(routes, True)
        if start is not None:
            solution = routing.SolveFromAssignmentWithParameters(start, params)
    if solution is None:
        solution = routing.SolveWithParameters(params)
    if solution is None:
        raise DispatchError("no feasible plan: check shifts, windows and skills")
    return _extract(problem, manager, routing, solution)


def _extract(problem, manager, routing, solution):
    routes = {}
    for k, tech in enumerate(problem.techs):
        order = []
        index = routing.Start(k)
        while not routing.IsEnd(index):
            index = solution.Value(routing.NextVar(index))
            node = manager.IndexToNode(index)
            if not routing.IsEnd(index):
                order.append(node)
        routes[tech.id] = order
    return _plan_from_orders(problem, routes)


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
            distance += problem.distance[prev, k]
        routes[tech.id] = stops
        served.update(nodes)
    dropped = [v.id for i, v in enumerate(problem.visits) if problem.n_tech + i not in served]
    return RoutePlan(routes=routes, dropped=dropped, distance=float(distance))


def insert_urgent(plan, visits, technicians, urgent, *, geographic=False, speed_kmh=40.0):
    """Insert ``urgent`` into ``plan`` at the feasible position that serves it earliest, then with the
    least extra travel; every visit already planned keeps its technician and order.

    Returns a new :class:`RoutePlan`; raises :class:`DispatchError` when no position is feasible
    (skills, windows, shift or capacity).
    """
    problem = _Problem([*visits, urgent], technicians, geographic, speed_kmh)
    u = problem.index_of[urgent.id]
    orders = {t: [problem.index_of[v] for v in ids] for t, ids in plan.visit_order().items()}
    best = None
    for k, tech in enumerate(problem.techs):
        if not tech.can_do(urgent):
            continue
        nodes = orders.get(tech.id, [])
        load = sum(problem.node_visit(n).demand for n in nodes) + urgent.demand
        if tech.capacity is not None and load > tech.capacity + 1e-9:
            continue
        for pos in range(len(nodes) + 1):
            candidate = [*nodes[:pos], u, *nodes[pos:]]
            start_u = _feasible_start(problem, k, candidate, u)
            if start_u is None:
                continue
            prev = nodes[pos - 1] if pos else k
            nxt = nodes[pos] if pos < len(nodes) else k
            extra = problem.distance[prev, u] + problem.distance[u, nxt] - problem.distance[prev, nxt]
            key = (round(start_u, 6), extra)
            if best is None or key < best[0]:
                best = (key, tech.id, candidate)
    if best is None:
        raise DispatchError(f"no feasible insertion for urgent visit {urgent.id!r}")
    orders[best[1]] = best[2]
    return _plan_from_orders(problem, orders)


def _feasible_start(problem, k, nodes, watch):
    """Start of service at ``watch`` if the route ``nodes`` of technician ``k`` is feasible, else None."""
    tech = problem.techs[k]
    t, prev, watched = tech.shift[0], k, None
    for node in nodes:
        visit = problem.node_visit(node)
        t = max(t + problem.travel[prev, node], visit.window[0])
        if t > visit.window[1] + 1e-9:
            return None
        if node == watch:
            watched = t
        t += problem.service[node]
        prev = node
    if t + problem.travel[prev, k] > tech.shift[1] + 1e-9:
        return None
    return watched


def check_plan(plan, visits, technicians, *, geographic=False, speed_kmh=40.0):
    """List every violation in ``plan`` (empty when feasible): windows, shifts, skills, capacity,
    visits served twice or unknown, and mandatory visits dropped."""
    problem = _Problem(visits, technicians, geographic, speed_kmh)
    by_id = {v.id: v for v in visits}
    problems, seen = [], set()
    for k, tech in enumerate(problem.techs):
        stops = plan.routes.get(tech.id, [])
        t, prev, load = tech.shift[0], k, 0.0
        for stop in stops:
            visit = by_id.get(stop.visit_id)
            if visit is None:
                problems.append(f"{tech.id}: unknown visit {stop.visit_id!r}")
                continue
            if stop.visit_id in seen:
                problems.append(f"visit {stop.visit_id!r} is served twice")
            seen.add(stop.visit_id)
            if not tech.can_do(visit):
                problems.append(f"{tech.id} lacks the skills of visit {visit.id!r}")
            node = problem.index_of[visit.id]
            t = max(t + problem.travel[prev, node], visit.window[0])
            if t > visit.window[1] + 1e-6:
                problems.append(f"visit {visit.id!r} starts at {t:.1f}, after its window ends ({visit.window[1]})")
            t += visit.service_min
            load += visit.demand
            prev = node
        if stops and t + problem.travel[prev, k] > tech.shift[1] + 1e-6:
            problems.append(f"{tech.id} returns after the end of the shift ({tech.shift[1]})")
        if tech.capacity is not None and load > tech.capacity + 1e-9:
            problems.append(f"{tech.id} carries {load}, over its capacity {tech.capacity}")
    for visit in visits:
        if visit.id not in seen and not visit.optional and visit.id not in plan.dropped:
            problems.append(f"mandatory visit {visit.id!r} is neither served nor reported dropped")
        if visit.id not in seen and not visit.optional and visit.id in plan.dropped:
            problems.append(f"mandatory visit {visit.id!r} was dropped")
    return problems


def _scaled(window, horizon):
    lo = round(window[0] * SCALE)
    hi = horizon if not math.isfinite(window[1]) else round(window[1] * SCALE)
    return max(lo, 0), min(hi, horizon)


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
