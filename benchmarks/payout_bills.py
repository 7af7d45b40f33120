#!/usr/bin/env python3
"""Approved payouts to vendor bills: 10,000 payouts in one billing run.

Runs against an Odoo 18 database where crowd_service_payout is installed (with a chart of accounts):

    python3 benchmarks/payout_bills.py -d DB --addons-path=/opt/odoo18/addons,. [-n 10000]

Creates (batch create) N requests, each with one done job (``crowd.job``), and N payouts approved
through the payout workflow, spread over E experts (a fifth of them partner technicians billed to
4 partner companies) and two months, then times
``crowd.payout._create_bills()``: locking, grouping per vendor and month, one vendor bill line per
payout, linking each payout to its line, and (with --post) posting the bills. Everything is rolled
back at the end unless --keep. The last line printed is JSON. --profile FILE writes the cProfile
statistics of the billing call (read them with ``python3 -m pstats FILE``).
Target (DESIGN.md): 10,000 approved payouts to vendor bills in under a minute.
"""

import argparse
import cProfile
import json
import os
import sys
import time
from datetime import date, timedelta

BENCH = "BENCH-PAYOUT"


def common_parser(description):
    """The options every billing benchmark takes (the customer invoice benchmark reuses them)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--addons-path", default="/opt/odoo18/addons,.")
    parser.add_argument("--experts", type=int, default=200)
    parser.add_argument("--post", action="store_true", help="also post the moves (action_post)")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the timed call into FILE")
    parser.add_argument("--keep", action="store_true", help="commit instead of rolling back")
    return parser


def parse_args():
    parser = common_parser(__doc__)
    parser.add_argument("-n", "--payouts", type=int, default=10_000)
    return parser.parse_args()


def odoo_registry(args):
    """The registry of the benchmark's database (Odoo parsed with the benchmark's options)."""
    import odoo  # noqa: PLC0415 - Odoo is only needed when the benchmark runs
    from odoo.modules.registry import Registry  # noqa: PLC0415

    odoo.tools.config.parse_config(["-d", args.database, f"--addons-path={args.addons_path}", "--log-level=warn"])
    return Registry(args.database)


def bench_env(cr):
    """A superuser environment without tracking, chatter notes or automatic dispatch."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    ctx = {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True, "crowd_no_auto_dispatch": True}
    return api.Environment(cr, SUPERUSER_ID, ctx)


def make_done_jobs(env, count, expert_count, prefix=BENCH, customers=None):
    """``count`` requests with one done job each, by ``expert_count`` experts (a fifth of them partner
    technicians of 4 partner companies), done on the last day of last month and today, alternately.
    With ``customers`` (partners), the requests' equipment belongs to them in turn. Returns
    (experts, jobs, months)."""
    from odoo import fields  # noqa: PLC0415

    company = env.company
    partner_companies = env["res.partner"].create(
        [{"name": f"{prefix} partner company {i}", "is_company": True} for i in range(4)]
    )
    experts = env["res.partner"].create(
        [
            {
                "name": f"{prefix} expert {i}",
                "is_crowd_expert": True,
                "crowd_kind": "partner" if i % 5 == 0 else "freelance",
                "crowd_tier": "technician",
                "crowd_company_partner_id": partner_companies[i % 4].id if i % 5 == 0 else False,
            }
            for i in range(expert_count)
        ]
    )
    team = env["maintenance.team"].search([("company_id", "in", [company.id, False])], limit=1)
    if not team:
        team = env["maintenance.team"].create({"name": prefix, "company_id": company.id})
    equipment = env["maintenance.equipment"].browse()
    if customers:
        equipment = env["maintenance.equipment"].create(
            [
                {"name": f"{prefix} asset {i}", "company_id": company.id, "crowd_customer_id": customer.id}
                for i, customer in enumerate(customers)
            ]
        )
    today = date.today()
    months = [today.replace(day=1) - timedelta(days=1), today]  # last day of last month, today
    # no coordinates: the requests get no automatic first job; each gets one done job below
    requests = env["maintenance.request"].create(
        [
            {
                "name": f"{prefix} request {i}",
                "maintenance_team_id": team.id,
                "company_id": company.id,
                "equipment_id": equipment[i % len(equipment)].id if equipment else False,
            }
            for i in range(count)
        ]
    )
    done_at = [fields.Datetime.to_datetime(day) + timedelta(hours=12) for day in months]
    jobs = env["crowd.job"].create(
        [
            {
                "request_id": request.id,
                "expert_id": experts[i % expert_count].id,
                "state": "done",
                "done_at": done_at[i % 2],
            }
            for i, request in enumerate(requests)
        ]
    )
    return experts, jobs, months


