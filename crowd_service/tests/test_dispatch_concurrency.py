# pylint: disable=invalid-commit
# Concurrency needs committed data seen by separate transactions; every commit here is on a
# cursor of its own, and the data is removed afterwards.
import threading
import time
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common_committed import CommittedDataCase
from .common_dispatch import SITE


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestAcceptanceConcurrency(CommittedDataCase):
    """Two experts accept at the same moment, each in his own committed transaction: exactly one wins.

    The data is committed through a separate cursor (the test cursor is never committed) and removed
    afterwards.
    """

    def _commit_setup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
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
            # a job of its own, not dispatched: the test makes the offers itself
            job = env["crowd.job"]._crowd_create_for(
                env["maintenance.request"].create({"name": "Concurrent lift"}), latitude=SITE[0], longitude=SITE[1]
            )
            job._crowd_set_state("dispatching")
            job._crowd_set_state("offered")
            now = fields.Datetime.now()
            offers = env["crowd.dispatch.offer"].create(
                [
                    {
                        "job_id": job.id,
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
            return {"job": job.id, "experts": experts.ids, "offers": offers.ids}

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            job = env["crowd.job"].browse(self.ids["job"])
            request = job.request_id
            job.message_ids.unlink()
            request.unlink()
            env["res.partner"].browse(self.ids["experts"]).unlink()
            cr.commit()

    def _accept_concurrently(self, hold_lock_s):
        """Both threads pass a barrier, then accept their own offer; the lock holder waits ``hold_lock_s``."""
        barrier = threading.Barrier(2)
        results = {}
        Offer = self.registry["crowd.dispatch.offer"]
        original_lock = Offer._crowd_lock_job

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

        self.patch(Offer, "_crowd_lock_job", slow_lock)
        threads = [threading.Thread(target=worker, args=(oid,)) for oid in self.ids["offers"]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return results

    def _committed_states(self):
        with self.registry.cursor() as cr:
            cr.execute("SELECT id, state FROM crowd_dispatch_offer WHERE job_id = %s ORDER BY id", [self.ids["job"]])
            offers = dict(cr.fetchall())
            cr.execute(
                "SELECT state, expert_id FROM crowd_job WHERE id = %s",
                [self.ids["job"]],
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


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestCronConcurrency(CommittedDataCase):
    """Two cron workers wake up at the same moment: each due job is handled by exactly one of them."""

    def _commit_setup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            category = env["maintenance.equipment.category"].create({"name": "Cron concurrency (test)"})
            equipment = env["maintenance.equipment"].create({"name": "Cron lift", "category_id": category.id})
            rule = env["crowd.dispatch.rule"].create(
                {
                    "name": "Cron concurrency (test)",
                    "sequence": -1000,
                    "category_ids": [(6, 0, category.ids)],
                    "own_delay_min": 0,
                    "partner_delay_min": 0,
                    "crowd_delay_min": 0,
                    "tier_policy": "any",
                    "strategy": "sequential",
                    "offer_timeout_min": 5,
                    "max_rounds": 3,
                    "auto_dispatch": True,
                }
            )
            experts = env["res.partner"].create(
                [
                    {
                        "name": f"Cron Expert {i}",
                        "is_crowd_expert": True,
                        "crowd_kind": "freelance",
                        "crowd_tier": "technician",
                        "crowd_state": "active",
                        "crowd_online": True,
                        "crowd_radius_km": 50,
                        "crowd_max_jobs": 3,
                        "crowd_rating": 4.5,
                        "partner_latitude": SITE[0] + 0.001 * i,
                        "partner_longitude": SITE[1],
                    }
                    for i in (1, 2)
                ]
            )
            job = (
                env["maintenance.request"]
                .create(
                    {
                        "name": "Cron concurrent lift",
                        "equipment_id": equipment.id,
                        "crowd_latitude": SITE[0],
                        "crowd_longitude": SITE[1],
                    }
                )
                .crowd_job_ids
            )
            first = job.offer_ids
            self.assertEqual(first.expert_id, experts[0])
            # make the first offer due: sent 6 minutes ago, timeout 5
            env.flush_all()
            cr.execute(
                """UPDATE crowd_dispatch_offer SET sent_at = sent_at - interval '6 minutes',
                          expires_at = expires_at - interval '6 minutes' WHERE id = %s""",
                [first.id],
            )
            cr.execute(
                "UPDATE crowd_job SET next_check_at = %s WHERE id = %s",
                [fields.Datetime.now() - timedelta(minutes=1), job.id],
            )
            cr.commit()
            return {
                "job": job.id,
                "first": first.id,
                "experts": experts.ids,
                "rule": rule.id,
                "equipment": equipment.id,
                "category": category.id,
            }

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            job = env["crowd.job"].browse(self.ids["job"])
            request = job.request_id
            job.message_ids.unlink()
            request.unlink()
            env["crowd.dispatch.offer"].search([("expert_id", "in", self.ids["experts"])]).unlink()
            env["maintenance.equipment"].browse(self.ids["equipment"]).unlink()
            env["maintenance.equipment.category"].browse(self.ids["category"]).unlink()
            env["crowd.dispatch.rule"].browse(self.ids["rule"]).unlink()
            env["res.partner"].browse(self.ids["experts"]).unlink()
            cr.commit()

    def test_two_cron_workers_handle_a_due_request_once(self):
        barrier = threading.Barrier(2)
        processed = []
        Request = self.registry["crowd.job"]
        original_step = Request._crowd_dispatch_step

        def slow_step(job, now=None):
            result = original_step(job, now)
            time.sleep(0.5)  # hold the row lock while the other worker looks for due jobs
            return result

        def worker():
            try:
                with self.registry.cursor() as cr:
                    env = self._env(cr)
                    barrier.wait(timeout=10)
                    processed.append(env["crowd.job"]._cron_crowd_dispatch(job_ids=[self.ids["job"]]))
                    cr.commit()
            except Exception as exc:  # reported by the assertion below
                processed.append(repr(exc))

        self.patch(Request, "_crowd_dispatch_step", slow_step)
        threads = [threading.Thread(target=worker) for _i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(sorted(processed), [0, 1], processed)
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT expert_id, round, state FROM crowd_dispatch_offer WHERE job_id = %s ORDER BY round",
                [self.ids["job"]],
            )
            offers = cr.fetchall()
        first_expert, second_expert = self.ids["experts"]
        self.assertEqual(offers, [(first_expert, 1, "expired"), (second_expert, 2, "pending")])
        # a third run at the same moment has nothing to do (idempotent)
        with self.registry.cursor() as cr:
            cron_run = self._env(cr)["crowd.job"]._cron_crowd_dispatch(job_ids=[self.ids["job"]])
            self.assertEqual(cron_run, 0)
            cr.rollback()


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestDivertConcurrency(CommittedDataCase):
    """An expert accepts an urgent job that diverts them from the visit they drive to, while that visit is being
    updated (their phone checks them in on site): the acceptance never waits, never half-happens, and is refused
    once they are on site. Committed data on cursors of their own, removed afterwards."""

    def _commit_setup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            dan = env["res.partner"].create(
                {
                    "name": "Diverted Dan (test)",
                    "is_crowd_expert": True,
                    "crowd_kind": "freelance",
                    "crowd_tier": "technician",
                    "crowd_state": "active",
                    "partner_latitude": SITE[0],
                    "partner_longitude": SITE[1],
                }
            )
            jobs = env["crowd.job"]
            for name in ("Routine service (divert test)", "Urgent lift (divert test)"):
                request = env["maintenance.request"].create({"name": name})
                jobs |= jobs._crowd_create_for(request, latitude=SITE[0], longitude=SITE[1])
            visit, urgent = jobs
            visit._crowd_set_state("dispatching")
            visit._crowd_assign(dan)
            visit._crowd_set_state("en_route", eta_at=fields.Datetime.now() + timedelta(minutes=20))
            urgent._crowd_set_state("dispatching")
            urgent._crowd_set_state("offered")
            now = fields.Datetime.now()
            offer = env["crowd.dispatch.offer"].create(
                {
                    "job_id": urgent.id,
                    "expert_id": dan.id,
                    "state": "pending",
                    "sent_at": now,
                    "expires_at": now + timedelta(minutes=30),
                    "divert_job_id": visit.id,
                }
            )
            cr.commit()
            return {"dan": dan.id, "visit": visit.id, "urgent": urgent.id, "offer": offer.id}

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            jobs = env["crowd.job"].browse([self.ids["visit"], self.ids["urgent"]])
            requests = jobs.request_id
            jobs.message_ids.unlink()
            requests.unlink()
            env["res.partner"].browse(self.ids["dan"]).unlink()
            cr.commit()

    def _committed(self):
        with self.registry.cursor() as cr:
            cr.execute("SELECT state FROM crowd_dispatch_offer WHERE id = %s", [self.ids["offer"]])
            offer = cr.fetchone()[0]
            cr.execute(
                "SELECT id, state, expert_id FROM crowd_job WHERE id IN %s",
                [(self.ids["visit"], self.ids["urgent"])],
            )
            jobs = {row[0]: row[1:] for row in cr.fetchall()}
            return offer, jobs[self.ids["visit"]], jobs[self.ids["urgent"]]

    def _accept(self):
        with self.registry.cursor() as cr:
            self._env(cr)["crowd.dispatch.offer"].browse(self.ids["offer"]).action_accept()
            cr.commit()

    def test_accepting_while_the_visit_is_checked_in_is_refused_and_changes_nothing(self):
        dan = self.ids["dan"]
        with self.registry.cursor() as phone:
            visit = self._env(phone)["crowd.job"].browse(self.ids["visit"])
            phone.execute("SELECT id FROM crowd_job WHERE id = %s FOR UPDATE", [visit.id])  # the check-in holds it
            started = time.monotonic()
            with self.assertRaisesRegex(UserError, "being updated right now"):
                self._accept()
            self.assertLess(time.monotonic() - started, 5, "refused at once, not after waiting for the lock")
            visit.action_check_in(*SITE)
            phone.commit()
        offer, visit_now, (urgent_state, urgent_expert) = self._committed()
        self.assertEqual((offer, visit_now), ("withdrawn", ("on_site", dan)), "on site: the diversion is withdrawn")
        self.assertIsNone(urgent_expert)
        with self.assertRaisesRegex(UserError, "withdrawn"):
            self._accept()
        self.assertEqual(self._committed(), ("withdrawn", ("on_site", dan), (urgent_state, None)))

    def test_accepting_on_the_way_takes_the_urgent_job_and_releases_the_visit(self):
        self._accept()
        offer, (visit_state, visit_expert), urgent = self._committed()
        self.assertEqual((offer, urgent), ("accepted", ("assigned", self.ids["dan"])))
        self.assertIsNone(visit_expert)
        self.assertIn(visit_state, ("dispatching", "offered", "escalated"), "the visit went back to dispatch")
