"""The baseline before and after each simulator mechanic, switched on one after the other.

    python benchmarks/simulate_mechanics.py [REGION.json] [--count 140] [--seeds 1-20]

Row 1 runs the first simulator's mechanics (every switch under ``mechanics`` off); each next
row switches one more on, in the order of :data:`ORDER`. Both policies, same seeds (paired).
"""

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from crowd_dispatch.scenario import load  # noqa: E402
from crowd_dispatch.simulate import simulate  # noqa: E402

ORDER = (
    "withdraw_on_accept", "event_driven", "shifts", "in_progress_start", "duration_noise", "reask",
    "pay_acceptance", "first_time_fix",
)  # fmt: skip
KEYS = ("urgent_on_site_60_share", "within_sla_share", "normal_p90_min", "offers_per_job", "unserved")


def _one(args):
    path, count, mechanics, policy, seed = args
    scenario = load(path)
    scenario["experts"]["count"] = count
    scenario["mechanics"] = mechanics
    return simulate(scenario, policy, seed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("region", nargs="?", default=str(ROOT / "examples" / "region_bern.json"))
    ap.add_argument("--count", type=int, default=140)
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.seeds.split("-"))
    seeds = range(lo, hi + 1)
    print(f"{load(args.region)['name']}, {args.count} experts, seeds {lo}-{hi}\n")
    print("| mechanics | policy | urgent ≤60 min | within SLA | normal p90 min | offers/job | unserved/run |")
    print("|---|---|---:|---:|---:|---:|---:|")
    mechanics = dict.fromkeys(ORDER, False)
    with ProcessPoolExecutor(max_workers=args.jobs) as executor:
        for step in (None, *ORDER):
            if step is not None:
                mechanics[step] = True
            label = "first simulator (all off)" if step is None else f"+ {step}"
            for policy in ("nearest", "ours"):
                runs = list(executor.map(_one, [(args.region, args.count, dict(mechanics), policy, s) for s in seeds]))
                m = {k: sum(r[k] for r in runs) / len(runs) for k in KEYS}
                print(
                    f"| {label} | {policy} | {m[KEYS[0]]:.1%} | {m[KEYS[1]]:.1%} | {m[KEYS[2]]:.0f} "
                    f"| {m[KEYS[3]]:.2f} | {m[KEYS[4]]:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
