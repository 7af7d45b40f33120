import threading
import time
from unittest.mock import patch

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, api, fields
from odoo.modules.registry import DummyRLock, Registry
from odoo.tests import TransactionCase, tagged

from odoo.addons.crowd_service_payout.models.crowd_move_source import CrowdMoveSource


class TwoRunsCase(TransactionCase):
    """Two runs at the same moment on two cursors (payout billing, visit invoicing): the rows one
    run locks are held a second while the other tries. The setup is committed with a registry
    cursor (the threads cannot see the test's transaction) and removed by the subclass."""

    def _race(self, run):
        """Call ``run(env)`` (returns move ids) in two threads at once; return their results."""
        original = CrowdMoveSource._lock_for_moves

        def slow_lock(records):
            locked = original(records)
            if locked:
                time.sleep(1.0)  # hold the row locks while the other run tries
            return locked

        barrier = threading.Barrier(2)
        results = {}
        # The test runner holds the registry lock; the threads only look the loaded registry up
        # (as in HttpCase's test mode).
        with (
            patch.object(CrowdMoveSource, "_lock_for_moves", slow_lock),
            patch.object(Registry, "_lock", DummyRLock()),
        ):
            threads = [threading.Thread(target=self._run, args=(barrier, results, name, run)) for name in ("a", "b")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        for name in ("a", "b"):
            self.assertIsInstance(results.get(name), list, results)
        return results

    def _run(self, barrier, results, name, run):
        attempts = 0
        while attempts < 3:
            attempts += 1
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    barrier.wait(timeout=10)
                    results[name] = run(env)
                    return
            except pg_errors.SerializationFailure:
                # what Odoo's request/cron retry does: start again on a fresh transaction
                barrier = _NoBarrier()
                results[f"{name}_retried"] = True
            except Exception as exc:
                results[name] = exc
                return


@tagged("post_install", "-at_install")
class TestBillingConcurrency(TwoRunsCase):
    """Two billing runs at the same moment on two cursors bill each payout exactly once.

    The setup is committed with a registry cursor (the threads cannot see the test's
    transaction) and removed at the end."""

    def setUp(self):
        super().setUp()
        self.ids = {}
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            expert = env["res.partner"].create(
                {
                    "name": "H7 race expert",
                    "is_crowd_expert": True,
                    "crowd_kind": "freelance",
                    "crowd_tier": "technician",
                }
            )
            requests = env["maintenance.request"].create(
                [{"name": f"H7 race job {i}", "company_id": company.id} for i in range(5)]
            )
            jobs = env["crowd.job"].create(
                [{"request_id": r.id, "expert_id": expert.id, "state": "done"} for r in requests]
            )
            payouts = env["crowd.payout"].create(
                [
                    {
                        "job_id": job.id,
                        "expert_id": expert.id,
                        "amount": 10.0,
                        "is_manual": True,
                        "manual_reason": "race",
                        "date": fields.Date.today(),
                    }
                    for job in jobs
                ]
            )
            payouts._write_workflow({"state": "approved"})
            self.ids = {"expert": expert.id, "requests": requests.ids, "payouts": payouts.ids}
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            payouts = env["crowd.payout"].browse(self.ids["payouts"]).exists()
            payouts.move_id.unlink()  # draft bills (never posted here); releases the payouts
            payouts._write_workflow({"state": "cancelled", "cancel_reason": "cleanup"})
            payouts.unlink()
            env["maintenance.request"].browse(self.ids["requests"]).unlink()
            env["res.partner"].browse(self.ids["expert"]).unlink()

    def test_two_concurrent_billing_runs(self):
        results = self._race(lambda env: env["crowd.payout"].browse(self.ids["payouts"])._create_bills(post=False).ids)
        all_moves = results["a"] + results["b"]
        self.assertEqual(len(all_moves), 1, f"exactly one run bills the payouts: {results}")
        # read on a fresh cursor: the test's own transaction predates the committed setup
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            payouts = env["crowd.payout"].browse(self.ids["payouts"])
            self.assertEqual(set(payouts.mapped("state")), {"billed"})
            self.assertEqual(payouts.move_id.ids, all_moves)
            self.assertEqual(len(payouts.move_line_id), 5)
            lines = env["account.move.line"].search([("crowd_payout_origin_id", "in", payouts.ids)])
            self.assertEqual(len(lines), 5, "no payout is on two bill lines")


@tagged("post_install", "-at_install")
class TestInvoicingConcurrency(TwoRunsCase):
    """Two invoicing runs at the same moment (a billing user's wizard and the cron, or two users)
    put each visit on exactly one customer invoice."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            customer = env["res.partner"].create({"name": "H13 race customer", "is_company": True})
            product = env["product.product"].create({"name": "H13 race visit", "type": "service", "sale_ok": True})
            requests = env["maintenance.request"].create(
                [{"name": f"H13 race visit {i}", "company_id": company.id} for i in range(5)]
            )
            jobs = env["crowd.job"].create([{"request_id": r.id, "state": "done"} for r in requests])
            charges = env["crowd.customer.charge"].create(
                [
                    {
                        "job_id": job.id,
                        "partner_id": customer.id,
                        "product_id": product.id,
                        "currency_id": company.currency_id.id,
                        "price_unit": 50.0,
                        "date": fields.Date.today(),
                    }
                    for job in jobs
                ]
            )
            self.ids = {
                "customer": customer.id,
                "product": product.id,
                "requests": requests.ids,
                "charges": charges.ids,
            }
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            charges = env["crowd.customer.charge"].browse(self.ids["charges"]).exists()
            charges.move_id.unlink()  # draft invoices (never posted here); releases the visits
            charges.unlink()
            env["maintenance.request"].browse(self.ids["requests"]).unlink()
            env["product.product"].browse(self.ids["product"]).unlink()
            env["res.partner"].browse(self.ids["customer"]).unlink()

    def test_two_concurrent_invoicing_runs(self):
        results = self._race(
            lambda env: env["crowd.customer.charge"].browse(self.ids["charges"])._create_invoices(post=False).ids
        )
        all_moves = results["a"] + results["b"]
        self.assertEqual(len(all_moves), 1, f"exactly one run invoices the visits: {results}")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            charges = env["crowd.customer.charge"].browse(self.ids["charges"])
            self.assertEqual(set(charges.mapped("state")), {"invoiced"})
            self.assertEqual(charges.move_id.ids, all_moves)
            self.assertEqual(charges.move_id.move_type, "out_invoice")
            lines = env["account.move.line"].search([("crowd_charge_origin_ids", "in", charges.ids)])
            self.assertEqual(len(lines), 1, "no visit is on two invoice lines")
            self.assertEqual(lines.quantity, 5.0, "the five like visits share one line")
            self.assertEqual(lines.crowd_charge_ids, charges)


class _NoBarrier:
    def wait(self, timeout=None):
        return 0
