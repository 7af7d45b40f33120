"""Solomon VRPTW benchmark: our OR-Tools planner (and PyVRP, when installed) at the same budget.

    python benchmarks/vrptw.py --data ../shared/data/vrptw/solomon --seconds 10 [--solver ortools|pyvrp|both]
                               [INSTANCE ...]

Prints per instance the distance, vehicles and gap to the best-known distance-only value, then the
mean gap per class (C1, C2, R1, R2, RC1, RC2) and overall; the last line is one JSON object.
"""

import argparse
import itertools
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from crowd_dispatch.routing import check_plan, plan_routes
from crowd_dispatch.solomon import best_known, read_instance


def solve_ortools(path, seconds):
    _, visits, techs = read_instance(path)
    plan = plan_routes(visits, techs, time_limit_s=seconds)
    violations = check_plan(plan, visits, techs)
    return plan.distance, sum(1 for stops in plan.routes.values() if stops), not violations and not plan.dropped


def solve_pyvrp(path, seconds):
    import pyvrp  # noqa: PLC0415 - optional comparison solver
    from pyvrp.stop import MaxRuntime  # noqa: PLC0415

    _, visits, techs = read_instance(path)
    depot = techs[0]
    scale = 10  # PyVRP needs integers: 1 decimal, as in its Solomon examples; cost recomputed exactly
    data = pyvrp.ProblemData(
        clients=[
            pyvrp.Client(x=int(v.x * scale), y=int(v.y * scale), delivery=[int(v.demand)],
                         service_duration=int(v.service_min * scale), tw_early=int(v.window[0] * scale),
                         tw_late=int(v.window[1] * scale))
            for v in visits
        ],
        depots=[pyvrp.Depot(x=int(depot.x * scale), y=int(depot.y * scale))],
        vehicle_types=[pyvrp.VehicleType(num_available=len(techs), capacity=[int(depot.capacity)],
                                         tw_early=int(depot.shift[0] * scale), tw_late=int(depot.shift[1] * scale))],
        distance_matrices=[_matrix(depot, visits, scale)],
        duration_matrices=[_matrix(depot, visits, scale)],
    )  # fmt: skip
    result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=1, display=False)
    pts = [(depot.x, depot.y)] + [(v.x, v.y) for v in visits]
    total, used = 0.0, 0
    for route in result.best.routes():
        nodes = [0, *route.visits(), 0]
        total += sum(math.dist(pts[a], pts[b]) for a, b in itertools.pairwise(nodes))
        used += 1
    return total, used, result.best.is_feasible()


def _matrix(depot, visits, scale):
    xs = np.array([depot.x] + [v.x for v in visits]) * scale
    ys = np.array([depot.y] + [v.y for v in visits]) * scale
    return np.floor(np.hypot(xs[:, None] - xs[None, :], ys[:, None] - ys[None, :])).astype(int)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--solver", choices=["ortools", "pyvrp", "both"], default="both")
    ap.add_argument("instances", nargs="*")
    args = ap.parse_args()
    data = Path(args.data)
    names = args.instances or sorted(p.stem for p in data.glob("*.txt"))
    solvers = ["ortools", "pyvrp"] if args.solver == "both" else [args.solver]
    if "pyvrp" in solvers:
        try:
            import pyvrp  # noqa: F401, PLC0415 - optional
        except ImportError:
            print("PyVRP is not installed: running OR-Tools only", file=sys.stderr)
            solvers = ["ortools"]
    rows = []
    for name in names:
        bks, _ = best_known(data, name)
        for solver in solvers:
            start = time.perf_counter()
            cost, used, feasible = (solve_ortools if solver == "ortools" else solve_pyvrp)(data / f"{name}.txt",
                                                                                           args.seconds)  # fmt: skip
            gap = 100.0 * (cost - bks) / bks
            rows.append({"instance": name, "solver": solver, "cost": round(cost, 2), "vehicles": used,
                         "gap_pct": round(gap, 2), "feasible": feasible,
                         "seconds": round(time.perf_counter() - start, 1)})  # fmt: skip
            print(f"{name:6} {solver:8} cost {cost:9.2f} bks {bks:9.2f} gap {gap:6.2f}% vehicles {used:3} "
                  f"feasible {feasible}", flush=True)  # fmt: skip
    summary = {}
    for solver in solvers:
        per_class = {}
        for row in rows:
            if row["solver"] == solver:
                cls = re.match(r"[A-Z]+\d", row["instance"]).group(0)
                per_class.setdefault(cls, []).append(row["gap_pct"])
        means = {cls: round(sum(g) / len(g), 2) for cls, g in sorted(per_class.items())}
        gaps = [row["gap_pct"] for row in rows if row["solver"] == solver]
        summary[solver] = {"mean_gap_pct": round(sum(gaps) / len(gaps), 2), "per_class": means}
        print(f"{solver}: mean gap {summary[solver]['mean_gap_pct']}% per class {means}")
    print(json.dumps({"seconds": args.seconds, "instances": names, "summary": summary, "rows": rows}))


if __name__ == "__main__":
    main()
