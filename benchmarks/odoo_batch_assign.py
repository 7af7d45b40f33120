#!/usr/bin/env python3
"""Batch assignment inside Odoo: "Assign waiting jobs" (proposal) and its confirmation.

Runs against an Odoo 18 database where crowd_service is installed:

    python3 benchmarks/odoo_batch_assign.py -d DB --addons-path=/opt/odoo18/addons,. [--jobs 200 --experts 100]

The first run creates (and commits) a region: experts spread over 60 x 60 km around Zurich (skills, some
with working hours off or time off, capacity 1-3) and waiting non-urgent jobs (each needing one skill)
under a dispatch rule that does not dispatch on creation. Then it opens the batch assignment on these
jobs as the administrator (wizard created, engine inputs read, min-cost flow and first come first served
solved, lines written) and confirms it; each run is rolled back. Prints the wall times (median of
--repeat runs, and the wizard's own compute time split by step), the proposal's figures, and a JSON line.
"""

import argparse
import json
import math
import os
import random
import statistics
import sys
import time

BENCH = "BATCHBENCH"
CENTER = (47.3779, 8.5403)
HALF_SIDE_KM = 30.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--addons-path", default="/opt/odoo18/addons,.")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--experts", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    return parser.parse_args()


def point(rng):
    dlat = rng.uniform(-HALF_SIDE_KM, HALF_SIDE_KM) / 111.32
    dlon = rng.uniform(-HALF_SIDE_KM, HALF_SIDE_KM) / (111.32 * math.cos(math.radians(CENTER[0])))
    return CENTER[0] + dlat, CENTER[1] + dlon


