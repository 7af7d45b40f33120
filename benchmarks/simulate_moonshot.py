"""The moonshot with the supply levers: standby calls and relocation of idle own technicians.

    nice -n 10 python benchmarks/simulate_moonshot.py [--seeds 1-10] [--supply bern=152 ...]

At the supply where nearest reaches 80 % (the sweep's JSON, or ``--supply``), runs ``nearest``,
``ours`` (the dispatch policy's defaults), and ``ours`` with each supply lever of
:class:`crowd_dispatch.supply.SupplySettings` and both, and prints per region the urgent share on
site within 60 minutes (mean and worst seed), unserved jobs, the standby calls, arrivals, extra
shift hours and premium, and the relocations and their km (means per run).
"""

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from simulate_levers import regions_at_supply  # noqa: E402

from crowd_dispatch.scenario import load  # noqa: E402
from crowd_dispatch.simulate import simulate  # noqa: E402
from crowd_dispatch.supply import SupplySettings  # noqa: E402

VARIANTS = (
    ("nearest", "nearest", SupplySettings()),
    ("ours", "ours", SupplySettings()),
    ("ours + standby calls", "ours", SupplySettings(standby=True)),
    ("ours + relocation", "ours", SupplySettings(relocate=True)),
    ("ours + both", "ours", SupplySettings(standby=True, relocate=True)),
)
KEYS = ("unserved", "standby_calls", "standby_arrivals", "standby_extra_hours", "standby_premium", "relocations")


def _one(args):
    path, count, policy, supply, seed = args
    scenario = load(path)
    scenario["experts"]["count"] = count
    return simulate(scenario, policy, seed, supply=supply)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", default=str(ROOT / "docs" / "simulate_sweep.json"))
    ap.add_argument("--seeds", default="1-10")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--supply", nargs="*", default=None, help="region=count pairs instead of the sweep's JSON")
    args = ap.parse_args()
    lo, hi, seeds, paths, regions = regions_at_supply(args)
    print(f"Seeds {lo}-{hi}, at nearest's 80 % supply; means per run\n")
    print(
        "| region (experts) | variant | urgent ≤60 min (mean / worst) | unserved | standby calls | came online "
        "| extra shift h | standby premium | relocations | relocation km |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    with ProcessPoolExecutor(max_workers=args.jobs) as executor:
        for name, count in regions:
            for label, policy, supply in VARIANTS:
                runs = list(executor.map(_one, [(paths[name], count, policy, supply, s) for s in seeds]))
                share = [r["urgent_on_site_60_share"] for r in runs]
                mean = {k: sum(r[k] for r in runs) / len(runs) for k in (*KEYS, "relocation_km")}
                print(
                    f"| {name} ({count}) | {label} | {sum(share) / len(share):.1%} / {min(share):.1%} "
                    f"| {mean['unserved']:.2f} | {mean['standby_calls']:.1f} | {mean['standby_arrivals']:.1f} "
                    f"| {mean['standby_extra_hours']:.1f} | {mean['standby_premium']:,.0f} | {mean['relocations']:.1f} "
                    f"| {mean['relocation_km']:,.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
