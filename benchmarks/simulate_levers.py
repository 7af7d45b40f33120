"""Each lever of the dispatch policy on its own, and all together, at nearest's 80 % supply.

    python benchmarks/simulate_levers.py [--sweep docs/simulate_sweep.json] [--seeds 1-10]

Reads the supply per region from the sweep's JSON (``benchmarks/simulate_sweep.py --json``).
Rows: ``nearest``; ``ours`` with every lever off (the engine's ranking, event-driven); each lever
alone; all levers (the defaults); with ``--all-but``, all but one. SLA widening only acts when pools open in steps,
so it is measured on staged pools (own 0, partner 10, crowd 20 minutes) with and without it.
Cells: urgent on site within 60 minutes (mean over the seeds), in points of share.
"""

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from crowd_dispatch.scenario import load  # noqa: E402
from crowd_dispatch.simulate import OURS_SETTINGS, simulate  # noqa: E402

LEVERS = (
    "lookahead", "stagger", "defer", "divert", "learned_acceptance", "learned_travel", "one_open_offer_per_expert",
)  # fmt: skip
KPI = "urgent_on_site_60_share"


def regions_at_supply(args):
    """From ``--seeds LO-HI``, ``--supply region=count ...`` or ``--sweep``: (lo, hi, seeds, {region: path},
    [(region, experts)]) — the example regions at nearest's 80 % supply unless told otherwise."""
    lo, hi = (int(x) for x in args.seeds.split("-"))
    paths = {load(p)["name"]: p for p in sorted(str(p) for p in (ROOT / "examples").glob("region_*.json"))}
    if args.supply:
        regions = [(pair.split("=")[0], int(pair.split("=")[1])) for pair in args.supply]
    else:
        sweep = json.loads(Path(args.sweep).read_text())
        regions = [(r["region"], r["nearest_80_experts"]) for r in sweep["regions"]]
    return lo, hi, range(lo, hi + 1), paths, regions


def variants(all_but=False):
    none = replace(OURS_SETTINGS.without(*LEVERS, "sla_widening"), asset_weight=0.0)
    yield "ours, every lever off", none, False
    for lever in LEVERS:
        yield f"only {lever}", replace(none, **{lever: True}), False
    yield "only asset_weight", replace(none, asset_weight=OURS_SETTINGS.asset_weight), False
    yield "all (defaults)", OURS_SETTINGS, False
    if all_but:
        for lever in LEVERS:
            yield f"all but {lever}", OURS_SETTINGS.without(lever), False
        yield "all but asset_weight", replace(OURS_SETTINGS, asset_weight=0.0), False
    yield "staged pools, all but sla_widening", OURS_SETTINGS.without("sla_widening"), True
    yield "staged pools, all", OURS_SETTINGS, True


def _one(args):
    path, count, policy, settings, staged, seed = args
    scenario = load(path)
    scenario["experts"]["count"] = count
    return simulate(scenario, policy, seed, settings=settings, staged_pools=staged)[KPI]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", default=str(ROOT / "docs" / "simulate_sweep.json"))
    ap.add_argument("--seeds", default="1-10")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--all-but", action="store_true", help="also every lever but one")
    ap.add_argument("--supply", nargs="*", default=None, help="region=count pairs instead of the sweep's JSON")
    args = ap.parse_args()
    lo, hi, seeds, paths, regions = regions_at_supply(args)
    print(f"Urgent on site within 60 min, seeds {lo}-{hi}, at nearest's 80 % supply\n")
    print("| variant | " + " | ".join(f"{name} ({count})" for name, count in regions) + " |")
    print("|---|" + "---:|" * len(regions))
    rows = [("nearest", None, False), *variants(args.all_but)]
    with ProcessPoolExecutor(max_workers=args.jobs) as executor:
        for label, settings, staged in rows:
            policy = "nearest" if settings is None else "ours"
            cells = []
            for name, count in regions:
                jobs = [(paths[name], count, policy, settings, staged, s) for s in seeds]
                values = list(executor.map(_one, jobs))
                cells.append(f"{sum(values) / len(values):.1%}")
            print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
