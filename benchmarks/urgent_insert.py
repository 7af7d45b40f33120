"""Latency of inserting an urgent job into an existing plan (warm start, no re-solve).

    python benchmarks/urgent_insert.py [--technicians 10] [--visits 80] [--urgent 200] [--seed 7]

Plans a geographic day (around Bern) once with PyVRP, then inserts urgent visits one by one,
each into the plan that already holds the previous ones. Prints p50/p99 latency; the last line
is one JSON object. Target: p99 <= 100 ms.
"""

import argparse
import json
import random
import time

from crowd_dispatch.errors import DispatchError
from crowd_dispatch.routing import Technician, Visit, check_plan, insert_urgent, plan_routes

CENTER = (46.95, 7.45)


def point(rng, spread=0.35):
    return CENTER[0] + rng.uniform(-spread, spread) * 0.7, CENTER[1] + rng.uniform(-spread, spread)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--technicians", type=int, default=10)
    ap.add_argument("--visits", type=int, default=80)
    ap.add_argument("--urgent", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--plan-seconds", type=float, default=5.0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    skills = ["router", "fiber", "hvac"]
    techs = [
        Technician(id=f"t{k}", x=lat, y=lon, shift=(480, 1080), skills=dict.fromkeys(rng.sample(skills, 2), 2))
        for k, (lat, lon) in enumerate(point(rng) for _ in range(args.technicians))
    ]
    visits = []
    for i in range(args.visits):
        lat, lon = point(rng)
        start = rng.choice([480, 600, 720, 840])
        visits.append(Visit(id=f"v{i}", x=lat, y=lon, service_min=rng.choice([20, 30, 45]), window=(start, start + 180),
                            skills={rng.choice(skills): 1}, optional=True, priority=1))  # fmt: skip
    plan = plan_routes(visits, techs, time_limit_s=args.plan_seconds, geographic=True)
    latencies, inserted, refused = [], 0, 0
    for j in range(args.urgent):
        lat, lon = point(rng)
        now = rng.uniform(480, 960)
        urgent = Visit(id=f"u{j}", x=lat, y=lon, service_min=30, window=(now, now + 240),
                       skills={rng.choice(skills): 1}, priority=3)  # fmt: skip
        start = time.perf_counter()
        try:
            new_plan = insert_urgent(plan, visits, techs, urgent, geographic=True)
        except DispatchError:
            refused += 1
            latencies.append((time.perf_counter() - start) * 1000)
            continue
        latencies.append((time.perf_counter() - start) * 1000)
        plan, inserted = new_plan, inserted + 1
        visits.append(urgent)
    assert check_plan(plan, visits, techs, geographic=True) == [], "the final plan must be feasible"
    latencies.sort()
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    result = {"technicians": args.technicians, "visits": args.visits, "urgent": args.urgent, "inserted": inserted,
              "no_feasible_slot": refused, "p50_ms": round(pct(0.50), 2), "p99_ms": round(pct(0.99), 2),
              "max_ms": round(latencies[-1], 2), "target_p99_ms": 100}  # fmt: skip
    print(f"urgent insertion: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms "
          f"({inserted} inserted, {refused} without a feasible slot)")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
