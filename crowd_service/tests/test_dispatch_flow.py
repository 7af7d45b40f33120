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
            request = self.make_request()
        self.assertEqual(request.crowd_dispatch_state, "offered")
        self.assertEqual(request.crowd_dispatched_at, self.now)
        self.assertEqual(request.crowd_offered_at, self.now)
        offers = request.crowd_offer_ids
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
        self.assertEqual(first.expected_pay, request._crowd_expected_pay(first.expert_id))
        self.assertEqual(request.crowd_next_check_at, first.expires_at)
        # the expert's phone hears about it on the Odoo bus at once
        self.assertIn((self.near.id, "crowd_offer", first.id), sent)
        # the expert is told in the chatter, by the notification cron right after the dispatch
        self.assertTrue(all(offers.mapped("mail_pending")))
        self.assertFalse(request.message_ids.filtered(lambda m: self.near in m.partner_ids))
        self.assertGreaterEqual(self.env["crowd.dispatch.offer"]._cron_crowd_offer_notify(), 2)
        messages = request.message_ids.filtered(lambda m: self.near in m.partner_ids)
        self.assertEqual(len(messages), 1, "the expert is a recipient of an offer message")
        self.assertIn("Nina", messages.body)
        self.assertFalse(any(offers.mapped("mail_pending")))
        self.assertEqual(self.env["crowd.dispatch.offer"]._cron_crowd_offer_notify(), 0, "idempotent")

    def test_no_auto_dispatch_without_flag(self):
        self.rule.auto_dispatch = False
        request = self.make_request()
        self.assertEqual(request.crowd_dispatch_state, "new")
        self.assertFalse(request.crowd_offer_ids)
        request.with_user(self.dispatcher).action_crowd_dispatch()
        self.assertEqual(request.crowd_dispatch_state, "offered")
        self.assertEqual(len(request.crowd_offer_ids), 2)

    def test_dispatch_refused_without_site_position(self):
        self.rule.auto_dispatch = False
        request = self.make_request(crowd_latitude=0.0, crowd_longitude=0.0)
        with self.assertRaisesRegex(UserError, "site position"):
            request.action_crowd_dispatch()

    def test_sequential_strategy_offers_one_at_a_time(self):
        self.rule.strategy = "sequential"
        request = self.make_request()
        self.assertEqual(request.crowd_offer_ids.expert_id, self.near)

    # ------------------------------------------------------------------ cascade and limits
    def test_cascade_opens_pools_after_their_delay(self):
        self.rule.write(
            {"partner_delay_min": 10, "crowd_delay_min": 20, "strategy": "broadcast", "top_n": 3, "max_rounds": 5}
        )
        own = self.make_expert("Own Olga", km=8.0, kind="employee")
        partner = self.make_expert("Partner Paul", km=9.0, kind="partner")
        request = self.make_request()
        self.assertEqual(request.crowd_offer_ids.expert_id, own, "only the own pool is open at creation")
        with self.at(3):
            request.crowd_offer_ids.action_decline("busy")
        with self.at(4):
            self.run_cron()
            # nobody else in the own pool: wait for the partner pool to open at +10
            self.assertFalse(request.crowd_offer_ids.filtered(lambda o: o.state == "pending"))
            self.assertEqual(request.crowd_next_check_at, self.now.replace(minute=10))
        with self.at(10):
            self.run_cron()
            pending = request.crowd_offer_ids.filtered(lambda o: o.state == "pending")
            self.assertEqual(pending.expert_id, partner)
            pending.action_decline()
        with self.at(12):
            self.run_cron()
            self.assertFalse(request.crowd_offer_ids.filtered(lambda o: o.state == "pending"))
        with self.at(20):
            self.run_cron()
            pending = request.crowd_offer_ids.filtered(lambda o: o.state == "pending")
            self.assertEqual(pending.expert_id, self.near | self.mid | self.far)

    def test_tier_policy_first_responder_first(self):
        self.rule.tier_policy = "first_responder_first"
        responder = self.make_expert("Fast Fiona", km=12.0, tier="first_responder")
        request = self.make_request()
        self.assertEqual(request.crowd_offer_ids.expert_id, responder, "first responders are offered first")

    def test_min_tier_specialist_skips_lower_tiers(self):
        specialist = self.make_expert("Special Sam", km=15.0, tier="specialist")
        request = self.make_request(crowd_min_tier="specialist")
        self.assertEqual(request.crowd_offer_ids.expert_id, specialist)

    def test_direct_specialist_policy(self):
        self.rule.tier_policy = "direct_specialist"
        specialist = self.make_expert("Special Sue", km=15.0, tier="specialist")
        request = self.make_request()
        self.assertEqual(request.crowd_offer_ids.expert_id, specialist)

    def test_required_skill_level(self):
        skilled = self.make_expert("Skilled Sven", km=10.0, level=self.level_expert)
        self.make_expert("Basic Bea", km=0.5, level=self.level_basic)
        request = self.make_request(
            crowd_required_skill_ids=[
                (0, 0, {"skill_id": self.skill.id, "min_level_id": self.level_expert.id}),
            ]
        )
        self.assertEqual(request.crowd_offer_ids.expert_id, skilled)

    def test_skill_levels_reach_the_engine_as_ranks(self):
        """Levels go to the engine as ranks within their type (Basic 30% -> 1, Expert 90% -> 2), so the
        surplus the engine explains is counted in levels, not in percentage points."""
        engine = self.env["crowd.dispatch.engine"]
        self.assertEqual(
            engine._level_ranks(self.level_basic | self.level_expert), {self.level_basic.id: 1, self.level_expert.id: 2}
        )
        skilled = self.make_expert("Skilled Sven", km=0.5, level=self.level_expert)
        request = self.make_request(
            crowd_required_skill_ids=[
                (0, 0, {"skill_id": self.skill.id, "min_level_id": self.level_basic.id}),
            ]
        )
        self.assertEqual(engine._required_levels(request), {self.skill.code: 1})
        self.assertEqual(engine._expert_skills(skilled.ids), {skilled.id: {self.skill.code: 2}})
        offer = request.crowd_offer_ids.filtered(lambda o: o.expert_id == skilled)
        self.assertIn("(+1 levels)", offer.explanation)

    def test_expired_certificate_is_never_offered(self):
        self.rule.write({"max_rounds": 5, "strategy": "sequential"})
        expired = self.make_expert("Expired Emil", km=0.2, cert_until=date(2026, 1, 31))
        revoked = self.make_expert("Revoked Rita", km=0.3, cert_until=date(2030, 1, 1), cert_state="revoked")
        valid = self.make_expert("Valid Vera", km=25.0, cert_until=date(2027, 12, 31))
        request = self.make_request(crowd_certificate_type_ids=[(6, 0, self.cert_type.ids)])
        offered = request.crowd_offer_ids.expert_id
        self.assertEqual(offered, valid)
        # through every round until escalation, neither the expired nor the revoked holder is offered
        for minute in (6, 12, 18, 24, 30):
            with self.at(minute):
                self.run_cron()
        self.assertNotIn(expired, request.crowd_offer_ids.expert_id)
        self.assertNotIn(revoked, request.crowd_offer_ids.expert_id)
        self.assertEqual(request.crowd_dispatch_state, "escalated")

    def test_prefilter_radius_and_state(self):
        self.rule.max_radius_km = 10
        self.make_expert("Offline Otto", km=0.3, crowd_online=False)
        self.make_expert("Suspended Suse", km=0.4, crowd_state="suspended", crowd_state_reason="test")
        engine = self.env["crowd.dispatch.engine"]
        request = self.make_request()
        ids = engine._candidate_ids(request, self.rule, self.now)
        self.assertIn(self.near.id, ids)
        self.assertIn(self.mid.id, ids)
        self.assertNotIn(self.far.id, ids, "20 km is outside the 10 km box")
        self.assertEqual(set(ids), {self.near.id, self.mid.id})

    def test_cost_ceiling_keeps_expensive_experts_out(self):
        self.near.crowd_cost_per_job = 300.0
        self.mid.crowd_cost_per_job = 90.0
        request = self.make_request(crowd_cost_ceiling=100.0)
        self.assertEqual(request.crowd_offer_ids.expert_id, self.mid | self.far)
        self.assertNotIn(self.near, request.crowd_offer_ids.expert_id)

    # ------------------------------------------------------------------ timers
    def test_expiry_and_next_round_by_cron(self):
        self.rule.strategy = "sequential"
        request = self.make_request()
        first = request.crowd_offer_ids
        self.assertEqual(first.expert_id, self.near)
        with self.at(4):
            self.assertEqual(self.run_cron(), 0, "nothing is due before the timeout")
            self.assertEqual(first.state, "pending")
        with self.at(5):
            self.run_cron()
            self.assertEqual(first.state, "expired")
            second = request.crowd_offer_ids - first
            self.assertEqual(second.expert_id, self.mid)
            self.assertEqual(second.round, 2)
            self.assertEqual(second.expires_at, self.now + timedelta(minutes=5))
            # idempotent: running again at the same moment changes nothing
            self.assertEqual(self.run_cron(), 0)
            self.assertEqual(request.crowd_offer_ids, first | second)
        with self.at(6):
            with self.assertRaisesRegex(UserError, "expired"):
                first.action_accept()

    def test_escalation_when_every_round_is_exhausted(self):
        self.rule.write({"strategy": "sequential", "max_rounds": 2})
        self.company.crowd_manager_id = self.dispatcher
        request = self.make_request()
        with self.at(5):
            self.run_cron()
        with self.at(10):
            self.run_cron()
        self.assertEqual(request.crowd_dispatch_state, "escalated")
        self.assertEqual(request.crowd_escalated_at, self.now + timedelta(minutes=10))
        self.assertEqual(len(request.crowd_offer_ids), 2)
        self.assertEqual(set(request.crowd_offer_ids.mapped("state")), {"expired"})
        self.assertTrue(request.crowd_escalation_reason)
        self.assertEqual(request.activity_ids.user_id, self.dispatcher, "the crowd manager gets a To Do")
        # a dispatcher can start again
        request.with_user(self.dispatcher).action_crowd_redispatch()
        self.assertEqual(request.crowd_dispatch_cycle, 2)
        self.assertEqual(request.crowd_dispatch_state, "offered")

    def test_decline_then_next_round(self):
        self.rule.strategy = "sequential"
        request = self.make_request()
        first = request.crowd_offer_ids
        with self.at(1):
            first.with_user(self.dispatcher).action_decline("Too far")
            self.assertEqual(first.state, "declined")
            self.assertEqual(first.decline_reason, "Too far")
            self.assertEqual(request.crowd_next_check_at, self.now)
            self.run_cron()
            self.assertEqual((request.crowd_offer_ids - first).expert_id, self.mid)

    # ------------------------------------------------------------------ acceptance
    def test_accept_wins_once_and_withdraws_the_others(self):
        request = self.make_request()
        first, second = request.crowd_offer_ids.sorted("rank")
        with self.at(2):
            first.action_accept()
        self.assertEqual(first.state, "accepted")
        self.assertEqual(second.state, "withdrawn")
        self.assertEqual(request.crowd_dispatch_state, "assigned")
        self.assertEqual(request.crowd_expert_id, self.near)
        self.assertEqual(request.crowd_assigned_at, self.now + timedelta(minutes=2))
        with self.assertRaisesRegex(UserError, "withdrawn"):
            second.action_accept()
        with self.assertRaisesRegex(UserError, "already accepted"):
            first.action_accept()
        self.assertEqual(request.crowd_offer_ids.filtered(lambda o: o.state == "accepted"), first)

    def test_database_refuses_a_second_accepted_offer(self):
        request = self.make_request()
        first, second = request.crowd_offer_ids.sorted("rank")
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
        request = self.make_request()
        request.crowd_offer_ids.filtered(lambda o: o.expert_id == self.near).action_accept()
        self.assertEqual(request.user_id, user)

    # ------------------------------------------------------------------ visit lifecycle
    def _assigned_request(self):
        request = self.make_request()
        request.crowd_offer_ids.sorted("rank")[0].action_accept()
        return request

    def test_visit_lifecycle(self):
        request = self._assigned_request()
        calls = []
        Request = self.env.registry["maintenance.request"]
        original = Request._crowd_on_done
        with patch.object(Request, "_crowd_on_done", lambda rec: calls.append(rec.id) or original(rec)):
            with self.at(3):
                request.action_crowd_en_route(12)
            self.assertEqual(request.crowd_dispatch_state, "en_route")
            self.assertEqual(request.crowd_eta_at, self.now + timedelta(minutes=15))
            with self.at(14):
                far_lat, far_lon = offset(lat_km=3.0)
                request.action_crowd_check_in(far_lat, far_lon)
            self.assertEqual(request.crowd_dispatch_state, "on_site")
            self.assertTrue(request.crowd_checkin_far)
            self.assertAlmostEqual(request.crowd_checkin_distance_km, 3.0, delta=0.1)
            self.assertAlmostEqual(request.crowd_time_to_door_min, 14.0)
            self.assertTrue(request.crowd_sla_met)
            attachment = self.env["ir.attachment"].create({"name": "photo.jpg", "raw": b"jpg"})
            request.action_crowd_report("<p>Replaced the door sensor.</p>", attachment_ids=attachment.ids)
            self.assertIn("door sensor", request.crowd_report)
            self.assertEqual(request.crowd_report_attachment_ids, attachment)
            with self.at(40):
                request.action_crowd_complete("Fixed")
            self.assertEqual(request.crowd_dispatch_state, "done")
            self.assertEqual(request.crowd_done_at, self.now + timedelta(minutes=40))
            self.assertTrue(request.stage_id.done)
            with self.assertRaisesRegex(UserError, "cannot go from Done"):
                request.action_crowd_complete("again")
        self.assertEqual(calls, [request.id], "_crowd_on_done is called exactly once")
        self.assertEqual(self.near.crowd_kpi_jobs_done, 1)
        self.assertEqual(self.near.crowd_kpi_first_time_fix_rate, 100.0)
        self.assertEqual(self.near.crowd_kpi_on_time_rate, 100.0)

    def test_check_in_near_site_is_not_flagged(self):
        request = self._assigned_request()
        request.action_crowd_check_in(SITE[0] + 0.001, SITE[1])
        self.assertFalse(request.crowd_checkin_far)

    def test_invalid_transitions_are_refused(self):
        request = self.make_request()
        with self.assertRaisesRegex(UserError, "cannot go from Offered to On Site"):
            request.action_crowd_check_in(*SITE)
        with self.assertRaisesRegex(UserError, "cannot go from Offered to Done"):
            request.action_crowd_complete("nope")
        with self.assertRaisesRegex(UserError, "cannot go from Offered to En Route"):
            request.action_crowd_en_route(10)
        with self.assertRaises(ValidationError):
            request.action_crowd_check_in(123.0, 8.0)
        with self.assertRaisesRegex(UserError, "Say why"):
            request.action_crowd_cancel("")
        request.action_crowd_cancel("Customer fixed it")
        self.assertEqual(request.crowd_dispatch_state, "cancelled")
        self.assertEqual(set(request.crowd_offer_ids.mapped("state")), {"withdrawn"})
        with self.assertRaisesRegex(UserError, "cannot be re-dispatched"):
            request.action_crowd_redispatch()
        with self.assertRaisesRegex(UserError, "Re-dispatch"):
            request.action_crowd_dispatch()

    def test_only_the_expert_or_a_dispatcher_drives_the_visit(self):
        request = self._assigned_request()
        stranger = self.env["res.users"].create(
            {
                "name": "Stranger",
                "login": "stranger_t",
                "groups_id": [(6, 0, self.env.ref("maintenance.group_equipment_manager").ids)],
            }
        )
        with self.assertRaises(AccessError):
            request.with_user(stranger).action_crowd_en_route(5)
        with self.assertRaises(AccessError):
            request.with_user(stranger).action_crowd_dispatch()
        request.with_user(self.dispatcher).action_crowd_en_route(5)
        self.assertEqual(request.crowd_dispatch_state, "en_route")

    def test_escalate_to_specialist(self):
        responder = self.make_expert("Fast Fiona", km=0.1, tier="first_responder", level=self.level_basic)
        specialist = self.make_expert("Special Sam", km=15.0, tier="specialist", level=self.level_expert)
        self.make_expert("Basic Bob", km=1.0, tier="specialist", level=self.level_basic)
        self.rule.tier_policy = "first_responder_first"
        request = self.make_request(
            crowd_cost_ceiling=250.0,
            crowd_required_skill_ids=[(0, 0, {"skill_id": self.skill.id, "min_level_id": self.level_basic.id})],
        )
        request.crowd_offer_ids.filtered(lambda o: o.expert_id == responder).action_accept()
        request.action_crowd_check_in(*SITE)
        with self.assertRaisesRegex(UserError, "diagnosis"):
            request.action_crowd_escalate_specialist("")
        followup = request.action_crowd_escalate_specialist(
            "Drive board burnt; needs a board swap", required_skills={self.skill.id: self.level_expert.id}
        )
        self.assertEqual(followup.crowd_parent_request_id, request)
        self.assertEqual(request.crowd_followup_ids, followup)
        self.assertEqual(followup.crowd_min_tier, "specialist")
        self.assertIn("board swap", followup.crowd_diagnosis)
        self.assertEqual(followup.crowd_cost_ceiling, 250.0)
        # the diagnosis raised the required level from basic to expert (merged by the engine)
        self.assertEqual(
            [(line.skill_id, line.min_level_id) for line in followup.crowd_required_skill_ids],
            [(self.skill, self.level_expert)],
        )
        self.assertEqual(request.crowd_required_skill_ids.min_level_id, self.level_basic, "the parent is unchanged")
        self.assertEqual(request.crowd_dispatch_state, "done")
        self.assertEqual(followup.crowd_dispatch_state, "offered")
        self.assertEqual(followup.crowd_offer_ids.expert_id, specialist)
        self.assertEqual(responder.crowd_kpi_first_time_fix_rate, 0.0)

    def test_redispatch_releases_the_expert(self):
        request = self._assigned_request()
        request.action_crowd_redispatch()
        self.assertFalse(request.crowd_expert_id)
        self.assertEqual(request.crowd_dispatch_state, "offered")
        self.assertEqual(request.crowd_dispatch_cycle, 2)
        self.assertFalse(request.crowd_offer_ids.filtered(lambda o: o.state == "accepted"))

    # ------------------------------------------------------------------ wizard, kpis, report
    def test_assign_wizard_suggests_with_explanations(self):
        self.rule.auto_dispatch = False
        request = self.make_request()
        action = request.with_user(self.dispatcher).action_crowd_assign_wizard()
        wizard_form = Form(self.env["crowd.assign.wizard"].with_user(self.dispatcher).with_context(**action["context"]))
        wizard = wizard_form.save()
        self.assertEqual(wizard.line_ids.sorted("sequence")[0].expert_id, self.near)
        self.assertTrue(all(wizard.line_ids.mapped("explanation")))
        wizard.line_ids.filtered(lambda line: line.expert_id == self.mid).action_choose()
        self.assertEqual(request.crowd_expert_id, self.mid)
        self.assertEqual(request.crowd_dispatch_state, "assigned")

    def test_kpis_and_report(self):
        request = self.make_request()
        first, second = request.crowd_offer_ids.sorted("rank")
        second.action_decline("no")
        first.action_accept()
        with self.at(30):
            request.action_crowd_check_in(*SITE)
        self.assertEqual(self.near.crowd_kpi_acceptance_rate, 100.0)
        self.assertEqual(self.mid.crowd_kpi_acceptance_rate, 0.0)
        self.assertEqual(self.near.crowd_kpi_offer_count, 1)
        self.env.flush_all()
        line = self.env["crowd.dispatch.report"].search([("request_id", "=", request.id)])
        self.assertEqual((line.expert_pool, line.within_60_count, line.within_60_share), ("crowd", 1, 100.0))
        groups = self.env["crowd.dispatch.report"]._read_group(
            [("request_id", "=", request.id)], ["date:day", "category_id", "expert_pool"], ["within_60_share:avg"]
        )
        self.assertEqual(groups[0][1:], (self.category, "crowd", 100.0))
