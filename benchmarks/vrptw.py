"""Solomon VRPTW benchmark: our planner (``plan_routes``) against plain PyVRP, in the same run.

    python benchmarks/vrptw.py [--data DIR] [--seconds 10] [--solver ours|pyvrp|both]
                               [--skill-instances 10] [--json FILE] [INSTANCE ...]

``--data`` defaults to ``$CROWD_VRPTW_DATA``, else ``shared/data/vrptw/solomon`` beside the checkout.
For every instance (default: all 56 in ``--data``) both solvers get the same wall-clock budget on one
core. Plain PyVRP reads the instance as VRPLIB with its 'exact' rounding (x1000), the usual way to
run it on Solomon. Costs are the real Euclidean distances of the routes (double precision, rounded
to 2 decimals, the convention of the best-known solutions in ``BKS.json``), and every plan of both
solvers is checked in real numbers with ``check_plan``. The gap is against the distance-only
best-known value.

Then the skill-restricted variant: ``--skill-instances`` instances (one or two per class), where
each visit needs one of 3 skills and each vehicle has 1 or 2 of them (seeded), solved by our planner
and compared with our unrestricted cost of the same instance.

Prints a table per instance, the mean gaps per class and overall; the last line is one JSON object.
"""

import argparse
import itertools
import json
import math
import os
import random
import re
import tempfile
import time
from pathlib import Path

import pyvrp
from pyvrp.stop import MaxRuntime

from crowd_dispatch.routing import InfeasiblePlan, RoutePlan, Stop, Technician, Visit, check_plan, plan_routes
from crowd_dispatch.solomon import best_known, read_instance

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = os.environ.get("CROWD_VRPTW_DATA") or ROOT.parent / "shared" / "data" / "vrptw" / "solomon"
SKILLS = ("a", "b", "c")
SKILL_INSTANCES = ("C101", "C201", "R101", "R105", "R201", "R205", "RC101", "RC105", "RC201", "RC205")


def solve_ours(visits, techs, seconds):
    """(cost, vehicles, feasible) of ``plan_routes``; a plan that fails its check raises, so counts as none."""
    try:
        plan = plan_routes(visits, techs, time_limit_s=seconds)
    except InfeasiblePlan:
        return None, 0, False
    return plan.distance, sum(1 for stops in plan.routes.values() if stops), not plan.dropped


def solve_pyvrp(name, visits, techs, seconds):
    """Plain PyVRP: the instance written as VRPLIB and read with 'exact' rounding (x1000)."""
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
    best = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=1, display=False, collect_stats=False).best
    # the same routes as one of our plans: real distance and a check in real numbers
    routes = {t.id: [] for t in techs}
    for k, route in enumerate(best.routes()):
        routes[techs[k].id] = [Stop(visits[a.idx].id, 0.0, 0.0) for a in route if a.is_client()]
    served = {s.visit_id for stops in routes.values() for s in stops}
    plan = RoutePlan(routes=routes, dropped=[v.id for v in visits if v.id not in served], distance=0.0)
    feasible = best.is_feasible() and not check_plan(plan, visits, techs)
    return _real_distance(routes, visits, techs[0]), best.num_routes(), feasible


def _real_distance(routes, visits, depot):
    at = {v.id: (v.x, v.y) for v in visits}
    total = 0.0
    for stops in routes.values():
        if stops:
            points = [(depot.x, depot.y)] + [at[s.visit_id] for s in stops] + [(depot.x, depot.y)]
            total += sum(math.dist(a, b) for a, b in itertools.pairwise(points))
    return total


