# pylint: disable=invalid-commit
# Concurrency needs committed data seen by separate transactions; every commit here is on a
# cursor of its own, and the data is removed afterwards.
import threading
import time
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .common_dispatch import SITE


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestAcceptanceConcurrency(TransactionCase):
    """Two experts accept at the same moment, each in his own committed transaction: exactly one wins.

    The data is committed through a separate cursor (the test cursor is never committed) and removed
    afterwards.
    """

    def setUp(self):
        super().setUp()
        self.ids = self._commit_setup()
        self.addCleanup(self._cleanup)

    def _commit_setup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "crowd_no_auto_dispatch": True})
            experts = env["res.partner"].create(
                [
                    {
                        "name": f"Concurrent Expert {i}",
                        "is_crowd_expert": True,
                        "crowd_kind": "freelance",
                        "crowd_tier": "technician",
                        "crowd_state": "active",
                        "partner_latitude": SITE[0],
                        "partner_longitude": SITE[1],
                    }
                    for i in (1, 2)
                ]
            )
            request = env["maintenance.request"].create(
                {"name": "Concurrent lift", "crowd_latitude": SITE[0], "crowd_longitude": SITE[1]}
            )
            request._crowd_set_state("dispatching")
            request._crowd_set_state("offered")
            now = fields.Datetime.now()
            offers = env["crowd.dispatch.offer"].create(
                [
                    {
                        "request_id": request.id,
                        "expert_id": expert.id,
                        "rank": rank,
                        "state": "pending",
                        "sent_at": now,
                        "expires_at": now + timedelta(minutes=30),
                    }
                    for rank, expert in enumerate(experts, start=1)
                ]
            )
            cr.commit()
            return {"request": request.id, "experts": experts.ids, "offers": offers.ids}

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            request = env["maintenance.request"].browse(self.ids["request"])
            request.message_ids.unlink()
            request.unlink()
            env["res.partner"].browse(self.ids["experts"]).unlink()
            cr.commit()

    def _accept_concurrently(self, hold_lock_s):
        """Both threads pass a barrier, then accept their own offer; the lock holder waits ``hold_lock_s``."""
        barrier = threading.Barrier(2)
        results = {}
        Offer = self.registry["crowd.dispatch.offer"]
        original_lock = Offer._crowd_lock_request

        def slow_lock(offer):
            original_lock(offer)
            time.sleep(hold_lock_s)  # keep the row lock while the other thread tries

        def worker(offer_id):
            try:
                with self.registry.cursor() as cr:
                    # bind the transaction to the registry directly: looking the registry up by name would wait
                    # for the registry lock the test runner holds in the main thread
                    cr.transaction = api.Transaction(self.registry)
                    env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
                    offer = env["crowd.dispatch.offer"].browse(offer_id)
                    barrier.wait(timeout=10)
                    offer.action_accept()
                    cr.commit()
                    results[offer_id] = "accepted"
            except UserError as exc:
                results[offer_id] = f"refused: {exc.args[0]}"
            except Exception as exc:
                results[offer_id] = f"crashed: {exc!r}"

        self.patch(Offer, "_crowd_lock_request", slow_lock)
        threads = [threading.Thread(target=worker, args=(oid,)) for oid in self.ids["offers"]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return results

    def _committed_states(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT id, state FROM crowd_dispatch_offer WHERE request_id = %s ORDER BY id", [self.ids["request"]]
            )
            offers = dict(cr.fetchall())
            cr.execute(
                "SELECT crowd_dispatch_state, crowd_expert_id FROM maintenance_request WHERE id = %s",
                [self.ids["request"]],
            )
            return offers, cr.fetchone()

    def test_two_simultaneous_acceptances_exactly_one_wins(self):
        results = self._accept_concurrently(hold_lock_s=0.5)
        self.assertEqual(sorted(v == "accepted" for v in results.values()), [False, True], results)
        loser = next(oid for oid, v in results.items() if v != "accepted")
        winner = next(oid for oid, v in results.items() if v == "accepted")
        self.assertIn("being processed", results[loser])
        offers, (state, expert_id) = self._committed_states()
        self.assertEqual(offers, {winner: "accepted", loser: "withdrawn"})
        self.assertEqual(state, "assigned")
        winner_expert = self.ids["experts"][self.ids["offers"].index(winner)]
        self.assertEqual(expert_id, winner_expert)

    def test_late_second_acceptance_changes_nothing(self):
        """Without overlap the second acceptance sees the committed first one and is refused."""
        first, second = self.ids["offers"]
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            env["crowd.dispatch.offer"].browse(first).action_accept()
            cr.commit()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            with self.assertRaisesRegex(UserError, "withdrawn"):
                env["crowd.dispatch.offer"].browse(second).action_accept()
        offers, (state, _expert_id) = self._committed_states()
        self.assertEqual(offers, {first: "accepted", second: "withdrawn"})
        self.assertEqual(state, "assigned")
