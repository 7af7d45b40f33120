#!/usr/bin/env python3
"""Completed visits to posted customer invoices: 10,000 visits in one invoicing run.

Runs against an Odoo 18 database where crowd_service_payout is installed (with a chart of accounts):

    python3 benchmarks/customer_invoices.py -d DB --addons-path=/opt/odoo18/addons,. [-n 10000] [--post]

Creates (batch create, with payout_bills.py's helpers) N requests on the equipment of C customers,
each with one done job (``crowd.job``), a service package with a customer price on a service product
with the company's sales tax, and a service contract covering one customer's equipment; the customer
charges are made by the completion code itself (``crowd.customer.charge._create_for_jobs``: package,
price, warranty and contract coverage). Then times
``crowd.customer.charge._create_invoices()``: locking, grouping per customer and month, one invoice
line per product, package, price and no-charge reason (quantity = visits) with the product's taxes,
linking each visit to its line, and (with --post) posting the invoices. All visits share one package
and price here: one line per invoice (two when a customer has visits at no charge and charged ones).
Everything is rolled back at the end unless --keep. The last line printed is JSON.
Target (issue 13): 10,000 completed visits to posted customer invoices in under a minute.
"""

import sys
import time

from payout_bills import bench_env, common_parser, finish, make_done_jobs, odoo_registry, timed

BENCH = "BENCH-INVOICE"


def parse_args():
    parser = common_parser(__doc__)
    parser.add_argument("-n", "--jobs", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument(
        "--prices",
        type=int,
        default=1,
        help="distinct visit prices (as from pricelists or negotiated rates), spread over the visits: each price "
        "is a line of its own on an invoice; 1 is the best case for grouping",
    )
    return parser.parse_args()


def main():
    args = parse_args()
    registry = odoo_registry(args)
    result = {"benchmark": "customer_invoices", "jobs": args.jobs, "customers": args.customers, "post": args.post}
    with registry.cursor() as cr:
        env = bench_env(cr)
        company = env.company
        t0 = time.perf_counter()
        customers = env["res.partner"].create(
            [{"name": f"{BENCH} customer {i}", "is_company": True} for i in range(args.customers)]
        )
        product = env["product.product"].create(
            {
                "name": f"{BENCH} visit",
                "type": "service",
                "sale_ok": True,
                "taxes_id": [(6, 0, company.account_sale_tax_id.ids)],
            }
        )
        package = env["crowd.service.package"].create(
            {
                "name": f"{BENCH} package",
                "amount": 95.0,
                "sequence": 0,
                "crowd_tier": "technician",
                "customer_product_id": product.id,
                "customer_price": 160.0,
            }
        )
        _experts, jobs, months = make_done_jobs(env, args.jobs, args.experts, prefix=BENCH, customers=customers)
        # one customer's equipment is under contract: its visits are lines at no charge
        env["crowd.service.contract"].create(
            {
                "name": f"{BENCH} contract",
                "partner_id": customers[0].id,
                "equipment_id": jobs[0].equipment_id.id,
                "date_start": months[0].replace(day=1),
                "date_end": months[1],
            }
        )
        env.flush_all()
        result["jobs_create_s"] = round(time.perf_counter() - t0, 2)
        t_charges = time.perf_counter()
        charges = env["crowd.customer.charge"]._create_for_jobs(jobs)
        env.flush_all()
        result["charges_create_s"] = round(time.perf_counter() - t_charges, 2)
        result["setup_s"] = round(time.perf_counter() - t0, 2)
        if args.prices > 1:
            # the visits of each customer at several prices (its n-th visit at price n mod K, visits go to the
            # customers in turn): each price is an invoice line of its own
            by_price = {}
            for n, charge in enumerate(charges):
                if charge.coverage == "none":
                    by_price.setdefault((n // args.customers) % args.prices, []).append(charge.id)
            for k, ids in by_price.items():
                charges.browse(ids).write({"price_unit": 160.0 + 5.0 * k})
            env.flush_all()
        result["prices"] = args.prices
        result["covered_visits"] = len(charges.filtered(lambda c: c.coverage != "none"))
        result["package_used"] = set(charges.package_id.ids) == {package.id}
        print(f"setup: {len(charges)} visits to invoice for {len(customers)} customers in {result['setup_s']} s")

        moves, result["invoice_s"], result["invoice_cpu_s"] = timed(
            args, env, lambda: charges._create_invoices(post=args.post)
        )
        invoiced = charges.filtered(lambda c: c.state in ("invoiced", "paid") and c.move_line_id)
        result["invoices"] = len(moves)
        result["lines"] = len(moves.invoice_line_ids)
        result["taxed_lines"] = len(moves.invoice_line_ids.filtered("tax_ids"))
        result["invoiced_visits"] = len(invoiced)
        result["posted_invoices"] = len(moves.filtered(lambda m: m.state == "posted"))
        result["visits_per_s"] = round(len(invoiced) / result["invoice_s"], 1) if result["invoice_s"] else None
        print(
            f"invoicing: {len(invoiced)} visits -> {len(moves)} invoices ({result['lines']} lines) "
            f"in {result['invoice_s']} s{' (posted)' if args.post else ''}"
        )
        t2 = time.perf_counter()
        again = charges._create_invoices(post=args.post)
        result["second_run_invoices"] = len(again)
        result["second_run_s"] = round(time.perf_counter() - t2, 2)
        result["ok"] = result["invoice_s"] <= 60 and len(invoiced) == args.jobs and not again
        finish(args, cr, result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