def timed(args, env, call):
    """Run ``call()`` (cProfiled into ``args.profile`` when given) and flush; returns its result, the
    wall time and the CPU time of this (Odoo) process only, not PostgreSQL's: on a loaded machine,
    wall >> CPU."""
    t1, cpu1 = time.perf_counter(), time.process_time()
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    value = call()
    env.flush_all()
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    return value, round(time.perf_counter() - t1, 2), round(time.process_time() - cpu1, 2)


def finish(args, cr, result):
    """The machine's figures, commit (--keep) or roll back, and the JSON line."""
    result["target_s"] = 60
    result["cpus"] = os.cpu_count()
    result["load_avg_1m"] = round(os.getloadavg()[0], 2)
    if args.keep:
        cr.commit()
    else:
        cr.rollback()
    print(json.dumps(result))


def main():
    args = parse_args()
    import odoo  # noqa: PLC0415 - Odoo is only needed when the benchmark runs

    registry = odoo_registry(args)
    result = {"benchmark": "payout_bills", "payouts": args.payouts, "experts": args.experts, "post": args.post}
    with registry.cursor() as cr:
        env = bench_env(cr)
        company = env.company
        t0 = time.perf_counter()
        package = env["crowd.service.package"].create(
            {"name": f"{BENCH} package", "amount": 95.0, "travel_per_km": 1.0, "travel_threshold_km": 0.0}
        )
        experts, jobs, months = make_done_jobs(env, args.payouts, args.experts)
        env.flush_all()
        result["experts_requests_s"] = round(time.perf_counter() - t0, 2)
        t_payouts = time.perf_counter()
        payouts = env["crowd.payout"].create(
            [
                {
                    "job_id": job.id,
                    "expert_id": job.expert_id.id,
                    "company_id": company.id,
                    "package_id": package.id,
                    "distance_km": float(i % 7),  # travel allowance 0-6 (1 per km)
                    "date": months[i % 2],
                }
                for i, job in enumerate(jobs)
            ]
        )
        # the model's own workflow: submitted, then approved (as the system; the approval rules
        # themselves are covered by the addon's tests)
        payouts._write_workflow({"state": "to_approve"})
        payouts._write_workflow(
            {"state": "approved", "approver_id": env.uid, "approved_on": odoo.fields.Datetime.now()}
        )
        env.flush_all()
        result["payouts_create_s"] = round(time.perf_counter() - t_payouts, 2)
        result["setup_s"] = round(time.perf_counter() - t0, 2)
        print(f"setup: {len(payouts)} approved payouts for {len(experts)} experts in {result['setup_s']} s")

        moves, result["bill_s"], result["bill_cpu_s"] = timed(args, env, lambda: payouts._create_bills(post=args.post))
        billed = payouts.filtered(lambda p: p.state in ("billed", "paid") and p.move_line_id)
        result["bills"] = len(moves)
        result["lines"] = len(moves.invoice_line_ids)
        result["billed_payouts"] = len(billed)
        result["posted_bills"] = len(moves.filtered(lambda m: m.state == "posted"))
        result["payouts_per_s"] = round(len(billed) / result["bill_s"], 1) if result["bill_s"] else None
        print(
            f"billing: {len(billed)} payouts -> {len(moves)} bills ({result['lines']} lines) "
            f"in {result['bill_s']} s{' (posted)' if args.post else ''}"
        )
        t2 = time.perf_counter()
        again = payouts._create_bills(post=args.post)
        result["second_run_bills"] = len(again)
        result["second_run_s"] = round(time.perf_counter() - t2, 2)
        result["ok"] = result["bill_s"] <= 60 and len(billed) == args.payouts and not again
        finish(args, cr, result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
