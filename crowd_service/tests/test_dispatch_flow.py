from datetime import date, timedelta
from unittest.mock import patch

import psycopg2

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from .common_dispatch import SITE, CrowdDispatchCase, offset


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestDispatchFlow(CrowdDispatchCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.near = cls.make_expert("Near Nina", km=1.0)
        cls.mid = cls.make_expert("Mid Max", km=5.0)
        cls.far = cls.make_expert("Far Fred", km=20.0)

    # ------------------------------------------------------------------ offers
    def test_auto_dispatch_writes_ranked_offers(self):
        sent = []
        Partner = self.env.registry["res.partner"]
        original_bus_send = Partner._bus_send

        def bus_send(partners, notification_type, message, **kwargs):
            sent.extend((partner.id, notification_type, message.get("offer_id")) for partner in partners)
            return original_bus_send(partners, notification_type, message, **kwargs)

        with patch.object(Partner, "_bus_send", bus_send):
            job = self.make_job()
        self.assertEqual(job.state, "offered")
        self.assertEqual(job.dispatched_at, self.now)
        self.assertEqual(job.offered_at, self.now)
        offers = job.offer_ids
        self.assertEqual(len(offers), 2, "broadcast to the top 2")
        self.assertEqual(offers.sorted("rank").expert_id, self.near | self.mid)
        first = offers.sorted("rank")[0]
        self.assertEqual(first.expert_id, self.near)
        self.assertEqual((first.round, first.rank, first.state), (1, 1, "pending"))
        self.assertEqual(first.sent_at, self.now)
        self.assertEqual(first.expires_at, self.now + timedelta(minutes=5))
        self.assertTrue(first.explanation)
        self.assertTrue(first.score_breakdown)
        self.assertAlmostEqual(first.distance_km, 1.0, delta=0.1)
        self.assertGreater(first.eta_min, 0)
        # 0.0 in crowd_service alone; the payout addon (when installed) prices the offer from its packages.
        self.assertEqual(first.expected_pay, job._crowd_expected_pay(first.expert_id))
        self.assertEqual(job.next_check_at, first.expires_at)
        # the expert's phone hears about it on the Odoo bus at once
        self.assertIn((self.near.id, "crowd_offer", first.id), sent)
        # the expert is told in the chatter, by the notification cron right after the dispatch
        self.assertTrue(all(offers.mapped("mail_pending")))
        self.assertFalse(job.message_ids.filtered(lambda m: self.near in m.partner_ids))
        self.assertGreaterEqual(self.env["crowd.dispatch.offer"]._cron_crowd_offer_notify(), 2)
        messages = job.message_ids.filtered(lambda m: self.near in m.partner_ids)
        self.assertEqual(len(messages), 1, "the expert is a recipient of an offer message")
        self.assertIn("Nina", messages.body)
        self.assertFalse(any(offers.mapped("mail_pending")))
        self.assertEqual(self.env["crowd.dispatch.offer"]._cron_crowd_offer_notify(), 0, "idempotent")

    def test_no_auto_dispatch_without_flag(self):
        self.rule.auto_dispatch = False
        job = self.make_job()
        self.assertEqual(job.state, "new")
        self.assertFalse(job.offer_ids)
        job.with_user(self.dispatcher).action_dispatch()
        self.assertEqual(job.state, "offered")
        self.assertEqual(len(job.offer_ids), 2)

    def test_dispatch_refused_without_site_position(self):
        self.rule.auto_dispatch = False
        request = self.make_request(crowd_latitude=0.0, crowd_longitude=0.0)
        self.assertFalse(request.crowd_job_ids, "no visit without a site position")
        with self.assertRaisesRegex(UserError, "site position"):
            request.action_crowd_new_job()
        self.assertFalse(request.crowd_job_ids, "nothing created")

    def test_sequential_strategy_offers_one_at_a_time(self):
        self.rule.strategy = "sequential"
        job = self.make_job()
        self.assertEqual(job.offer_ids.expert_id, self.near)

    # ------------------------------------------------------------------ cascade and limits
    def test_cascade_opens_pools_after_their_delay(self):
        self.rule.write(
            {"partner_delay_min": 10, "crowd_delay_min": 20, "strategy": "broadcast", "top_n": 3, "max_rounds": 5}
        )
        own = self.make_expert("Own Olga", km=8.0, kind="employee")
        partner = self.make_expert("Partner Paul", km=9.0, kind="partner")
        job = self.make_job()
        self.assertEqual(job.offer_ids.expert_id, own, "only the own pool is open at creation")
        with self.at(3):
            job.offer_ids.action_decline("busy")
        with self.at(4):
            self.run_cron()
            # nobody else in the own pool: wait for the partner pool to open at +10
            self.assertFalse(job.offer_ids.filtered(lambda o: o.state == "pending"))
            self.assertEqual(job.next_check_at, self.now.replace(minute=10))
        with self.at(10):
            self.run_cron()
            pending = job.offer_ids.filtered(lambda o: o.state == "pending")
            self.assertEqual(pending.expert_id, partner)
            pending.action_decline()
        with self.at(12):
            self.run_cron()
            self.assertFalse(job.offer_ids.filtered(lambda o: o.state == "pending"))
        with self.at(20):
            self.run_cron()
            pending = job.offer_ids.filtered(lambda o: o.state == "pending")
            self.assertEqual(pending.expert_id, self.near | self.mid | self.far)

    def test_tier_policy_first_responder_first(self):
        self.rule.tier_policy = "first_responder_first"
        responder = self.make_expert("Fast Fiona", km=12.0, tier="first_responder")
        job = self.make_job()
        self.assertEqual(job.offer_ids.expert_id, responder, "first responders are offered first")

    def test_min_tier_specialist_skips_lower_tiers(self):
        specialist = self.make_expert("Special Sam", km=15.0, tier="specialist")
        job = self.make_job(crowd_min_tier="specialist")
        self.assertEqual(job.offer_ids.expert_id, specialist)

    def test_direct_specialist_policy(self):
        self.rule.tier_policy = "direct_specialist"
        specialist = self.make_expert("Special Sue", km=15.0, tier="specialist")
        job = self.make_job()
        self.assertEqual(job.offer_ids.expert_id, specialist)

    def test_required_skill_level(self):
        skilled = self.make_expert("Skilled Sven", km=10.0, level=self.level_expert)
        self.make_expert("Basic Bea", km=0.5, level=self.level_basic)
        job = self.make_job(
            crowd_required_skill_ids=[
                (0, 0, {"skill_id": self.skill.id, "min_level_id": self.level_expert.id}),
            ]
        )
        self.assertEqual(job.offer_ids.expert_id, skilled)

    def test_skill_levels_reach_the_engine_as_ranks(self):
        """Levels go to the engine as ranks within their type (Basic 30% -> 1, Expert 90% -> 2), so the
        surplus the engine explains is counted in levels, not in percentage points."""
        engine = self.env["crowd.dispatch.engine"]
        self.assertEqual(
            engine._level_ranks(self.level_basic | self.level_expert), {self.level_basic.id: 1, self.level_expert.id: 2}
        )
        skilled = self.make_expert("Skilled Sven", km=0.5, level=self.level_expert)
        job = self.make_job(
            crowd_required_skill_ids=[
                (0, 0, {"skill_id": self.skill.id, "min_level_id": self.level_basic.id}),
            ]
        )
        self.assertEqual(engine._required_levels(job), {self.skill.code: 1})
        self.assertEqual(engine._expert_skills(skilled.ids), {skilled.id: {self.skill.code: 2}})
        offer = job.offer_ids.filtered(lambda o: o.expert_id == skilled)
        self.assertIn("(+1 levels)", offer.explanation)

    def test_expired_certificate_is_never_offered(self):
        self.rule.write({"max_rounds": 5, "strategy": "sequential"})
        expired = self.make_expert("Expired Emil", km=0.2, cert_until=date(2026, 1, 31))
        revoked = self.make_expert("Revoked Rita", km=0.3, cert_until=date(2030, 1, 1), cert_state="revoked")
        valid = self.make_expert("Valid Vera", km=25.0, cert_until=date(2027, 12, 31))
        job = self.make_job(crowd_certificate_type_ids=[(6, 0, self.cert_type.ids)])
        offered = job.offer_ids.expert_id
        self.assertEqual(offered, valid)
        # through every round until escalation, neither the expired nor the revoked holder is offered
        for minute in (6, 12, 18, 24, 30):
            with self.at(minute):
                self.run_cron()
        self.assertNotIn(expired, job.offer_ids.expert_id)
        self.assertNotIn(revoked, job.offer_ids.expert_id)
        self.assertEqual(job.state, "escalated")

    def test_prefilter_radius_and_state(self):
        self.rule.max_radius_km = 10
        self.make_expert("Offline Otto", km=0.3, crowd_online=False)
        self.make_expert("Suspended Suse", km=0.4, crowd_state="suspended", crowd_state_reason="test")
        engine = self.env["crowd.dispatch.engine"]
        otto = self.env["res.partner"].search([("name", "=", "Offline Otto")])
        suse = self.env["res.partner"].search([("name", "=", "Suspended Suse")])
        job = self.make_job()
        ids = engine._candidate_ids(job, self.rule, self.now)
        self.assertIn(self.near.id, ids)
        self.assertIn(self.mid.id, ids)
        self.assertNotIn(self.far.id, ids, "20 km is outside the 10 km box")
        # the prefilter only narrows (active experts of the company in the box); every gate is the engine's
        mine = {self.near.id, self.mid.id, self.far.id, otto.id, suse.id}
        self.assertEqual(set(ids) & mine, {self.near.id, self.mid.id, otto.id})
        self.assertNotIn(otto, job.offer_ids.expert_id, "the engine's online gate keeps Otto out")

    def test_cost_ceiling_keeps_expensive_experts_out(self):
        self.near.crowd_cost_per_job = 300.0
        self.mid.crowd_cost_per_job = 90.0
        job = self.make_job(crowd_cost_ceiling=100.0)
        self.assertEqual(job.offer_ids.expert_id, self.mid | self.far)
        self.assertNotIn(self.near, job.offer_ids.expert_id)

    # ------------------------------------------------------------------ timers
    def test_expiry_and_next_round_by_cron(self):
        self.rule.strategy = "sequential"
        job = self.make_job()
        first = job.offer_ids
        self.assertEqual(first.expert_id, self.near)
        with self.at(4):
            self.assertEqual(self.run_cron(), 0, "nothing is due before the timeout")
            self.assertEqual(first.state, "pending")
        with self.at(5):
            self.run_cron()
            self.assertEqual(first.state, "expired")
            second = job.offer_ids - first
            self.assertEqual(second.expert_id, self.mid)
            self.assertEqual(second.round, 2)
            self.assertEqual(second.expires_at, self.now + timedelta(minutes=5))
            # idempotent: running again at the same moment changes nothing
            self.assertEqual(self.run_cron(), 0)
            self.assertEqual(job.offer_ids, first | second)
        with self.at(6):
            with self.assertRaisesRegex(UserError, "expired"):
                first.action_accept()

    def test_escalation_when_every_round_is_exhausted(self):
        self.rule.write({"strategy": "sequential", "max_rounds": 2})
        self.company.crowd_manager_id = self.dispatcher
        job = self.make_job()
        with self.at(5):
            self.run_cron()
        with self.at(10):
            self.run_cron()
        self.assertEqual(job.state, "escalated")
        self.assertEqual(job.escalated_at, self.now + timedelta(minutes=10))
        self.assertEqual(len(job.offer_ids), 2)
        self.assertEqual(set(job.offer_ids.mapped("state")), {"expired"})
        self.assertTrue(job.escalation_reason)
        self.assertEqual(job.activity_ids.user_id, self.dispatcher, "the crowd manager gets a To Do")
        # a dispatcher can start again: a new visit of the same request
        new_job = self.env["crowd.job"].browse(job.with_user(self.dispatcher).action_redispatch())
        self.assertEqual(job.state, "cancelled")
        self.assertEqual(new_job.request_id, job.request_id)
        self.assertEqual(new_job.state, "offered")
        self.assertEqual(job.request_id.crowd_job_id, new_job)

    def test_decline_then_next_round(self):
        self.rule.strategy = "sequential"
        job = self.make_job()
        first = job.offer_ids
        with self.at(1):
            first.with_user(self.dispatcher).action_decline("Too far")
            self.assertEqual(first.state, "declined")
            self.assertEqual(first.decline_reason, "Too far")
            self.assertEqual(job.next_check_at, self.now)
            self.run_cron()
            self.assertEqual((job.offer_ids - first).expert_id, self.mid)

    # ------------------------------------------------------------------ acceptance
    def test_accept_wins_once_and_withdraws_the_others(self):
        job = self.make_job()
        first, second = job.offer_ids.sorted("rank")
        with self.at(2):
            first.action_accept()
        self.assertEqual(first.state, "accepted")
        self.assertEqual(second.state, "withdrawn")
        self.assertEqual(job.state, "assigned")
        self.assertEqual(job.expert_id, self.near)
        self.assertEqual(job.assigned_at, self.now + timedelta(minutes=2))
        with self.assertRaisesRegex(UserError, "withdrawn"):
            second.action_accept()
        with self.assertRaisesRegex(UserError, "already accepted"):
            first.action_accept()
        self.assertEqual(job.offer_ids.filtered(lambda o: o.state == "accepted"), first)

    def test_database_refuses_a_second_accepted_offer(self):
        job = self.make_job()
        first, second = job.offer_ids.sorted("rank")
        first.action_accept()
        with self.assertRaises(psycopg2.errors.UniqueViolation), self.cr.savepoint():
            self.env.cr.execute(
                "UPDATE crowd_dispatch_offer SET state = 'accepted' WHERE id = %s", [second.id], log_exceptions=False
            )

    def test_internal_user_expert_becomes_technician(self):
        user = self.env["res.users"].create(
            {"name": "Own Tech", "login": "own_tech_t", "groups_id": [(6, 0, self.env.ref("base.group_user").ids)]}
        )
        self.near.crowd_user_id = user
        job = self.make_job()
        job.offer_ids.filtered(lambda o: o.expert_id == self.near).action_accept()
        self.assertEqual(job.request_id.user_id, user)

    # ------------------------------------------------------------------ visit lifecycle
    def _assigned_request(self):
        job = self.make_job()
        job.offer_ids.sorted("rank")[0].action_accept()
        return job

    def test_visit_lifecycle(self):
        job = self._assigned_request()
        calls = []
        Request = self.env.registry["crowd.job"]
        original = Request._crowd_on_done
        with patch.object(Request, "_crowd_on_done", lambda rec: calls.append(rec.id) or original(rec)):
            with self.at(3):
                job.action_en_route(12)
            self.assertEqual(job.state, "en_route")
            self.assertEqual(job.eta_at, self.now + timedelta(minutes=15))
            with self.at(4), self.assertRaisesRegex(ValidationError, "ETA"):
                job.action_en_route(60 * 24 + 1)
            self.assertEqual(job.eta_at, self.now + timedelta(minutes=15), "a refused ETA changes nothing")
            with self.at(14):
                far_lat, far_lon = offset(lat_km=3.0)
                job.action_check_in(far_lat, far_lon)
            self.assertEqual(job.state, "on_site")
            self.assertTrue(job.checkin_far)
            self.assertAlmostEqual(job.checkin_distance_km, 3.0, delta=0.1)
            self.assertAlmostEqual(job.time_to_door_min, 14.0)
            self.assertTrue(job.sla_met)
            attachment = self.env["ir.attachment"].create({"name": "photo.jpg", "raw": b"jpg"})
            job.action_report("<p>Replaced the door sensor.</p>", attachment_ids=attachment.ids)
            self.assertIn("door sensor", job.report)
            self.assertEqual(job.report_attachment_ids, attachment)
            with self.at(40):
                job.action_complete("Fixed")
            self.assertEqual(job.state, "done")
            self.assertEqual(job.done_at, self.now + timedelta(minutes=40))
            self.assertTrue(job.request_id.stage_id.done, "the request's stage follows its visit")
            with self.assertRaisesRegex(UserError, "cannot go from Done"):
                job.action_complete("again")
        self.assertEqual(calls, [job.id], "_crowd_on_done is called exactly once")
        self.assertEqual(self.near.crowd_kpi_jobs_done, 1)
        self.assertEqual(self.near.crowd_kpi_first_time_fix_rate, 100.0)
        self.assertEqual(self.near.crowd_kpi_on_time_rate, 100.0)

    def test_check_in_near_site_is_not_flagged(self):
        job = self._assigned_request()
        with self.assertRaisesRegex(UserError, "en route"):
            job.action_check_in(SITE[0] + 0.001, SITE[1])
        job.action_en_route(5)
        job.action_check_in(SITE[0] + 0.001, SITE[1])
        self.assertFalse(job.checkin_far)

    def test_invalid_transitions_are_refused(self):
        job = self.make_job()
        with self.assertRaisesRegex(UserError, "en route"):
            job.action_check_in(*SITE)
        with self.assertRaisesRegex(UserError, "cannot go from Offered to Done"):
            job.action_complete("nope")
        with self.assertRaisesRegex(UserError, "cannot go from Offered to En Route"):
            job.action_en_route(10)
        with self.assertRaises(ValidationError):
            job.action_check_in(123.0, 8.0)
        with self.assertRaisesRegex(UserError, "Say why"):
            job.action_cancel("")
        job.action_cancel("Customer fixed it")
        self.assertEqual(job.state, "cancelled")
        self.assertEqual(set(job.offer_ids.mapped("state")), {"withdrawn"})
        with self.assertRaisesRegex(UserError, "cannot be re-dispatched"):
            job.action_redispatch()
        with self.assertRaisesRegex(UserError, "Re-dispatch"):
            job.action_dispatch()

    def test_only_the_expert_or_a_dispatcher_drives_the_visit(self):
        job = self._assigned_request()
        stranger = self.env["res.users"].create(
            {
                "name": "Stranger",
                "login": "stranger_t",
                "groups_id": [(6, 0, self.env.ref("maintenance.group_equipment_manager").ids)],
            }
        )
        with self.assertRaises(AccessError):
            job.with_user(stranger).action_en_route(5)
        with self.assertRaises(AccessError):
            job.with_user(stranger).action_dispatch()
        job.with_user(self.dispatcher).action_en_route(5)
        self.assertEqual(job.state, "en_route")

    def test_escalate_to_specialist(self):
        responder = self.make_expert("Fast Fiona", km=0.1, tier="first_responder", level=self.level_basic)
        specialist = self.make_expert("Special Sam", km=15.0, tier="specialist", level=self.level_expert)
        self.make_expert("Basic Bob", km=1.0, tier="specialist", level=self.level_basic)
        self.rule.tier_policy = "first_responder_first"
        job = self.make_job(
            crowd_cost_ceiling=250.0,
            crowd_required_skill_ids=[(0, 0, {"skill_id": self.skill.id, "min_level_id": self.level_basic.id})],
        )
        job.offer_ids.filtered(lambda o: o.expert_id == responder).action_accept()
        job.action_en_route(3)
        job.action_check_in(*SITE)
        with self.assertRaisesRegex(UserError, "diagnosis"):
            job.action_escalate_specialist("")
        followup_id = job.action_escalate_specialist(
            "Drive board burnt; needs a board swap", required_skills={self.skill.id: self.level_expert.id}
        )
        followup = self.env["crowd.job"].browse(followup_id)
        self.assertEqual(followup.request_id, job.request_id, "the customer keeps one ticket")
        self.assertEqual(followup.kind, "specialist")
        self.assertEqual(followup.parent_job_id, job)
        self.assertEqual(followup.parent_job_id, job)
        self.assertEqual(job.followup_ids, followup)
        self.assertEqual(followup.min_tier, "specialist")
        self.assertIn("board swap", followup.diagnosis)
        self.assertEqual(followup.cost_ceiling, 250.0)
        # the diagnosis raised the required level from basic to expert (merged by the engine)
        self.assertEqual(
            [(line.skill_id, line.min_level_id) for line in followup.required_skill_ids],
            [(self.skill, self.level_expert)],
        )
        self.assertEqual(job.required_skill_ids.min_level_id, self.level_basic, "the parent is unchanged")
        self.assertEqual(job.state, "done")
        self.assertEqual(followup.state, "offered")
        self.assertEqual(followup.offer_ids.expert_id, specialist)
        self.assertEqual(responder.crowd_kpi_first_time_fix_rate, 0.0)

    def test_redispatch_releases_the_expert(self):
        job = self._assigned_request()
        new_job = self.env["crowd.job"].browse(job.action_redispatch())
        self.assertEqual(job.state, "cancelled")
        self.assertFalse(job.offer_ids.filtered(lambda o: o.state == "accepted"), "the acceptance is withdrawn")
        self.assertFalse(new_job.expert_id)
        self.assertEqual(new_job.state, "offered")
        self.assertEqual(job.request_id.crowd_job_ids, job | new_job)
        self.assertFalse(job.request_id.archive, "a request with an open visit is not archived")

    # ------------------------------------------------------------------ wizard, kpis, report
    def test_assign_wizard_suggests_with_explanations(self):
        self.rule.auto_dispatch = False
        job = self.make_job()
        action = job.with_user(self.dispatcher).action_assign_wizard()
        wizard_form = Form(self.env["crowd.assign.wizard"].with_user(self.dispatcher).with_context(**action["context"]))
        wizard = wizard_form.save()
        self.assertEqual(wizard.line_ids.sorted("sequence")[0].expert_id, self.near)
        self.assertTrue(all(wizard.line_ids.mapped("explanation")))
        wizard.line_ids.filtered(lambda line: line.expert_id == self.mid).action_choose()
        self.assertEqual(job.expert_id, self.mid)
        self.assertEqual(job.state, "assigned")

    def test_kpis_and_report(self):
        job = self.make_job()
        first, second = job.offer_ids.sorted("rank")
        second.action_decline("no")
        first.action_accept()
        with self.at(30):
            job.action_en_route(1)
            job.action_check_in(*SITE)
        self.assertEqual(self.near.crowd_kpi_acceptance_rate, 100.0)
        self.assertEqual(self.mid.crowd_kpi_acceptance_rate, 0.0)
        self.assertEqual(self.near.crowd_kpi_offer_count, 1)
        self.env.flush_all()
        line = self.env["crowd.dispatch.report"].search([("job_id", "=", job.id)])
        self.assertEqual((line.expert_pool, line.within_60_count, line.within_60_share), ("crowd", 1, 100.0))
        groups = self.env["crowd.dispatch.report"]._read_group(
            [("job_id", "=", job.id)], ["date:day", "category_id", "expert_pool"], ["within_60_share:avg"]
        )
        self.assertEqual(groups[0][1:], (self.category, "crowd", 100.0))
