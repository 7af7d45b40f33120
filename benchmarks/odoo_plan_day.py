#!/usr/bin/env python3
"""Plan day inside Odoo: from the "Plan day" call to the routes written, against the same solve outside Odoo.

Runs against a scratch Odoo 18 database where crowd_service is installed:

    python3 benchmarks/odoo_plan_day.py -d DB --addons-path=/opt/odoo18/addons,. [--visits 500]
        [--technicians 50] [--time-limit 30]

Creates (in a transaction that is rolled back at the end) a company working 08:00-17:00 (UTC) with
50 own technicians around Bern and 500 preventive visits for tomorrow: each needs one of 3 skills
(each technician has 1 or 2), a third of them with a 3-hour site window, 30 to 90 minutes each. Then
it plans tomorrow through ``crowd.route._crowd_plan_day`` (what the Plan day wizard and the nightly
cron call) at a 30 s solver budget and prints the wall time split by step (read: records to the
engine's visits and technicians, eligibility by the engine's gates; solve: PyVRP; write: routes,
stops, jobs assigned, visits left out, flushed), then solves the very same engine instance outside
Odoo with the same budget and compares the costs. Target: read + write < 20% of the total. The last
line printed is JSON.
"""

import argparse
import json
import math
import random
import sys
import time
from datetime import datetime, timedelta

BENCH = "BENCH plan"
CENTER = (46.95, 7.45)
HALF_SIDE_KM = 40.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--addons-path", default="/opt/odoo18/addons,.")
    parser.add_argument("--visits", type=int, default=500)
    parser.add_argument("--technicians", type=int, default=50)
    parser.add_argument("--time-limit", type=float, default=30.0, help="solver budget in seconds")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def point(rng, half_side_km=HALF_SIDE_KM):
    dlat = rng.uniform(-half_side_km, half_side_km) / 111.32
    dlon = rng.uniform(-half_side_km, half_side_km) / (111.32 * math.cos(math.radians(CENTER[0])))
    return CENTER[0] + dlat, CENTER[1] + dlon


def make_company(env, hours=(8, 17)):
    """A company working ``hours`` (UTC) every day, its maintenance team and a rule without auto-dispatch."""
    from odoo import Command  # noqa: PLC0415

    calendar = env["resource.calendar"].create(
        {
            "name": f"{BENCH} hours",
            "tz": "UTC",
            "attendance_ids": [Command.clear()]
            + [
                Command.create(
                    {
                        "name": "Day",
                        "dayofweek": str(d),
                        "hour_from": hours[0],
                        "hour_to": hours[1],
                        "day_period": "morning",
                    }
                )
                for d in range(7)
            ],
        }
    )
    company = env["res.company"].create({"name": f"{BENCH} company", "resource_calendar_id": calendar.id})
    team = env["maintenance.team"].create({"name": f"{BENCH} team", "company_id": company.id})
    env["crowd.dispatch.rule"].create(
        {"name": BENCH, "sequence": -1000, "company_id": company.id, "auto_dispatch": False,
         "max_radius_km": 300, "tier_policy": "any", "certificate_policy": "ignore"}
    )  # fmt: skip
    return company, team


def make_skills(env, count):
    skill_type = env["crowd.skill.type"].create({"name": BENCH})
    level = env["crowd.skill.level"].create(
        {"name": f"{BENCH} L1", "level_progress": 50, "skill_type_id": skill_type.id}
    )
    skills = env["crowd.skill"].create(
        [
            {"name": f"{BENCH} skill {i}", "code": f"BENCH_PLAN_S{i}", "skill_type_id": skill_type.id}
            for i in range(count)
        ]
    )
    return skills, level


def make_technicians(env, company, homes, skills_of, level):
    Partner = env["res.partner"]
    techs = Partner.create(
        [
            {"name": f"{BENCH} technician {k}", "is_crowd_expert": True, "crowd_kind": "employee",
             "crowd_tier": "technician", "crowd_state": "active", "crowd_company_id": company.id,
             "partner_latitude": lat, "partner_longitude": lon, "crowd_radius_km": 300, "crowd_max_jobs": 20}
            for k, (lat, lon) in enumerate(homes)
        ]
    )  # fmt: skip
    env["crowd.expert.skill"].create(
        [
            {"partner_id": tech.id, "skill_id": skill.id, "level_id": level.id}
            for tech, tech_skills in zip(techs, skills_of, strict=True)
            for skill in tech_skills
        ]
    )
    return techs


def make_visits(env, company, team, day, specs, level):
    """Preventive requests scheduled on ``day`` (each creates its job); ``specs`` are dicts with lat, lon,
    minutes, skill, window (hours from midnight, or None), priority, maintenance_type."""
    from odoo import Command  # noqa: PLC0415

    midnight = datetime.combine(day, datetime.min.time())
    Request = env["maintenance.request"].with_company(company)
    vals_list = [
        {
            "name": f"{BENCH} visit {i}",
            "company_id": company.id,
            "maintenance_team_id": team.id,
            "maintenance_type": spec.get("maintenance_type", "preventive"),
            "priority": spec.get("priority", "1"),
            "schedule_date": midnight + timedelta(hours=9),
            "duration": spec["minutes"] / 60.0,
            "crowd_latitude": spec["lat"],
            "crowd_longitude": spec["lon"],
            "crowd_required_skill_ids": [Command.create({"skill_id": spec["skill"].id, "min_level_id": level.id})],
        }
        for i, spec in enumerate(specs)
    ]
    requests = Request.create(vals_list)
    jobs = requests.crowd_job_ids
    for job, spec in zip(jobs.sorted("id"), specs, strict=True):
        if spec.get("window"):
            start, end = spec["window"]
            job.write(
                {
                    "visit_window_start": midnight + timedelta(hours=start),
                    "visit_window_end": midnight + timedelta(hours=end),
                }
            )
    return jobs


