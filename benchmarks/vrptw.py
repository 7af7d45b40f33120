"""Solomon VRPTW benchmark: our OR-Tools planner (and PyVRP, when installed) at the same budget.

    python benchmarks/vrptw.py --data ../shared/data/vrptw/solomon --seconds 10 [--solver ortools|pyvrp|both]
                               [INSTANCE ...]

Prints per instance the distance, vehicles and gap to the best-known distance-only value, then the
mean gap per class (C1, C2, R1, R2, RC1, RC2) and overall; the last line is one JSON object.
"""

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from crowd_dispatch.routing import check_plan, plan_routes
from crowd_dispatch.solomon import best_known, read_instance


def solve_ortools(path, seconds):
    _, visits, techs = read_instance(path)
    plan = plan_routes(visits, techs, time_limit_s=seconds)
    violations = check_plan(plan, visits, techs)
    return plan.distance, sum(1 for stops in plan.routes.values() if stops), not violations and not plan.dropped


def solve_pyvrp(path, seconds):
    """PyVRP on the same instance, written to VRPLIB and read with 'exact' rounding (x1000)."""
    import pyvrp  # noqa: PLC0415 - optional comparison solver
    from pyvrp.stop import MaxRuntime  # noqa: PLC0415

    name, visits, techs = read_instance(path)
    depot = techs[0]
    nodes = [(depot.x, depot.y, 0, depot.shift, 0)] + [(v.x, v.y, v.demand, v.window, v.service_min) for v in visits]
    lines = [f"NAME : {name}", "TYPE : VRPTW", f"DIMENSION : {len(nodes)}", f"VEHICLES : {len(techs)}",
             f"CAPACITY : {int(depot.capacity)}", "EDGE_WEIGHT_TYPE : EUC_2D", "NODE_COORD_SECTION"]  # fmt: skip
    lines += [f"{i + 1} {n[0]} {n[1]}" for i, n in enumerate(nodes)]
    lines += ["DEMAND_SECTION"] + [f"{i + 1} {int(n[2])}" for i, n in enumerate(nodes)]
    lines += ["TIME_WINDOW_SECTION"] + [f"{i + 1} {n[3][0]} {n[3][1]}" for i, n in enumerate(nodes)]
    lines += ["SERVICE_TIME_SECTION"] + [f"{i + 1} {n[4]}" for i, n in enumerate(nodes)]
    lines += ["DEPOT_SECTION", "1", "-1", "EOF"]
    with tempfile.NamedTemporaryFile("w", suffix=".vrp", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
    data = pyvrp.read(fh.name, round_func="exact")
    Path(fh.name).unlink()
    result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=1, display=False)
    # 'exact' rounding keeps distances in 1/1000 units: the cost is the real distance to 0.001
    total = result.best.distance() / 1000.0
    used = result.best.num_routes()
    return total, used, result.best.is_feasible()


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