def with_skills(name, visits, techs, seed):
    """Seeded skill-restricted copy: each visit needs one of 3 skills, each vehicle has 1 or 2."""
    rng = random.Random(f"{seed}:{name}")
    visits = [Visit(id=v.id, x=v.x, y=v.y, service_min=v.service_min, window=v.window, demand=v.demand,
                    skills={rng.choice(SKILLS): 1}) for v in visits]  # fmt: skip
    restricted = []
    for k, t in enumerate(techs):
        own = {SKILLS[k % len(SKILLS)]}  # round robin: every skill has a third of the fleet or more
        if rng.random() < 0.5:
            own.add(rng.choice([s for s in SKILLS if s not in own]))
        restricted.append(Technician(id=t.id, x=t.x, y=t.y, shift=t.shift, capacity=t.capacity,
                                     skills=dict.fromkeys(sorted(own), 1)))  # fmt: skip
    return visits, restricted


def _mean(values):
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 2) if values else None


def markdown(result):
    """The figures as Markdown tables (for docs/ROUTING.md)."""
    rows, summary = result["rows"], result["summary"]
    by = {(r["instance"], r["solver"]): r for r in rows}
    solvers = [s for s in ("ours", "pyvrp") if s in summary]
    cell = lambda r: "-" if r is None or r["cost"] is None else f"{r['cost']:.2f}"  # noqa: E731
    gap = lambda r: "-" if r is None or r["gap_pct"] is None else f"{r['gap_pct']:.2f}"  # noqa: E731
    head = "| instance | BKS | " + " | ".join(f"{s} cost | {s} gap % | {s} vehicles" for s in solvers) + " |"
    out = [head, "|" + "---|" * (2 + 3 * len(solvers))]
    for name in result["instances"]:
        bks = next(r["bks"] for r in rows if r["instance"] == name)
        cells = []
        for s in solvers:
            r = by.get((name, s))
            flag = "" if r is None or r["feasible"] else " (infeasible)"
            cells += [cell(r) + flag, gap(r), str(r["vehicles"] if r else "-")]
        out.append(f"| {name} | {bks:.2f} | " + " | ".join(cells) + " |")
    classes = sorted({c for s in solvers for c in summary[s]["per_class"]})
    out += [
        "",
        "| mean gap % | " + " | ".join(classes) + f" | all {len(result['instances'])} |",
        "|" + "---|" * (len(classes) + 2),
    ]
    for s in solvers:
        per = summary[s]["per_class"]
        out.append(
            f"| {s} | " + " | ".join(f"{per[c]:.2f}" for c in classes) + f" | {summary[s]['mean_gap_pct']:.2f} |"
        )
    if result["skills"]:
        out += ["", "| instance | unrestricted | skill-restricted | + % | vehicles |", "|---|---|---|---|---|"]
        for r in result["skills"]:
            restricted = "-" if r["restricted"] is None else f"{r['restricted']:.2f}"
            extra = "-" if r["extra_pct"] is None else f"{r['extra_pct']:.2f}"
            out.append(f"| {r['instance']} | {r['unrestricted']:.2f} | {restricted} | {extra} | {r['vehicles']} |")
        out.append(f"| mean | | | {summary['skills']['mean_extra_pct']:.2f} | |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--solver", choices=["ours", "pyvrp", "both"], default="both")
    ap.add_argument("--skill-instances", type=int, default=len(SKILL_INSTANCES),
                    help="how many instances of the skill-restricted variant (0: none)")  # fmt: skip
    ap.add_argument("--seed", type=int, default=11, help="seed of the skill-restricted variant")
    ap.add_argument("--json", help="also write the JSON result to this file")
    ap.add_argument("--markdown", help="also write the tables as Markdown to this file")
    ap.add_argument("instances", nargs="*")
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "BKS.json").exists():
        ap.error(f"no Solomon instances with BKS.json in {data} (--data or CROWD_VRPTW_DATA)")
    names = args.instances or sorted(p.stem for p in data.glob("*.txt"))
    solvers = ["ours", "pyvrp"] if args.solver == "both" else [args.solver]
    rows, ours_cost = [], {}
    print(f"{'instance':8} {'solver':6} {'cost':>9} {'bks':>9} {'gap %':>7} {'veh':>4} {'feasible':>8} {'s':>5}")
    for name in names:
        bks, _ = best_known(data, name)
        _, visits, techs = read_instance(data / f"{name}.txt")
        for solver in solvers:
            start = time.perf_counter()
            if solver == "ours":
                cost, used, feasible = solve_ours(visits, techs, args.seconds)
                ours_cost[name] = cost
            else:
                cost, used, feasible = solve_pyvrp(name, visits, techs, args.seconds)
            seconds = time.perf_counter() - start
            gap = 100.0 * (round(cost, 2) - bks) / bks if cost is not None and feasible else None
            rows.append({"instance": name, "solver": solver, "cost": None if cost is None else round(cost, 2),
                         "bks": bks, "vehicles": used, "gap_pct": None if gap is None else round(gap, 2),
                         "feasible": feasible, "seconds": round(seconds, 1)})  # fmt: skip
            print(f"{name:8} {solver:6} {cost or 0:9.2f} {bks:9.2f} {gap if gap is not None else float('nan'):7.2f} "
                  f"{used:4} {feasible!s:>8} {seconds:5.1f}", flush=True)  # fmt: skip

    summary = {}
    for solver in solvers:
        mine = [r for r in rows if r["solver"] == solver]
        per_class = {}
        for row in mine:
            per_class.setdefault(re.match(r"[A-Z]+\d", row["instance"]).group(0), []).append(row["gap_pct"])
        summary[solver] = {
            "mean_gap_pct": _mean([r["gap_pct"] for r in mine]),
            "per_class": {cls: _mean(g) for cls, g in sorted(per_class.items())},
            "infeasible": [r["instance"] for r in mine if not r["feasible"]],
        }
        print(f"{solver}: mean gap {summary[solver]['mean_gap_pct']}% per class {summary[solver]['per_class']} "
              f"infeasible {summary[solver]['infeasible']}")  # fmt: skip
    if "ours" in summary and "pyvrp" in summary:
        diff = round(summary["ours"]["mean_gap_pct"] - summary["pyvrp"]["mean_gap_pct"], 2)
        summary["ours_minus_pyvrp_pp"] = diff
        print(f"ours - pyvrp: {diff} percentage points (target <= 1)")

    skill_rows = []
    chosen = [n for n in SKILL_INSTANCES if (data / f"{n}.txt").exists()][: args.skill_instances]
    if chosen:
        print(f"\nskill-restricted variant (seed {args.seed}): each visit needs 1 of 3 skills, each vehicle has 1-2")
        print(f"{'instance':8} {'unrestricted':>12} {'restricted':>10} {'+%':>6} {'feasible':>8}")
    for name in chosen:
        _, visits, techs = read_instance(data / f"{name}.txt")
        base = ours_cost.get(name)
        if base is None:
            base, _, _ = solve_ours(visits, techs, args.seconds)
        r_visits, r_techs = with_skills(name, visits, techs, args.seed)
        cost, used, feasible = solve_ours(r_visits, r_techs, args.seconds)
        extra = 100.0 * (cost - base) / base if cost is not None and base else None
        skill_rows.append({"instance": name, "unrestricted": round(base, 2), "restricted": cost and round(cost, 2),
                           "vehicles": used, "extra_pct": extra and round(extra, 2), "feasible": feasible})  # fmt: skip
        print(f"{name:8} {base:12.2f} {cost or 0:10.2f} {extra if extra is not None else float('nan'):6.2f} "
              f"{feasible!s:>8}", flush=True)  # fmt: skip
    if skill_rows:
        summary["skills"] = {"mean_extra_pct": _mean([r["extra_pct"] for r in skill_rows]),
                             "infeasible": [r["instance"] for r in skill_rows if not r["feasible"]]}  # fmt: skip
        print(f"skill-restricted: mean cost {summary['skills']['mean_extra_pct']}% above unrestricted")
    result = {"seconds": args.seconds, "instances": names, "summary": summary, "rows": rows, "skills": skill_rows}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(markdown(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