def open_env(args):
    import odoo  # noqa: PLC0415 - Odoo is only needed when the benchmark runs
    from odoo.modules.registry import Registry  # noqa: PLC0415

    odoo.tools.config.parse_config(["-d", args.database, f"--addons-path={args.addons_path}", "--log-level=warn"])
    return Registry(args.database)


def main():
    args = parse_args()
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    registry = open_env(args)
    rng = random.Random(args.seed)
    with registry.cursor() as cr:
        ctx = {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True}
        env = api.Environment(cr, SUPERUSER_ID, ctx)
        import odoo.addons.crowd_service.models.crowd_route as crowd_route  # noqa: PLC0415

        from crowd_dispatch.routing import plan_routes  # noqa: PLC0415

        started = time.perf_counter()
        company, team = make_company(env)
        skills, level = make_skills(env, 3)
        homes = [point(rng, HALF_SIDE_KM * 0.8) for _ in range(args.technicians)]
        skills_of = [rng.sample(list(skills), rng.choice((1, 2))) for _ in range(args.technicians)]
        for k, skill in enumerate(skills):  # every skill has someone
            skills_of[k] = [skill]
        make_technicians(env, company, homes, skills_of, level)
        day = env["crowd.route"]._crowd_today(company) + timedelta(days=1)
        specs = []
        for i in range(args.visits):
            lat, lon = point(rng)
            window = None
            if i % 3 == 0:
                start = rng.choice((8, 9, 10, 11, 12, 13))
                window = (start, start + 3)
            specs.append(
                {"lat": lat, "lon": lon, "minutes": rng.choice((30, 45, 60, 90)), "skill": skills[i % 3],
                 "window": window, "priority": rng.choice(("0", "1", "2"))}
            )  # fmt: skip
        make_visits(env, company, team, day, specs, level)
        env.flush_all()
        print(f"setup: {time.perf_counter() - started:.1f} s", file=sys.stderr)

        captured = {}
        original = crowd_route.plan_routes

        def capture(visits, technicians, **kwargs):
            captured.update(visits=visits, technicians=technicians, kwargs=kwargs)
            plan = original(visits, technicians, **kwargs)
            captured["plan"] = plan
            return plan

        crowd_route.plan_routes = capture
        try:
            timings = {}
            wall_start = time.perf_counter()
            result = (
                env["crowd.route"]
                .with_company(company)
                ._crowd_plan_day(day, company, time_limit_s=args.time_limit, timings=timings)
            )
            flush_start = time.perf_counter()
            env.flush_all()
            timings["write"] += time.perf_counter() - flush_start
            wall = time.perf_counter() - wall_start
        finally:
            crowd_route.plan_routes = original
        plan = captured["plan"]
        routes = env["crowd.route"].browse(result["routes"])
        outside_start = time.perf_counter()
        alone = plan_routes(captured["visits"], captured["technicians"], **captured["kwargs"])
        outside = time.perf_counter() - outside_start
        cr.rollback()

    overhead = timings["read"] + timings["write"]
    out = {
        "benchmark": "odoo_plan_day",
        "visits": args.visits,
        "technicians": args.technicians,
        "time_limit_s": args.time_limit,
        "wall_s": round(wall, 2),
        "read_s": round(timings["read"], 2),
        "solve_s": round(timings["solve"], 2),
        "write_s": round(timings["write"], 2),
        "overhead_share": round(overhead / wall, 4),
        "routes": len(routes),
        "planned": result["planned"],
        "left_out": len(result["unplanned"]),
        "odoo_distance_km": round(plan.distance, 1),
        "odoo_dropped": len(plan.dropped),
        "outside_solve_s": round(outside, 2),
        "outside_distance_km": round(alone.distance, 1),
        "outside_dropped": len(alone.dropped),
        "cost_gap_pct": round(100.0 * (plan.distance - alone.distance) / alone.distance, 2) if alone.distance else 0.0,
        "target_overhead_below": 0.20,
    }
    print(
        f"plan day, {args.visits} visits, {args.technicians} technicians, {args.time_limit:g} s budget: "
        f"{out['wall_s']} s = read {out['read_s']} s + solve {out['solve_s']} s + write {out['write_s']} s "
        f"(overhead {100 * out['overhead_share']:.1f}%)"
    )
    print(
        f"cost in Odoo {out['odoo_distance_km']} km ({out['odoo_dropped']} left out) vs outside Odoo "
        f"{out['outside_distance_km']} km ({out['outside_dropped']} left out), {out['outside_solve_s']} s"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
