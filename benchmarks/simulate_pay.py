"""What shortage pay does to urgent jobs on site within 60 minutes and to the pay bill.

    python benchmarks/simulate_pay.py [REGION.json ...] [--seeds 1-5] [--supply 0.5]
                                      [--variant AFTER/STEP/CAP ...]

For each region (default: bern, rural_sparse, metro_congested) the experts are cut to ``--supply``
times the region file's count (shortage is what shortage pay is for), and ``ours`` runs on the same
seeds (same experts, jobs and answers: common random numbers) with shortage pay off and with each
variant ``AFTER/STEP/CAP`` (``crowd_dispatch.policy.DispatchSettings.shortage_pay_after_rounds``,
``shortage_pay_step``, ``shortage_pay_cap``). Acceptance depends on pay (``pay_acceptance``, see
docs/SIMULATION.md), so a dearer round is accepted more readily. The table gives, per region and
variant, the means over the seeds of the urgent on-site-within-60 share, within-SLA share, offers
per job, the pay bill (``pay``, in ``pay_per_hour`` units, shortage pay included), the shortage pay
alone and the jobs that got it, and the experts' cost per job (``cost``). The last line is one JSON
object.
"""

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from crowd_dispatch.scenario import load  # noqa: E402
from crowd_dispatch.simulate import OURS_SETTINGS, simulate  # noqa: E402

DEFAULT_REGIONS = ("region_bern.json", "region_rural_sparse.json", "region_metro_congested.json")
DEFAULT_VARIANTS = ("1/0.1/0.5", "2/0.2/0.6")
KEYS = ("urgent_on_site_60_share", "within_sla_share", "offers_per_job", "pay", "shortage_pay", "shortage_paid_jobs")


def parse_seeds(text):
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def parse_variant(text):
    after, step, cap = text.split("/")
    return replace(
        OURS_SETTINGS, shortage_pay_after_rounds=int(after), shortage_pay_step=float(step), shortage_pay_cap=float(cap)
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("regions", nargs="*")
    ap.add_argument("--seeds", default="1-5")
    ap.add_argument("--supply", type=float, default=0.5, help="share of the region file's experts")
    ap.add_argument("--variant", nargs="*", default=list(DEFAULT_VARIANTS), help="AFTER/STEP/CAP")
    args = ap.parse_args(argv)
    regions = args.regions or [str(ROOT / "examples" / name) for name in DEFAULT_REGIONS]
    seeds = parse_seeds(args.seeds)
    variants = [("off", OURS_SETTINGS)] + [(v, parse_variant(v)) for v in args.variant]
    started = time.process_time()
    results = {}
    print(f"{'region':16} {'variant':10} {'experts':>7} {'on-site<=60':>11} {'SLA':>7} {'offers/job':>10} "
          f"{'pay':>10} {'shortage':>9} {'jobs+':>6} {'cost':>9}")  # fmt: skip
    for path in regions:
        scenario = load(path)
        count = max(1, round(scenario["experts"]["count"] * args.supply))
        scenario["experts"]["count"] = count
        for label, settings in variants:
            runs = [simulate(scenario, "ours", seed, settings=settings) for seed in seeds]
            mean = {key: sum(r[key] for r in runs) / len(runs) for key in (*KEYS, "cost")}
            results.setdefault(scenario["name"], {})[label] = {k: round(v, 4) for k, v in mean.items()}
            print(
                f"{scenario['name']:16} {label:10} {count:7d} {100 * mean[KEYS[0]]:10.1f}% "
                f"{100 * mean['within_sla_share']:6.1f}% {mean['offers_per_job']:10.2f} {mean['pay']:10.0f} "
                f"{mean['shortage_pay']:9.0f} {mean['shortage_paid_jobs']:6.1f} {mean['cost']:9.0f}",
                flush=True,
            )
    cpu = round(time.process_time() - started, 1)
    print(f"seeds {seeds[0]}-{seeds[-1]}, supply x{args.supply}, {cpu} s CPU")
    print(json.dumps({"seeds": seeds, "supply": args.supply, "cpu_s": cpu, "results": results}))


if __name__ == "__main__":
    main()