def ensure_region(env, args, rng):
    """Create the benchmark data once (committed); later runs reuse it."""
    env = env(context={"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True})
    category = env["maintenance.equipment.category"].search([("name", "=", BENCH)], limit=1)
    if not category:
        category = env["maintenance.equipment.category"].create({"name": BENCH})
    equipment = env["maintenance.equipment"].search([("name", "=", f"{BENCH} asset")], limit=1)
    if not equipment:
        equipment = env["maintenance.equipment"].create({"name": f"{BENCH} asset", "category_id": category.id})
    skill_type = env["crowd.skill.type"].search([("name", "=", BENCH)], limit=1) or env["crowd.skill.type"].create(
        {"name": BENCH}
    )
    skills = env["crowd.skill"].search([("code", "=like", f"{BENCH}_%")], order="id")
    if not skills:
        skills = env["crowd.skill"].create(
            [{"name": f"{BENCH} skill {i}", "code": f"{BENCH}_S{i}", "skill_type_id": skill_type.id} for i in range(4)]
        )
    levels = env["crowd.skill.level"].search([("name", "=like", f"{BENCH} L%")], order="level_progress")
    if not levels:
        levels = env["crowd.skill.level"].create(
            [{"name": f"{BENCH} L{p}", "level_progress": p, "skill_type_id": skill_type.id} for p in (25, 50, 75)]
        )
    rule = env["crowd.dispatch.rule"].with_context(active_test=False).search([("name", "=", BENCH)], limit=1)
    if not rule:
        rule = env["crowd.dispatch.rule"].create(
            {
                "name": BENCH,
                "sequence": -1000,
                "category_ids": [(6, 0, category.ids)],
                "own_delay_min": 0,
                "partner_delay_min": 0,
                "crowd_delay_min": 0,
                "tier_policy": "any",
                "max_radius_km": 40,
                "auto_dispatch": False,
            }
        )
    existing = env["res.partner"].search_count([("name", "=like", f"{BENCH} expert %")])
    if existing < args.experts:
        vals_list = []
        for i in range(existing, args.experts):
            lat, lon = point(rng)
            kind = rng.choice(["employee", "freelance", "freelance"])
            vals_list.append(
                {
                    "name": f"{BENCH} expert {i:04d}",
                    "is_crowd_expert": True,
                    "crowd_kind": kind,
                    "crowd_tier": rng.choice(["technician", "technician", "specialist"]),
                    "crowd_state": "active",
                    "crowd_online": rng.random() < 0.9,
                    "partner_latitude": lat,
                    "partner_longitude": lon,
                    "crowd_radius_km": rng.choice([25, 40, 60]),
                    "crowd_max_jobs": rng.choice([1, 2, 3]),
                    "crowd_rating": round(rng.uniform(3.5, 5.0), 1),
                    "crowd_skill_ids": [
                        (0, 0, {"skill_id": s.id, "level_id": rng.choice(levels).id})
                        for s in rng.sample(list(skills), 2)
                    ],
                }
            )
        env["res.partner"].create(vals_list)
        env.cr.commit()
    jobs = env["crowd.job"].search([("request_id.name", "=like", f"{BENCH} visit %")])
    if len(jobs) < args.jobs:
        vals_list = []
        for i in range(len(jobs), args.jobs):
            lat, lon = point(rng)
            vals_list.append(
                {
                    "name": f"{BENCH} visit {i:04d}",
                    "priority": rng.choice(["0", "1", "2"]),
                    "equipment_id": equipment.id,
                    "crowd_latitude": lat,
                    "crowd_longitude": lon,
                    "crowd_required_skill_ids": [
                        (0, 0, {"skill_id": rng.choice(skills).id, "min_level_id": levels[0].id})
                    ],
                }
            )
        env["maintenance.request"].create(vals_list)
        env.cr.commit()
    jobs = env["crowd.job"].search(
        [("request_id.name", "=like", f"{BENCH} visit %"), ("state", "=", "new")], order="id", limit=args.jobs
    )
    print(f"region: {len(jobs)} waiting jobs, {args.experts} experts", file=sys.stderr)
    return jobs


def main():
    args = parse_args()
    import odoo  # noqa: PLC0415 - Odoo is only needed when the benchmark runs
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415

    odoo.tools.config.parse_config(["-d", args.database, f"--addons-path={args.addons_path}", "--log-level=warn"])
    rng = random.Random(args.seed)
    registry = Registry(args.database)
    opens, confirms, computes, steps = [], [], [], {}
    figures = {}
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        jobs = ensure_region(env, args, rng)
        cr.commit()
        admin = env.ref("base.user_admin")
        engine_cls = type(env["crowd.dispatch.engine"])
        timed = {}
        for name in ("_batch_inputs", "_batch_propose", "_batch_check"):
            original = getattr(engine_cls, name)

            def wrapper(self, *a, _original=original, _name=name, **kw):
                started = time.perf_counter()
                try:
                    return _original(self, *a, **kw)
                finally:
                    timed.setdefault(_name, []).append((time.perf_counter() - started) * 1000)

            setattr(engine_cls, name, wrapper)
        for _run in range(args.repeat):
            timed.clear()
            cr.execute("SAVEPOINT bench")
            user_env = api.Environment(cr, admin.id, {"tz": "UTC"})
            started = time.perf_counter()
            action = user_env["crowd.job"].browse(jobs.ids).action_batch_assign()
            wizard = user_env["crowd.batch.assign.wizard"].browse(action["res_id"])
            user_env.flush_all()
            opens.append((time.perf_counter() - started) * 1000)
            computes.append(wizard.compute_ms)
            inputs = timed["_batch_inputs"][0]
            solve = timed["_batch_propose"][0] - inputs
            # read: jobs, rules and experts into engine inputs; solve: min-cost flow, first come first served and
            # the reasons of each line; rest: the wizard, the search of the jobs and the lines written
            for key, value in (("read_ms", inputs), ("solve_ms", solve), ("rest_ms", opens[-1] - inputs - solve)):
                steps.setdefault(key, []).append(value)
            figures = {
                "jobs": wizard.job_count,
                "experts_considered": wizard.expert_count,
                "batch_staffed": wizard.batch_staffed,
                "batch_cost_min": round(wizard.batch_cost_min, 1),
                "greedy_staffed": wizard.greedy_staffed,
                "greedy_cost_min": round(wizard.greedy_cost_min, 1),
            }
            started = time.perf_counter()
            wizard.action_confirm()
            user_env.flush_all()
            confirms.append((time.perf_counter() - started) * 1000)
            cr.execute("ROLLBACK TO SAVEPOINT bench")
            env.invalidate_all()
            env.transaction.clear()
        cr.rollback()
    result = {
        "benchmark": "odoo_batch_assign",
        **figures,
        "runs": args.repeat,
        "open_wizard_ms_median": round(statistics.median(opens), 1),
        "open_wizard_ms_max": round(max(opens), 1),
        **{f"{key}_median": round(statistics.median(values), 1) for key, values in steps.items()},
        "wizard_compute_ms_median": round(statistics.median(computes), 1),
        "confirm_ms_median": round(statistics.median(confirms), 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    print(
        f"open wizard (proposal for {figures['jobs']} jobs x {figures['experts_considered']} experts): "
        f"{result['open_wizard_ms_median']} ms median; confirm: {result['confirm_ms_median']} ms median"
    )
    print(
        f"batch: {figures['batch_staffed']} staffed, {figures['batch_cost_min']} min; "
        f"first come first served: {figures['greedy_staffed']} staffed, {figures['greedy_cost_min']} min"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
