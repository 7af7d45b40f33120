from datetime import date, timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common_dispatch import SITE, CrowdDispatchCase, offset

# minutes per km of great-circle distance at the engine's default speed (40 km/h) and road factor (1.3)
MIN_PER_KM = 1.3 / 40 * 60


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestBatchAssign(CrowdDispatchCase):
    """The dispatcher's batch assignment (wizard) and its cron: the engine's min-cost flow over every waiting
    non-urgent job at once, compared with first come, first served, confirmed through the model's checks."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the jobs wait for the batch: no offers on creation
        cls.rule.write({"auto_dispatch": False, "batch_assign": True})
        # on one meridian: E1 1 km north of the site, E2 5 km south; room for one job each
        cls.e1 = cls.make_expert("Batch One", km=1.0, crowd_max_jobs=1)
        cls.e2 = cls.make_expert("Batch Two", km=-5.0, crowd_max_jobs=1)
        cls.employee = new_test_user(cls.env, login="crowd_batch_employee_t", groups="base.group_user")
        cls.other_company = cls.env["res.company"].create({"name": "Batch Other Co (test)"})
        cls.foreign_dispatcher = new_test_user(
            cls.env,
            login="crowd_batch_foreign_t",
            groups="base.group_user,crowd_service.group_crowd_user",
            company_id=cls.other_company.id,
            company_ids=[Command.set(cls.other_company.ids)],
        )

    def setUp(self):
        super().setUp()
        # J1 at the site, J2 3 km north, reported in this order. First come, first served gives J1 the nearest
        # expert (E1, 1 km) and leaves E2 (8 km) to J2: 9 km. The batch: J1-E2 (5 km), J2-E1 (2 km): 7 km.
        self.j1 = self.make_job("Batch lift 1", priority="2")
        self.j2 = self.make_job("Batch lift 2", priority="2", **self.at_km(3.0))

    @staticmethod
    def at_km(km):
        lat, lon = offset(lat_km=km)
        return {"crowd_latitude": lat, "crowd_longitude": lon}

    def open_wizard(self, jobs=None, user=None):
        Job = self.env["crowd.job"].with_user(user or self.dispatcher)
        action = (jobs.with_user(user or self.dispatcher) if jobs else Job).action_batch_assign()
        self.assertEqual(action["res_model"], "crowd.batch.assign.wizard")
        return self.env["crowd.batch.assign.wizard"].with_user(user or self.dispatcher).browse(action["res_id"])

    def line_of(self, wizard, job):
        return wizard.line_ids.filtered(lambda line: line.job_id == job)

    def assignment(self, wizard, field="expert_id"):
        return {line.job_id: line[field] for line in wizard.line_ids}

    # ------------------------------------------------------------------ the proposal
    def test_proposal_beats_first_come_first_served(self):
        wizard = self.open_wizard()
        self.assertEqual(wizard.job_count, 2)
        self.assertEqual(self.assignment(wizard), {self.j1: self.e2, self.j2: self.e1})
        self.assertEqual(self.assignment(wizard, "greedy_expert_id"), {self.j1: self.e1, self.j2: self.e2})
        self.assertEqual((wizard.batch_staffed, wizard.greedy_staffed), (2, 2))
        self.assertAlmostEqual(wizard.batch_cost_min, 7 * MIN_PER_KM, delta=0.2)
        self.assertAlmostEqual(wizard.greedy_cost_min, 9 * MIN_PER_KM, delta=0.2)
        self.assertAlmostEqual(wizard.saving_min, 2 * MIN_PER_KM, delta=0.2)
        self.assertLessEqual(wizard.batch_cost_min, wizard.greedy_cost_min)
        line = self.line_of(wizard, self.j2)
        self.assertAlmostEqual(line.distance_km, 2.0, delta=0.05)
        self.assertAlmostEqual(line.eta_min, 2 * MIN_PER_KM, delta=0.1)
        self.assertEqual(line.late_min, 0.0, "well before the SLA deadline")
        self.assertAlmostEqual(line.cost_min, line.eta_min, delta=0.05)
        self.assertIn("top-rated", line.reasons)
        self.assertEqual(line.job_state, "new")
        self.assertEqual(self.j1.state, "new", "a proposal changes no job")
        self.assertGreater(wizard.expert_count, 0)
        self.assertGreater(wizard.compute_ms, 0)

    def test_selected_jobs_only(self):
        wizard = self.open_wizard(jobs=self.j2)
        self.assertEqual(wizard.line_ids.job_id, self.j2)
        self.assertEqual(self.line_of(wizard, self.j2).expert_id, self.e1, "alone, J2 takes the nearest")

    def test_sla_lateness_counts(self):
        # J3 reported last, already 20 min from its deadline: E1 (2 min away) must go to it, not to J1/J2
        j3 = self.make_job("Batch lift 3", priority="2", crowd_sla_deadline=self.now + timedelta(minutes=1))
        wizard = self.open_wizard()
        self.assertEqual(self.line_of(wizard, j3).expert_id, self.e1)
        self.assertEqual(len(wizard.line_ids.filtered("expert_id")), 2)
        self.assertEqual(self.line_of(wizard, j3).greedy_expert_id, self.env["res.partner"], "first come: none left")
        self.assertEqual(wizard.greedy_staffed, 2)

    def test_urgent_and_unplaced_jobs_are_left_out(self):
        urgent = self.make_job("Batch urgent", priority="3")
        wizard = self.open_wizard()
        self.assertNotIn(urgent, wizard.line_ids.job_id)
        self.assertEqual(wizard.job_count, 2)
        # selected explicitly, an urgent job is still left out
        wizard = self.open_wizard(jobs=urgent | self.j1)
        self.assertEqual(wizard.line_ids.job_id, self.j1)

    def test_unstaffed_job_says_why(self):
        lonely = self.make_job("Batch far away", priority="1", **self.at_km(300.0))
        wizard = self.open_wizard()
        line = self.line_of(wizard, lonely)
        self.assertFalse(line.expert_id)
        self.assertIn("no candidate in any open pool", line.reasons)
        self.assertEqual(wizard.line_ids[-1], line, "unstaffed lines come last")
        wizard.action_confirm()
        self.assertEqual(lonely.state, "new", "a job nobody can take stays as it is")

    def test_every_gate_of_the_single_dispatch_applies(self):
        """Skills, certificates, time off, cost ceiling and the rule's radius: the nearest experts fail one
        each, the proposal takes the only one who passes all, and a line forged to each of the others is
        refused with that gate."""
        (self.j1 | self.j2).action_cancel("out of the way")
        self.rule.max_radius_km = 20
        job = self.make_job(
            "Batch gated",
            priority="2",
            crowd_required_skill_ids=[Command.create({"skill_id": self.skill.id, "min_level_id": self.level_basic.id})],
            crowd_certificate_type_ids=[Command.set(self.cert_type.ids)],
            crowd_cost_ceiling=100.0,
        )
        valid = date(2030, 1, 1)
        no_skill = self.make_expert("Gate skill", km=0.5, cert_until=valid)
        expired = self.make_expert("Gate cert", km=0.6, level=self.level_basic, cert_until=date(2026, 3, 1))
        away = self.make_expert("Gate away", km=0.7, level=self.level_basic, cert_until=valid)
        off = {"date_from": self.now - timedelta(hours=1), "date_to": self.now + timedelta(hours=8)}
        self.env["crowd.expert.blackout"].create(dict(off, partner_id=away.id))
        dear = self.make_expert("Gate cost", km=0.8, level=self.level_basic, cert_until=valid, crowd_cost_per_job=150)
        far = self.make_expert("Gate far", km=30.0, level=self.level_basic, cert_until=valid)
        good = self.make_expert("Gate good", km=9.0, level=self.level_expert, cert_until=valid, crowd_cost_per_job=90)
        wizard = self.open_wizard()
        self.assertEqual(self.assignment(wizard), {job: good})
        for expert, gate in (
            (no_skill, "skills"),
            (expired, "certificates"),
            (away, "off duty"),
            (dear, "above the cost ceiling"),
            (far, "too far"),
        ):
            self.line_of(wizard, job).sudo().expert_id = expert
            with self.assertRaisesRegex(UserError, f"{expert.name} cannot take {job.name}: {gate}"):
                wizard.action_confirm()
            self.assertEqual((job.state, job.expert_id), ("new", self.env["res.partner"]))
        self.line_of(wizard, job).sudo().expert_id = good
        wizard.action_confirm()
        self.assertEqual((job.state, job.expert_id), ("assigned", good))

    def test_expert_who_declined_is_not_proposed(self):
        self.j2.action_cancel("out of the way")
        self.env["crowd.dispatch.offer"].create(
            {
                "job_id": self.j1.id,
                "expert_id": self.e1.id,
                "state": "declined",
                "sent_at": self.now - timedelta(minutes=10),
                "responded_at": self.now - timedelta(minutes=9),
            }
        )
        wizard = self.open_wizard()
        self.assertEqual(self.line_of(wizard, self.j1).expert_id, self.e2)
        self.line_of(wizard, self.j1).sudo().expert_id = self.e1
        with self.assertRaisesRegex(UserError, "declined this job"):
            wizard.action_confirm()

    # ------------------------------------------------------------------ confirmation
    def test_confirm_assigns_every_line(self):
        wizard = self.open_wizard()
        action = wizard.action_confirm()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual((self.j1.state, self.j1.expert_id), ("assigned", self.e2))
        self.assertEqual((self.j2.state, self.j2.expert_id), ("assigned", self.e1))
        self.assertIn("batch assignment confirmed by", self.j1.message_ids[0].body)
        self.assertEqual(wizard.state, "done")
        with self.assertRaisesRegex(UserError, "already confirmed"):
            wizard.action_confirm()

    def test_unticked_line_is_left_alone(self):
        wizard = self.open_wizard()
        self.line_of(wizard, self.j1).selected = False
        wizard.action_confirm()
        self.assertEqual(self.j1.state, "new")
        self.assertEqual((self.j2.state, self.j2.expert_id), ("assigned", self.e1))

    def test_changed_jobs_are_skipped_and_nothing_else_changes(self):
        wizard = self.open_wizard()
        j3 = self.make_job("Batch lift 3", priority="2", **self.at_km(-10.0))
        e3 = self.make_expert("Batch Three", km=-11.0, crowd_max_jobs=1)
        wizard_j3 = self.open_wizard(jobs=j3)
        # meanwhile: J1 is cancelled, J3 is assigned by hand, J2 became urgent ... and another batch covers J3
        self.j1.with_user(self.dispatcher).action_cancel("customer fixed it")
        self.assertEqual(self.line_of(wizard_j3, j3).expert_id, e3)
        j3.with_user(self.dispatcher)._crowd_assign_manual(e3)
        wizard.sudo().line_ids = [Command.create({"job_id": j3.id, "expert_id": e3.id, "sequence": 9})]
        action = wizard.action_confirm()
        message = action["params"]["message"]
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn(f"{self.j1.name} is cancelled now", message)
        self.assertIn(f"{j3.name} is assigned now", message)
        self.assertEqual((self.j1.state, self.j1.expert_id), ("cancelled", self.env["res.partner"]))
        self.assertEqual((j3.state, j3.expert_id), ("assigned", e3))
        self.assertEqual((self.j2.state, self.j2.expert_id), ("assigned", self.e1), "the other line goes through")
        # the same job, now urgent
        j4 = self.make_job("Batch lift 4", priority="2", **self.at_km(-5.0))
        wizard = self.open_wizard(jobs=j4)
        self.assertEqual(self.line_of(wizard, j4).expert_id, self.e2)
        j4.request_id.priority = "3"
        message = wizard.action_confirm()["params"]["message"]
        self.assertIn(f"{j4.name} became urgent", message)
        self.assertEqual(j4.state, "new")

    def test_forged_lines_are_refused(self):
        wizard = self.open_wizard()
        line1, line2 = self.line_of(wizard, self.j1), self.line_of(wizard, self.j2)
        # an expert with room for one job on both lines
        line1.sudo().expert_id = self.e1
        with self.assertRaisesRegex(UserError, "no capacity left"):
            wizard.action_confirm()
        # a partner who is no expert; an offline expert; an expert of another company
        customer = self.customer
        offline = self.make_expert("Batch Offline", km=0.2, crowd_online=False)
        foreign = self.make_expert("Batch Foreign", km=0.2, crowd_company_id=self.other_company.id)
        for expert, reason in ((customer, "not an active expert"), (offline, "offline"), (foreign, "another company")):
            line1.sudo().expert_id = expert
            with self.assertRaisesRegex(UserError, reason):
                wizard.action_confirm()
        # the same job on two lines
        line1.sudo().expert_id = self.e2
        line2.sudo().job_id = self.j1
        with self.assertRaisesRegex(UserError, "two lines"):
            wizard.action_confirm()
        self.assertEqual((self.j1 | self.j2).mapped("state"), ["new", "new"])
        self.assertFalse((self.j1 | self.j2).expert_id)
        self.assertEqual(wizard.state, "proposed")

    # ------------------------------------------------------------------ who may, and which company
    def test_only_dispatchers(self):
        with self.assertRaises(AccessError):
            self.env["crowd.job"].with_user(self.employee).action_batch_assign()
        with self.assertRaises(AccessError):
            self.env["crowd.batch.assign.wizard"].with_user(self.employee).create({})
        wizard = self.open_wizard()
        with self.assertRaises(AccessError):
            wizard.with_user(self.employee).action_confirm()
        self.assertEqual(self.j1.state, "new")

    def test_company_isolation(self):
        team = self.env["maintenance.team"].create({"name": "Batch team (test)", "company_id": self.other_company.id})
        request = (
            self.env["maintenance.request"]
            .with_company(self.other_company)
            .create(
                {
                    "name": "Batch other company",
                    "priority": "2",
                    "company_id": self.other_company.id,
                    "maintenance_team_id": team.id,
                    "crowd_latitude": SITE[0],
                    "crowd_longitude": SITE[1],
                }
            )
        )
        foreign_job = request.crowd_job_ids
        self.assertEqual(foreign_job.company_id, self.other_company)
        wizard = self.open_wizard()
        self.assertNotIn(foreign_job, wizard.line_ids.job_id)
        # the other company's dispatcher sees only their job, and neither reads nor confirms ours
        theirs = self.open_wizard(user=self.foreign_dispatcher)
        self.assertEqual(theirs.line_ids.job_id, foreign_job)
        with self.assertRaises(AccessError):
            wizard.with_user(self.foreign_dispatcher).action_confirm()
        with self.assertRaises(AccessError):
            wizard.with_user(self.foreign_dispatcher).read(["job_count"])
        # a wizard for a company the dispatcher does not belong to; a line forged to a job of another company
        with self.assertRaises(AccessError):
            self.env["crowd.batch.assign.wizard"].with_user(self.dispatcher).create(
                {"company_id": self.other_company.id}
            )
        self.line_of(wizard, self.j1).sudo().job_id = foreign_job
        with self.assertRaises(AccessError):
            wizard.action_confirm()
        with self.assertRaises(AccessError):
            foreign_job.with_user(self.dispatcher).action_batch_assign()
        self.assertEqual((foreign_job.state, self.j2.state), ("new", "new"))

    # ------------------------------------------------------------------ the cron
    def test_cron_assigns_the_rules_that_opt_in(self):
        self.rule.batch_assign = False
        self.assertEqual(self.env["crowd.job"]._cron_crowd_batch_assign(), 0)
        self.assertEqual(self.j1.state, "new")
        self.rule.batch_assign = True
        urgent = self.make_job("Batch urgent", priority="3")
        self.assertEqual(self.env["crowd.job"]._cron_crowd_batch_assign(), 2)
        self.assertEqual((self.j1.expert_id, self.j2.expert_id), (self.e2, self.e1))
        self.assertEqual(urgent.state, "new", "urgent jobs are never batched")
        self.assertIn("scheduled batch assignment", self.j1.message_ids[0].body)
        self.assertEqual(self.env["crowd.job"]._cron_crowd_batch_assign(), 0, "nothing waits any more")
        cron = self.env.ref("crowd_service.ir_cron_crowd_batch_assign")
        self.assertEqual((cron.interval_number, cron.interval_type), (15, "minutes"))
