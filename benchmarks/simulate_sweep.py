"""Ours vs nearest on the same demand over a sweep of expert supply.

    python benchmarks/simulate_sweep.py SCENARIO.json [--counts 60 80 ...] [--seeds 1 2 3] [--top-n 1]

For each expert count, both policies run on the same experts and jobs (same seeds); the share of
urgent jobs with an expert on site within 60 minutes is averaged over the seeds. Writes a PNG plot
to docs/simulate_sweep.png, finds (by linear interpolation) the supply where nearest reaches 80%
and reports ours there (target: >= 92%). The last line is one JSON object.
"""

import argparse
import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crowd_dispatch.scenario import load  # noqa: E402
from crowd_dispatch.simulate import simulate  # noqa: E402

KPI = "urgent_on_site_60_share"


def interpolate(xs, ys, target):
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if y0 < target <= y1:
            return x0 + (target - y0) * (x1 - x0) / (y1 - y0)
    return None


def value_at(xs, ys, x):
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x0 <= x <= x1:
            return y0 + (x - x0) * (y1 - y0) / (x1 - x0)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--counts", type=int, nargs="+", default=[60, 80, 100, 120, 140, 160, 200, 250])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--top-n", type=int, default=1)
    ap.add_argument("--plot", default=str(ROOT / "docs" / "simulate_sweep.png"))
    args = ap.parse_args()
    base = load(args.scenario)
    table = {"nearest": [], "ours": []}
    for count in args.counts:
        scenario = copy.deepcopy(base)
        scenario["experts"]["count"] = count
        for policy, shares_by_count in table.items():
            shares = [simulate(scenario, policy, seed, args.top_n)[KPI] for seed in args.seeds]
            shares_by_count.append(round(sum(shares) / len(shares), 4))
        print(f"experts {count:5}: nearest {table['nearest'][-1]:.3f}  ours {table['ours'][-1]:.3f}", flush=True)
    at = interpolate(args.counts, table["nearest"], 0.80)
    ours_at = value_at(args.counts, table["ours"], at) if at is not None else None
    if at is None:
        print("nearest never crosses 80% in this sweep: widen --counts")
    else:
        print(f"nearest reaches 80% at about {at:.0f} experts; ours there: {ours_at:.3f} (target >= 0.92)")
    try:
        import matplotlib  # noqa: PLC0415 - optional, for the plot only

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415

        fig, ax = plt.subplots(figsize=(7, 4))
        for policy, style in (("nearest", "o--"), ("ours", "s-")):
            ax.plot(args.counts, table[policy], style, label=policy)
        ax.axhline(0.8, color="grey", lw=0.8)
        ax.set_xlabel("experts in the region")
        ax.set_ylabel("urgent jobs on site within 60 min")
        ax.set_title(f"{base['name']}: ours vs nearest, seeds {args.seeds}")
        ax.legend()
        ax.grid(alpha=0.3)
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110, bbox_inches="tight")
        print(f"plot: {args.plot}")
    except ImportError:
        print("matplotlib is not installed: no plot")
    print(json.dumps({"scenario": base["name"], "counts": args.counts, "seeds": args.seeds, "top_n": args.top_n,
                      "nearest": table["nearest"], "ours": table["ours"], "nearest_80_at_experts": at,
                      "ours_at_that_supply": ours_at, "target": 0.92}))  # fmt: skip


if __name__ == "__main__":
    main()
