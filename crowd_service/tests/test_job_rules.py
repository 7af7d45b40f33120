"""Rules of crowd.job checked in the model, whoever calls: regressions of the last security review."""

import math

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common_dispatch import SITE, CrowdDispatchCase, offset


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestJobRules(CrowdDispatchCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule.write({"strategy": "sequential", "tier_policy": "any"})
        cls.specialist_user = new_test_user(cls.env, login="crowd_specialist_t", groups="base.group_portal")
        cls.responder_user = new_test_user(cls.env, login="crowd_responder_t", groups="base.group_portal")
        for user, tier, km in ((cls.specialist_user, "specialist", 0.5), (cls.responder_user, "first_responder", 3)):
            lat, lon = offset(lat_km=km)
            user.partner_id.write(
                {
                    "is_crowd_expert": True,
                    "crowd_kind": "freelance",
                    "crowd_tier": tier,
                    "crowd_state": "active",
                    "crowd_online": True,
                    "partner_latitude": lat,
                    "partner_longitude": lon,
                    "crowd_radius_km": 60,
                    "crowd_max_jobs": 2,
                    "crowd_user_id": user.id,
                }
            )
        cls.finance = new_test_user(cls.env, login="crowd_plain_internal_t", groups="base.group_user")

    def _on_site_job(self, user):
        job = self.make_job()
        offer = job.offer_ids.filtered(lambda o: o.expert_id == user.partner_id)
        if not offer:
            job.offer_ids._crowd_set_state("withdrawn", self.now)
            job._crowd_assign(user.partner_id)
        else:
            offer.with_user(user).action_accept()
        job.with_user(user).action_en_route(5)
        job.with_user(user).action_check_in(*SITE)
        self.assertEqual(job.state, "on_site")
        return job

    def _snapshot(self, job):
        self.env.flush_all()
        request = job.request_id
        return (
            job.read(["state", "eta_at", "expert_id", "report", "resolution", "checkin_latitude"])[0],
            len(request.crowd_job_ids),
            self.env["crowd.job"].search_count([]),
        )

    def test_only_first_responders_escalate_to_a_specialist(self):
        job = self._on_site_job(self.specialist_user)
        before = self._snapshot(job)
        with self.assertRaisesRegex(AccessError, "first responders"):
            job.with_user(self.specialist_user).action_escalate_specialist("Needs a board swap")
        self.assertEqual(self._snapshot(job), before, "nothing created, nothing closed, no payout")

    def test_first_responder_escalates_on_the_same_request(self):
        job = self._on_site_job(self.responder_user)
        for bad in ({2**31: 1}, {self.skill.id: 10**20}, {"x": 1}, [1, 2]):
            with self.subTest(skills=bad), self.assertRaises(ValidationError):
                job.with_user(self.responder_user).action_escalate_specialist("x", required_skills=bad)
        self.assertEqual(len(job.request_id.crowd_job_ids), 1, "nothing created")
        followup = self.env["crowd.job"].browse(
            job.with_user(self.responder_user).action_escalate_specialist("Needs a board swap")
        )
        self.assertEqual(followup.request_id, job.request_id)
        self.assertEqual((followup.kind, followup.min_tier, followup.parent_job_id), ("specialist", "specialist", job))
        self.assertEqual(job.state, "done")
        with self.assertRaisesRegex(UserError, "already handed over"):
            job.with_user(self.responder_user).action_escalate_specialist("again")
        self.assertEqual(len(job.request_id.crowd_job_ids), 2)

    def test_eta_bounds(self):
        job = self.make_job()
        job.offer_ids._crowd_set_state("withdrawn", self.now)
        job._crowd_assign(self.specialist_user.partner_id)
        before = self._snapshot(job)
        for eta in (6e9, 525600, -1, math.nan, math.inf, "soon", None, [5]):
            with self.subTest(eta=eta), self.assertRaisesRegex(ValidationError, "ETA"):
                job.with_user(self.specialist_user).action_en_route(eta)
            self.assertEqual(self._snapshot(job), before)
        job.with_user(self.specialist_user).action_en_route(1440)
        self.assertEqual(job.state, "en_route")

    def test_check_in_input_and_state(self):
        job = self._on_site_job(self.specialist_user)
        other = self.make_job(name="Another lift")
        other.offer_ids._crowd_set_state("withdrawn", self.now)
        other._crowd_assign(self.specialist_user.partner_id)
        other.with_user(self.specialist_user).action_en_route(5)
        before = self._snapshot(other)
        for lat, lon in ((math.nan, 8.5), (91, 8.5), (47, 181), ("x", 8), (None, None)):
            with self.subTest(lat=lat, lon=lon), self.assertRaises(ValidationError):
                other.with_user(self.specialist_user).action_check_in(lat, lon)
            self.assertEqual(self._snapshot(other), before)
        with self.assertRaisesRegex(UserError, "en route"):
            job.with_user(self.specialist_user).action_check_in(*SITE)

    def test_someone_elses_job_is_refused(self):
        job = self._on_site_job(self.specialist_user)
        before = self._snapshot(job)
        for call in (
            lambda j: j.action_complete("stolen"),
            lambda j: j.action_report("<p>mine</p>"),
            lambda j: j.action_en_route(5),
            lambda j: j.action_escalate_specialist("x"),
        ):
            with self.assertRaises(AccessError):
                call(job.with_user(self.responder_user))
        self.assertEqual(self._snapshot(job), before)

    def test_workflow_fields_are_not_writable(self):
        job = self._on_site_job(self.specialist_user)
        before = self._snapshot(job)
        with self.assertRaises(AccessError):
            job.with_user(self.specialist_user).write({"state": "done"})
        with self.assertRaises(AccessError):
            job.with_user(self.dispatcher).write({"expert_id": self.responder_user.partner_id.id})
        with self.assertRaises(AccessError):
            job.with_user(self.dispatcher).with_context(crowd_payout_system=True).write({"state": "done"})
        with self.assertRaises(AccessError):
            self.env["crowd.job"].with_user(self.specialist_user).create({"request_id": job.request_id.id})
        with self.assertRaises(AccessError):
            self.env["crowd.required.skill"].with_user(self.dispatcher).create(
                {"job_id": job.id, "skill_id": self.skill.id, "min_level_id": self.level_basic.id}
            )
        self.assertEqual(self._snapshot(job), before)
        job.with_user(self.dispatcher).write({"cost_ceiling": 120.0})
        self.assertEqual(job.cost_ceiling, 120.0)

    def test_report_attachments_must_be_own_photos_or_pdf(self):
        job = self._on_site_job(self.specialist_user)
        # uploaded through the portal, which creates attachments as the uploading user
        foreign = self.env["ir.attachment"].with_user(self.responder_user).sudo().create({"name": "x.png", "raw": b"x"})
        own_text = (
            self.env["ir.attachment"]
            .with_user(self.specialist_user)
            .sudo()
            .create({"name": "notes.txt", "raw": b"plain text", "mimetype": "text/plain"})
        )
        before = self._snapshot(job)
        with self.assertRaises(AccessError):
            job.with_user(self.specialist_user).action_report("<p>r</p>", attachment_ids=foreign.ids)
        with self.assertRaises(ValidationError):
            job.with_user(self.specialist_user).action_report("<p>r</p>", attachment_ids=own_text.ids)
        for bad_ids in ([999999], [2**31], [10**20], [True], ["1"], "1,2"):
            with self.subTest(ids=bad_ids), self.assertRaises(ValidationError):
                job.with_user(self.specialist_user).action_report("<p>r</p>", attachment_ids=bad_ids)
        self.assertEqual(self._snapshot(job), before)

    def test_request_stage_follows_its_jobs(self):
        job = self.make_job()
        request = job.request_id
        self.assertFalse(request.stage_id.done)
        job.with_user(self.dispatcher).action_cancel("Customer fixed it")
        self.assertTrue(request.archive, "a request whose every visit was cancelled is archived")
        self.env["maintenance.request"].browse(request.id).with_user(self.dispatcher).action_crowd_new_job()
        self.assertFalse(request.archive)
        new_job = request.crowd_job_id
        self.assertNotEqual(new_job, job)
        new_job.offer_ids._crowd_set_state("withdrawn", self.now)
        new_job._crowd_assign(self.specialist_user.partner_id)
        new_job.with_user(self.specialist_user).action_en_route(3)
        new_job.with_user(self.specialist_user).action_check_in(*SITE)
        new_job.with_user(self.specialist_user).action_complete("Fixed")
        self.assertTrue(request.stage_id.done, "done visit, nothing open: the request is done")

    def test_internal_user_outside_crowd_groups_reads_partners(self):
        expert = self.specialist_user.partner_id
        # every field our addons add to partners (core's own fields are core's business: with accounting
        # installed, core's invoice_ids is readable by accounting users only)
        ours = [name for name, field in expert._fields.items() if (field._module or "").startswith("crowd_service")]
        self.assertIn("crowd_tier", ours)
        partner = expert.with_user(self.finance)
        visible = partner.fields_get(attributes=["type"])  # what a client asks before reading
        readable = [name for name in ours if name in visible]
        values = partner.read(readable)  # as odoorpc does with every field it may read
        self.assertEqual(values[0]["id"], expert.id)
        self.assertNotIn("crowd_skill_ids", readable, "group-only fields are left out, not refused")
        self.assertIn("crowd_tier", readable)

    def test_only_the_customer_rates_a_done_visit(self):
        job = self._on_site_job(self.specialist_user)
        customer_user = new_test_user(self.env, login="crowd_customer_t", groups="base.group_portal")
        customer_user.partner_id.parent_id = self.customer
        with self.assertRaisesRegex(UserError, "once it is completed"):
            job.with_user(customer_user).action_rate(5)
        job.with_user(self.specialist_user).action_complete("Fixed")
        with self.assertRaises(AccessError):
            job.with_user(self.responder_user).action_rate(1)
        for bad in (0, 6, 4.5, True, "5"):
            with self.subTest(rate=bad), self.assertRaises(ValidationError):
                job.with_user(customer_user).action_rate(bad)
        job.with_user(customer_user).action_rate(4, "Quick and clean")
        self.assertEqual(self.specialist_user.partner_id.crowd_rating, 4.0)
        with self.assertRaisesRegex(UserError, "already rated"):
            job.with_user(customer_user).action_rate(1)
