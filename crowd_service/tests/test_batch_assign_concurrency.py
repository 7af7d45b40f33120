# pylint: disable=invalid-commit
# Concurrency needs committed data seen by separate transactions; every commit here is on a
# cursor of its own, and the data is removed afterwards.
import threading
import time

from odoo.tests import tagged

from .common_committed import CommittedDataCase
from .common_dispatch import SITE, offset


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestBatchAssignConcurrency(CommittedDataCase):
    """Two batch assignments at the same moment (two cron workers, or the cron and a dispatcher confirming a
    proposal), each in its own committed transaction: every job is assigned exactly once."""

    def _commit_setup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            category = env["maintenance.equipment.category"].create({"name": "Batch concurrency (test)"})
            equipment = env["maintenance.equipment"].create({"name": "Batch lift", "category_id": category.id})
            rule = env["crowd.dispatch.rule"].create(
                {
                    "name": "Batch concurrency (test)",
                    "sequence": -1000,
                    "category_ids": [(6, 0, category.ids)],
                    "own_delay_min": 0,
                    "partner_delay_min": 0,
                    "crowd_delay_min": 0,
                    "tier_policy": "any",
                    "auto_dispatch": False,
                    "batch_assign": True,
                }
            )
            experts = env["res.partner"].create(
                [
                    {
                        "name": f"Batch Concurrent Expert {i}",
                        "is_crowd_expert": True,
                        "crowd_kind": "freelance",
                        "crowd_tier": "technician",
                        "crowd_state": "active",
                        "crowd_online": True,
                        "crowd_radius_km": 50,
                        "crowd_max_jobs": 1,
                        "crowd_rating": 4.5,
                        "partner_latitude": offset(lat_km=km)[0],
                        "partner_longitude": SITE[1],
                    }
                    for i, km in ((1, 1.0), (2, -5.0))
                ]
            )
            requests = env["maintenance.request"].create(
                [
                    {
                        "name": f"Batch concurrent lift {i}",
                        "priority": "2",
                        "equipment_id": equipment.id,
                        "crowd_latitude": offset(lat_km=km)[0],
                        "crowd_longitude": SITE[1],
                    }
                    for i, km in ((1, 0.0), (2, 3.0))
                ]
            )
            jobs = requests.crowd_job_ids
            assert jobs.mapped("state") == ["new", "new"], jobs.mapped("state")
            wizard = env["crowd.batch.assign.wizard"].create({"scope_job_ids": [(6, 0, jobs.ids)]})
            assert len(wizard.line_ids.filtered("expert_id")) == 2, "the proposal staffs both jobs"
            cr.commit()
            return {
                "jobs": jobs.ids,
                "requests": requests.ids,
                "experts": experts.ids,
                "rule": rule.id,
                "equipment": equipment.id,
                "category": category.id,
                "wizard": wizard.id,
                "proposal": {line.job_id.id: line.expert_id.id for line in wizard.line_ids},
            }

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["crowd.batch.assign.wizard"].browse(self.ids["wizard"]).unlink()
            jobs = env["crowd.job"].browse(self.ids["jobs"])
            jobs.message_ids.unlink()
            env["crowd.dispatch.offer"].search([("expert_id", "in", self.ids["experts"])]).unlink()
            env["maintenance.request"].browse(self.ids["requests"]).unlink()
            env["maintenance.equipment"].browse(self.ids["equipment"]).unlink()
            env["maintenance.equipment.category"].browse(self.ids["category"]).unlink()
            env["crowd.dispatch.rule"].browse(self.ids["rule"]).unlink()
            env["res.partner"].browse(self.ids["experts"]).unlink()
            cr.commit()

    def _race(self, first, second):
        """Run ``first`` and, once it holds its job locks (it assigned one job and waits there), ``second``,
        each in its own transaction committed at the end. Returns {name: result or the error's repr}."""
        locked = threading.Event()
        results = {}
        Job = self.registry["crowd.job"]
        original = Job._crowd_assign_manual

        def slow_assign(job, expert, message=None):
            result = original(job, expert, message=message)
            if threading.current_thread().name == "first":
                locked.set()
                time.sleep(0.5)  # keep the row locks while the other transaction tries
            return result

        def worker(name, run):
            try:
                if name == "second":
                    locked.wait(timeout=20)
                with self.registry.cursor() as cr:
                    results[name] = run(self._env(cr))
                    cr.commit()
            except Exception as exc:  # reported by the assertions
                results[name] = repr(exc)
            finally:
                locked.set()

        self.patch(Job, "_crowd_assign_manual", slow_assign)
        threads = [
            threading.Thread(target=worker, args=(name, run), name=name)
            for name, run in (("first", first), ("second", second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        return results

    @staticmethod
    def _cron(env):
        return env["crowd.job"]._cron_crowd_batch_assign()

    def _confirm(self, env):
        return env["crowd.batch.assign.wizard"].browse(self.ids["wizard"]).action_confirm()["params"]["message"]

    def _committed(self):
        """{job id: (state, expert id, number of assignment notes)} as committed."""
        with self.registry.cursor() as cr:
            cr.execute(
                """SELECT j.id, j.state, j.expert_id,
                          (SELECT count(*) FROM mail_message m
                            WHERE m.model = 'crowd.job' AND m.res_id = j.id AND m.body LIKE '%%assigned%%')
                     FROM crowd_job j WHERE j.id = ANY(%s) ORDER BY j.id""",
                [self.ids["jobs"]],
            )
            return {row[0]: row[1:] for row in cr.fetchall()}

    def assertAssignedOnce(self):
        # the proposal's assignment (the same for the cron: same jobs, same experts), each made once
        expected = {job_id: ("assigned", expert_id, 1) for job_id, expert_id in self.ids["proposal"].items()}
        self.assertEqual(self._committed(), expected)

    def test_two_cron_workers_assign_each_job_once(self):
        results = self._race(self._cron, self._cron)
        self.assertEqual(results, {"first": 2, "second": 0}, "the second worker skips the locked jobs")
        self.assertAssignedOnce()
        with self.registry.cursor() as cr:
            self.assertEqual(self._cron(self._env(cr)), 0, "a third run finds nothing waiting")
            cr.rollback()

    def test_cron_while_a_dispatcher_confirms(self):
        results = self._race(self._confirm, self._cron)
        self.assertEqual(results["first"], "2 job(s) assigned.")
        self.assertEqual(results["second"], 0, "the cron skips the jobs the dispatcher holds")
        self.assertAssignedOnce()

    def test_dispatcher_confirms_while_the_cron_runs(self):
        results = self._race(self._cron, self._confirm)
        self.assertEqual(results["first"], 2)
        self.assertIn("being dispatched by someone else right now", results["second"])
        self.assertIn("0 job(s) assigned", results["second"])
        self.assertAssignedOnce()
