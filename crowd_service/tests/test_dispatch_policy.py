"""The engine's dispatch policy inside Odoo: look-ahead, staggered offers, deferral, SLA widening,
withdrawal on acceptance, the dispatcher's override, why a job waits, and the rule's settings.

The clock is the test's (``crowd.job._crowd_now`` patched, see common_dispatch); the dispatch cron is
run by hand at the moments its triggers ask for.
"""

from dataclasses import asdict
from dataclasses import fields as dataclass_fields
from datetime import timedelta
from unittest.mock import patch

import psycopg2
from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from crowd_dispatch import DEFAULT_WEIGHTS, Weights, simulate
from crowd_dispatch import policy as engine_policy
from crowd_dispatch.policy import DispatchSettings, settings_table
from crowd_dispatch.scenario import validate as validate_scenario

from .common_dispatch import T0, CrowdDispatchCase, offset

LEVERS_ON = dict.fromkeys(CrowdDispatchCase.LEVERS_OFF, True)


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestDispatchPolicy(CrowdDispatchCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.tz = "UTC"
        # the policy's defaults, one offer at a time so that every offer is the policy's choice
        cls.rule.write(dict(LEVERS_ON, strategy="sequential", offer_timeout_min=10, max_rounds=5))
        # visits elsewhere keep experts busy: equipment no rule dispatches
        cls.pump = cls.env["maintenance.equipment"].create({"name": "Pump 3", "category_id": cls.other_category.id})

    # ------------------------------------------------------------------ helpers
    def expert(self, name, km, **vals):
        """An expert ``km`` north of the site who takes one job at a time."""
        return self.make_expert(name, km=km, crowd_max_jobs=1, **vals)

    def busy(self, expert, km, ends_in_min):
        """``expert`` is on site of a visit ``km`` north of our site that ends ``ends_in_min`` from now."""
        lat, lon = offset(lat_km=km)
        request = self.make_request(
            name=f"Visit of {expert.name}", priority="2", equipment=self.pump, crowd_latitude=lat, crowd_longitude=lon
        )
        visit = request.crowd_job_ids
        self.assertFalse(visit.rule_id, "no rule dispatches the other visits")
        visit._crowd_assign_manual(expert)
        visit.action_en_route(0)
        visit.action_check_in(lat, lon)
        visit.planned_duration_min = ends_in_min
        self.assertEqual(visit.planned_end_at, self.now + timedelta(minutes=ends_in_min))
        return visit

    def job(self, priority="3", sla_min=60, **vals):
        return self.make_job(priority=priority, crowd_sla_deadline=self.now + timedelta(minutes=sla_min), **vals)

    def pending(self, job):
        return job.offer_ids.filtered(lambda o: o.state == "pending")

    # ------------------------------------------------------------------ the rule's settings
    def test_every_engine_setting_is_a_rule_field(self):
        """New levers of the engine cannot be forgotten: each one is a rule field of the same name, with the
        engine's default and doc, shown on the rule's Dispatch policy page and handed back to the engine."""
        Rule = self.env["crowd.dispatch.rule"]
        form = etree.fromstring(self.env.ref("crowd_service.crowd_dispatch_rule_view_form").arch)
        page = form.xpath("//page[@name='dispatch_policy']")
        self.assertTrue(page, "the rule form has a Dispatch policy page")
        shown = set(page[0].xpath(".//field/@name"))
        rule = Rule.create({"name": "Defaults"})
        for row in settings_table():
            name = row["name"]
            self.assertIn(name, Rule._fields, f"the engine setting {name} has no rule field")
            field = Rule._fields[name]
            self.assertEqual(field.help, row["doc"])
            self.assertEqual(rule[name], row["default"], f"{name}: the engine's default")
            self.assertIn(name, shown, f"{name} is not on the Dispatch policy page")
        self.assertEqual(rule._dispatch_settings(), DispatchSettings())
        self.assertEqual(
            {f.name for f in dataclass_fields(DispatchSettings)}, {row["name"] for row in settings_table()}
        )
        self.rule.write({"lookahead_horizon_min": 30.0, "stagger_max_open": 2, "defer": False})
        settings = self.rule._dispatch_settings()
        self.assertEqual((settings.lookahead_horizon_min, settings.stagger_max_open, settings.defer), (30.0, 2, False))

    def test_default_weights_are_the_engines_and_the_simulators(self):
        """One policy: a new rule ranks with the engine's DEFAULT_WEIGHTS, the weights the simulator's ``ours``
        ranks with (and was measured with); a rule may still set its own."""
        Rule = self.env["crowd.dispatch.rule"]
        engine = self.env["crowd.dispatch.engine"]
        rule = Rule.create({"name": "Defaults"})
        self.assertEqual(rule._weights_dict(), asdict(DEFAULT_WEIGHTS))
        self.assertEqual(engine._policy(rule).weights, DEFAULT_WEIGHTS)
        self.assertEqual(DEFAULT_WEIGHTS, Weights())
        scenario = validate_scenario(
            {"region": {"center": [46.95, 7.45], "radius_km": 20}, "skills": ["router", "fiber"]}
        )
        self.assertEqual(simulate.ours_policy(scenario).weights, DEFAULT_WEIGHTS)
        for demo in ("crowd_dispatch_rule_demo_urgent", "crowd_dispatch_rule_demo_default"):
            demo_rule = self.env.ref(f"crowd_service.{demo}", raise_if_not_found=False)
            if demo_rule:  # installed with demo data: the demo rules keep the policy's weights
                self.assertEqual(demo_rule._weights_dict(), asdict(DEFAULT_WEIGHTS), demo)
        rule.write({"weight_travel": 0.35, "weight_rating": 0.15})
        own = Weights(**dict(asdict(DEFAULT_WEIGHTS), travel=0.35, rating=0.15))
        self.assertEqual(engine._policy(rule).weights, own)

    def test_rule_settings_are_bounded(self):
        before = self.rule.read(["lookahead_horizon_min", "prior_acceptance", "stagger_max_open", "asset_weight"])
        for name, value in (
            ("lookahead_horizon_min", 241.0),
            ("lookahead_horizon_min", -1.0),
            ("prior_acceptance", 1.5),
            ("stagger_max_open", 0),
            ("asset_weight", 601.0),
            ("defer_max_priority", 4),
        ):
            with self.assertRaisesRegex(ValidationError, "must be between"), self.cr.savepoint():
                self.rule.write({name: value})
        self.rule.invalidate_recordset()
        self.assertEqual(
            self.rule.read(["lookahead_horizon_min", "prior_acceptance", "stagger_max_open", "asset_weight"]), before
        )
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.env["crowd.dispatch.rule"].create({"name": "Bad", "stagger_min_free_share": 2.0})
        self.assertFalse(self.env["crowd.dispatch.rule"].search([("name", "=", "Bad")]))
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.errors.CheckViolation), self.cr.savepoint():
            self.rule.write({"planned_duration_min": 0})
        self.rule.invalidate_recordset()
        self.assertEqual(self.rule.planned_duration_min, 60.0)

    # ------------------------------------------------------------------ planned end, busy experts
    def test_planned_duration_and_busy_expert_in_the_pool(self):
        self.assertEqual(self.job().planned_duration_min, 60.0, "the rule's planned visit")
        self.rule.planned_duration_min = 45.0
        self.assertEqual(self.job().planned_duration_min, 45.0)
        self.assertEqual(self.job(duration=2.0).planned_duration_min, 120.0, "the request's duration (hours)")
        # an expert on a visit is in the pool at its site, busy until its planned end
        ben = self.expert("Busy Ben", km=20.0)
        visit = self.busy(ben, km=1.0, ends_in_min=10)
        engine = self.env["crowd.dispatch.engine"]
        job = self.job()
        rows = engine._candidate_rows(job, self.rule, self.now)
        (expert,) = [e for e in engine._experts(rows, self.now) if e.id == ben.id]
        self.assertEqual(expert.busy_until, self.now + timedelta(minutes=10))
        self.assertAlmostEqual(expert.lat, visit.latitude, places=6)
        self.assertEqual(expert.load, 0, "free again at the planned end")
        # past its planned end and not done: a few minutes from now
        with self.at(30) as now:
            (expert,) = [e for e in engine._experts(rows, now) if e.id == ben.id]
            self.assertEqual(expert.busy_until, now + timedelta(minutes=5))

    def test_a_visit_planned_for_later_is_not_work_in_hand(self):
        """An expert whose only visit is assigned for tomorrow (a planned day) is free for today's urgent job;
        a visit assigned to start within the hour keeps them busy until its planned end."""
        self.expert("Far Fred", km=25.0)
        tia = self.expert("Planned Tia", km=2.0)
        planned = self.make_request(name="Service of Pump 3", priority="1", equipment=self.pump).crowd_job_ids
        planned._crowd_assign_manual(tia)
        planned.eta_at = self.now + timedelta(days=1)
        engine = self.env["crowd.dispatch.engine"]
        settings = DispatchSettings(one_open_offer_per_expert=False)
        state, _recent = engine._expert_stats(tia.ids, self.now, settings)
        self.assertFalse(state.get(tia.id, {}).get("load"), "tomorrow's visit is not today's load")
        self.assertFalse(state.get(tia.id, {}).get("busy_until"))
        job = self.job()
        self.assertEqual(self.pending(job).expert_id, tia, "the urgent job goes to her, the nearest")
        # the same visit starting in 30 minutes is work in hand: she is busy until its planned end
        planned.eta_at = self.now + timedelta(minutes=30)
        state, _recent = engine._expert_stats(tia.ids, self.now, settings)
        self.assertEqual(state[tia.id]["busy_until"], planned.planned_end_at)

    # ------------------------------------------------------------------ look-ahead
    def test_lookahead_waits_for_an_expert_finishing_nearby(self):
        fay = self.expert("Free Fay", km=30.0)  # about 59 min away
        ben = self.expert("Busy Ben", km=20.0)
        visit = self.busy(ben, km=1.0, ends_in_min=10)  # done in 10 min, 2 min away from then
        job = self.job()
        self.assertFalse(job.offer_ids, "nobody is offered while the job waits for Ben")
        self.assertEqual(job.wait_code, "lookahead")
        self.assertEqual(job.waiting_expert_id, ben)
        self.assertEqual(job.wait_until, self.now + timedelta(minutes=10))
        self.assertEqual(job.next_check_at, self.now + timedelta(minutes=10))
        self.assertRegex(
            job.wait_reason,
            r"^Waiting 10 min for an expert finishing nearby: \d+ min sooner than the best free one\.$",
        )
        gain = job.wait_params["gain_min"]
        self.assertGreater(gain, 40)
        self.assertIn(f"{round(gain)} min sooner", job.wait_reason)
        with self.at(4):
            job.invalidate_recordset(["wait_reason"])
            self.assertTrue(job.wait_reason.startswith("Waiting 6 min"), "the minutes left")
        # another job does not wait for the same expert: Ben is reserved
        other = self.job(name="Second lift")
        self.assertNotEqual(other.waiting_expert_id, ben)
        self.assertEqual(other.offer_ids.expert_id, fay)
        # Ben finishes early: the waiting job is decided again at once (triggered, not polled)
        with self.at(8):
            visit.action_complete()
            self.assertEqual(job.next_check_at, self.now, "the expert freeing up made the job due")
            self.run_cron()
            self.assertEqual(self.pending(job).expert_id, ben)
            self.assertFalse(job.wait_code)
            self.assertFalse(job.wait_reason)

    def test_lookahead_off_offers_the_free_expert(self):
        fay = self.expert("Free Fay", km=30.0)
        ben = self.expert("Busy Ben", km=20.0)
        self.busy(ben, km=1.0, ends_in_min=10)
        self.rule.lookahead = False
        job = self.job()
        self.assertEqual(job.offer_ids.expert_id, fay)
        self.assertFalse(job.wait_code)

    def test_lookahead_not_for_normal_priority_nor_for_a_small_gain(self):
        fay = self.expert("Free Fay", km=6.0)  # about 12 min away
        ben = self.expert("Busy Ben", km=20.0)
        self.busy(ben, km=1.0, ends_in_min=10)
        job = self.job()
        self.assertEqual(job.offer_ids.expert_id, fay, "waiting would gain less than 10 min")
        self.rule.lookahead_min_gain_min = 0.0
        self.rule.defer = False
        normal = self.job(priority="2", sla_min=480, name="Normal lift")
        self.assertNotEqual(normal.wait_code, "lookahead", "normal jobs do not wait for busy experts")

    # ------------------------------------------------------------------ diversion of an expert on the way
    def on_the_way(self, expert, km_now, priority="1", sla_min=480, position_age_min=1.0):
        """``expert`` drives to a visit 15 km south of our site (``priority``, its SLA deadline ``sla_min`` from
        now) and their phone said ``position_age_min`` ago that they are ``km_now`` north of our site."""
        lat, lon = offset(lat_km=-15.0)
        request = self.make_request(
            name=f"Service by {expert.name}", priority=priority, crowd_latitude=lat,
            crowd_longitude=lon, crowd_sla_deadline=self.now + timedelta(minutes=sla_min),
        )  # fmt: skip
        visit = request.crowd_job_ids
        visit._crowd_assign_manual(expert)
        visit.action_en_route(30)
        here_lat, here_lon = offset(lat_km=km_now)
        expert.sudo().write(
            {
                "partner_latitude": here_lat,
                "partner_longitude": here_lon,
                "crowd_position_at": self.now - timedelta(minutes=position_age_min),
            }
        )
        self.assertEqual(visit.state, "en_route")
        return visit

    def test_an_urgent_job_diverts_an_expert_on_the_way_to_a_less_urgent_visit(self):
        """Dan drives to a routine visit and passes 2 km from the urgent job; the best free expert is an hour
        away. The urgent job is offered to Dan (the dispatcher reads why); when he accepts, the routine visit goes
        back to dispatch and out to someone else at once, with its customer's tracking page told."""
        fay = self.expert("Free Fay", km=30.0)  # about 59 min away
        dan = self.expert("Driving Dan", km=20.0)
        visit = self.on_the_way(dan, km_now=2.0)
        job = self.job()
        offer = self.pending(job)
        self.assertEqual(offer.expert_id, dan)
        self.assertEqual(offer.divert_job_id, visit)
        self.assertLess(offer.distance_km, 2.5, "from where he is now, not from the visit he drives to")
        note = job.message_ids.filtered(lambda m: "who is on the way to" in (m.body or ""))
        self.assertEqual(len(note), 1)
        self.assertIn(f"If they accept, {visit.name} goes out again.", note.body)
        self.assertFalse(visit.offer_ids.filtered(lambda o: o.state == "pending"))
        with self.at(2):
            offer.action_accept()
        self.assertEqual((job.state, job.expert_id), ("assigned", dan))
        self.assertEqual(visit.state, "offered", "the visit left behind went out again at once")
        self.assertFalse(visit.eta_at)
        self.assertFalse(visit.tracking_ids)
        self.assertEqual(visit.offer_ids.filtered(lambda o: o.expert_id == dan).state, "withdrawn")
        self.assertEqual(self.pending(visit).expert_id, fay, "to another expert: Dan holds the urgent job")
        self.assertTrue(
            visit.message_ids.filtered(lambda m: f"took the more urgent {job.name} instead" in (m.body or ""))
        )

    def test_a_diversion_ends_when_the_expert_reaches_the_visit(self):
        """Dan checks in at his routine visit before answering: the offer that would have diverted him is
        withdrawn at once and the urgent job goes to the next expert; his late "yes" changes nothing."""
        fay = self.expert("Free Fay", km=30.0)
        dan = self.expert("Driving Dan", km=20.0)
        visit = self.on_the_way(dan, km_now=2.0)
        job = self.job()
        offer = self.pending(job)
        self.assertEqual(offer.divert_job_id, visit)
        with self.at(1):
            visit.action_check_in(visit.latitude, visit.longitude)
            self.assertEqual(offer.state, "withdrawn")
            self.assertEqual(self.pending(job).expert_id, fay, "decided again at once")
        with self.at(2), self.assertRaisesRegex(UserError, "withdrawn"):
            offer.action_accept()
        self.assertEqual((job.state, job.expert_id), ("offered", self.env["res.partner"]))
        self.assertEqual((visit.state, visit.expert_id), ("on_site", dan))

    def test_a_diversion_from_a_visit_no_longer_on_the_way_is_refused(self):
        """The model checks the visit left behind itself, whatever happened to the offer meanwhile."""
        self.expert("Free Fay", km=30.0)
        dan = self.expert("Driving Dan", km=20.0)
        visit = self.on_the_way(dan, km_now=2.0)
        job = self.job()
        offer = self.pending(job)
        visit.sudo().write({"state": "on_site"})  # not through the actions: the offer stays pending
        with self.at(2), self.assertRaisesRegex(UserError, "while you were on your way to .*, which is now on site"):
            offer.action_accept()
        self.assertEqual(offer.state, "pending")
        self.assertEqual((job.state, job.expert_id), ("offered", self.env["res.partner"]))
        self.assertEqual((visit.state, visit.expert_id), ("on_site", dan))

    def test_no_diversion_from_an_urgent_visit_nor_a_stale_position_nor_a_small_gain(self):
        fay = self.expert("Free Fay", km=30.0)
        cases = (
            ("urgent visit", {"priority": "3"}, {}),
            ("position 20 min old", {"position_age_min": 20.0}, {}),
            ("its SLA deadline in 3 h", {"sla_min": 180}, {}),
            ("lever off", {}, {"divert": False}),
            ("most experts busy", {}, {"divert_min_free_share": 0.6}),
        )
        for i, (label, trip, rule_vals) in enumerate(cases):
            with self.subTest(label), self.cr.savepoint() as savepoint:
                self.rule.write(rule_vals)
                dan = self.expert(f"Driving Dan {i}", km=20.0)
                self.on_the_way(dan, km_now=2.0, **trip)
                job = self.job(name=f"Lift {i}")
                self.assertEqual(self.pending(job).expert_id, fay, label)
                self.assertFalse(self.pending(job).divert_job_id)
                savepoint.rollback()
        near = self.expert("Near Nina", km=6.0)  # about 12 min away
        dan = self.expert("Driving Dan", km=20.0)
        self.on_the_way(dan, km_now=2.0)  # about 4 min away: 8 min sooner, less than 10
        self.assertEqual(self.pending(self.job()).expert_id, near)

    def test_a_waiting_urgent_job_wakes_when_an_expert_on_the_way_says_where_they_are(self):
        """Nobody is free and Dan's phone has been quiet: the urgent job waits. His next position report, 2 km
        away on the way to a routine visit, makes it due at once (an event, not a poll), and it diverts him."""
        user = new_test_user(self.env, login="dan_on_the_way", groups="base.group_portal")
        dan = user.partner_id
        dan.write(
            {"is_crowd_expert": True, "crowd_kind": "freelance", "crowd_tier": "technician", "crowd_state": "active",
             "crowd_online": True, "crowd_radius_km": 60, "crowd_max_jobs": 1, "crowd_rating": 4.5}
        )  # fmt: skip
        dan.sudo().crowd_location_consent = True
        self.rule.divert_min_free_share = 0.0  # Dan is the only expert: nobody is free (the default needs 20 %)
        visit = self.on_the_way(dan, km_now=20.0, position_age_min=30.0)
        job = self.job()
        self.assertEqual(job.wait_code, "no_candidate")
        self.assertFalse(job.offer_ids)
        with self.at(1) as now, patch.object(fields.Datetime, "now", lambda *args: now):
            lat, lon = offset(lat_km=2.0)
            self.assertTrue(dan.with_user(user).crowd_report_position(lat, lon)["recorded"])
            self.assertEqual(job.next_check_at, now, "due at once")
            self.run_cron()
            offer = self.pending(job)
            self.assertEqual((offer.expert_id, offer.divert_job_id), (dan, visit))

    def test_only_a_visit_of_the_jobs_company_is_left_behind(self):
        """The trips of the pool are the company's visits: another company's visit is never left for our job."""
        dan = self.expert("Driving Dan", km=20.0)
        visit = self.on_the_way(dan, km_now=2.0)
        engine = self.env["crowd.dispatch.engine"]
        other = self.env["res.company"].create({"name": "Other Lifts (test)"})
        self.assertEqual(engine._trips(dan.ids, self.now, company=self.company, job_ids=True), {dan.id: visit.id})
        self.assertEqual(engine._trips(dan.ids, self.now, company=other), {})
        (trip,) = engine._trips(dan.ids, self.now, company=self.company).values()
        self.assertEqual((trip.priority, trip.deadline), (1, visit.sla_deadline))
        self.assertAlmostEqual(trip.lat, dan.partner_latitude, places=6)

    def test_only_the_dispatch_makes_a_diversion_offer(self):
        """A crowd manager may create a pending offer by hand, never one that diverts an expert from a visit."""
        dan = self.expert("Driving Dan", km=20.0)
        visit = self.on_the_way(dan, km_now=2.0)
        job = self.job(priority="2", sla_min=480, name="Routine")
        manager = new_test_user(
            self.env, login="crowd_manager_divert", groups="base.group_user,crowd_service.group_crowd_manager"
        )
        Offer = self.env["crowd.dispatch.offer"].with_user(manager)
        with self.assertRaises(AccessError), self.cr.savepoint():
            Offer.create({"job_id": job.id, "expert_id": dan.id, "divert_job_id": visit.id})
        self.assertFalse(job.offer_ids.filtered(lambda o: o.divert_job_id))

    # ------------------------------------------------------------------ stagger
    def test_stagger_offers_the_next_expert_while_enough_are_free(self):
        anna = self.expert("Anna", km=1.0)
        bert = self.expert("Bert", km=3.0)
        self.expert("Carl", km=5.0)
        job = self.job()
        self.assertEqual(job.offer_ids.expert_id, anna)
        self.assertEqual(job.next_check_at, self.now + timedelta(minutes=2), "the stagger step is triggered")
        with self.at(1):
            self.assertEqual(self.run_cron(), 0)
        with self.at(2):
            self.run_cron()
            self.assertEqual(self.pending(job).expert_id, anna | bert, "Anna's offer stays open")
            second = self.pending(job).filtered(lambda o: o.expert_id == bert)
            self.assertEqual((second.round, second.rank), (1, 2))
            self.assertEqual(job.next_check_at, self.now + timedelta(minutes=2), "the next stagger step")
        with self.at(3):
            second.action_accept()
        self.assertEqual(job.expert_id, bert, "the first acceptance wins")
        self.assertEqual(job.offer_ids.filtered(lambda o: o.expert_id == anna).state, "withdrawn")

    def test_no_stagger_when_congested(self):
        anna = self.expert("Anna", km=1.0)
        self.expert("Bert", km=3.0)
        for i in range(4):  # busy for hours: not worth waiting for, and most experts are busy
            self.busy(self.expert(f"Busy {i}", km=10.0), km=10.0, ends_in_min=300)
        job = self.job()
        self.assertEqual(job.offer_ids.expert_id, anna)
        with self.at(2):
            self.run_cron()
            self.assertEqual(self.pending(job).expert_id, anna, "no second offer while few experts are free")
            self.assertEqual(job.next_check_at, T0 + timedelta(minutes=10), "next: Anna's offer expiry")
        self.rule.stagger = False
        other = self.job(name="Second lift")
        self.assertEqual(other.next_check_at, self.now + timedelta(minutes=10), "no stagger step without stagger")

    # ------------------------------------------------------------------ deferral
    def congest(self):
        free = self.expert("Free Fay", km=2.0)
        for i in range(3):
            self.busy(self.expert(f"Busy {i}", km=10.0), km=10.0, ends_in_min=300)
        return free

    def test_deferral_holds_a_normal_job_under_congestion_until_its_release(self):
        fay = self.congest()  # 1 of 4 experts free
        self.rule.defer_max_wait_min = 90
        job = self.job(priority="2", sla_min=240)
        self.assertFalse(job.offer_ids)
        self.assertEqual(job.wait_code, "deferred")
        self.assertEqual(job.wait_until, T0 + timedelta(minutes=90), "released 90 min after creation at the latest")
        self.assertEqual(job.next_check_at, job.wait_until, "the deferral deadline is triggered")
        self.assertEqual(
            job.wait_reason, "Held while few experts are free (25% free); released at 10:30 at the latest."
        )
        with self.at(89):
            self.assertEqual(self.run_cron(), 0)
        with self.at(90):
            self.run_cron()
            self.assertEqual(self.pending(job).expert_id, fay)
            self.assertLess(self.now, job.sla_deadline, "released before its deadline")
            self.assertFalse(job.wait_code)

    def test_deferral_released_before_the_sla_deadline(self):
        self.congest()
        job = self.job(priority="2", sla_min=150)
        self.assertEqual(job.wait_until, T0 + timedelta(minutes=30), "120 min before the deadline")

    def test_urgent_jobs_are_never_deferred(self):
        fay = self.congest()
        job = self.job(priority="3")
        self.assertEqual(job.offer_ids.expert_id, fay)
        self.rule.defer = False
        normal = self.job(priority="2", sla_min=240, name="Normal lift")
        self.assertFalse(normal.wait_code == "deferred")

    def test_deferred_job_released_when_experts_free_up(self):
        self.congest()
        busy_visits = self.env["crowd.job"].search([("equipment_id", "=", self.pump.id)])
        job = self.job(priority="2", sla_min=240)
        self.assertEqual(job.wait_code, "deferred")
        with self.at(20):
            for visit in busy_visits[:2]:
                visit.action_complete()
            self.assertEqual(job.next_check_at, self.now)
            self.run_cron()
            self.assertTrue(self.pending(job), "3 of 4 free: offered")

    def test_deferred_job_not_redecided_while_the_free_share_stays_below_its_recheck(self):
        """The engine's contract: a deferred job needs no decision before its release while the free share
        stays below ``recheck_free_share``; an expert freeing up wakes it only once the share reaches it."""
        self.congest()  # 1 of 4 experts free
        self.rule.defer_free_share_below = 0.6
        busy_visits = self.env["crowd.job"].search([("equipment_id", "=", self.pump.id)])
        job = self.job(priority="2", sla_min=240)
        self.assertEqual(job.wait_code, "deferred")
        self.assertEqual(job.wait_params["recheck_free_share"], 0.6)
        release = job.wait_until
        engine = self.env["crowd.dispatch.engine"]
        with self.at(20):
            busy_visits[0].action_complete()
            self.assertEqual(job.next_check_at, self.now, "an expert freed up: woken")
            self.assertEqual(engine._free_share(job, self.now), 0.5)
            with patch.object(type(engine), "_dispatch", side_effect=AssertionError("decided")):
                self.assertEqual(self.run_cron(), 1)
            self.assertEqual(job.wait_code, "deferred", "2 of 4 free, below 60%: still held, no decision")
            self.assertEqual(job.next_check_at, release, "its check is back at the release")
            self.assertFalse(job.offer_ids)
            busy_visits[1].action_complete()
            self.assertEqual(job.next_check_at, self.now)
            self.run_cron()
            self.assertTrue(self.pending(job), "3 of 4 free: decided again and offered")

    # ------------------------------------------------------------------ standby calls (supply lever)
    def test_standby_calls_offline_experts_when_urgent_jobs_wait(self):
        """A rule with standby calls asks the nearest qualified offline expert to come online while an urgent
        job waits with nobody free, once a day, and says so in the expert's language; off: nobody is called."""
        # the offline experts already in the database (demo data) are out of this test
        self.env["res.partner"].search([("is_crowd_expert", "=", True), ("crowd_online", "=", False)]).write(
            {"is_crowd_expert": False}
        )
        busy = self.expert("Busy Bea", km=1.0)
        self.busy(busy, km=1.0, ends_in_min=300)  # beyond the look-ahead horizon: the job waits for anyone
        olaf = self.expert("Offline Olaf", km=3.0, crowd_online=False)
        far = self.expert("Offline Fritz", km=30.0, crowd_online=False)
        self.expert("Offline Una", km=2.0, crowd_online=False, crowd_state="suspended", crowd_state_reason="x")
        job = self.job()
        self.assertEqual(job.wait_code, "no_candidate")
        Job = self.env["crowd.job"]
        self.assertFalse(Job._cron_crowd_standby(), "standby calls are off by default")
        self.rule.write({"standby": True, "standby_premium_hours": 1.5})
        called = Job._cron_crowd_standby()
        self.assertEqual(called, olaf, "one call for one urgent job: the nearest qualified offline expert")
        self.assertEqual(olaf.crowd_standby_called_at, self.now)
        self.assertFalse(far.crowd_standby_called_at)
        message = olaf.message_ids[:1]
        self.assertIn(olaf, message.partner_ids)
        self.assertIn("1 urgent job(s) wait", message.body)
        self.assertIn(
            "If you come online within the hour, the first job you accept today after that pays you a standby "
            "premium on top: 1.5 hour(s) of that job's pay (its package rate divided by its planned hours).",
            message.body,
        )
        self.assertEqual(olaf.crowd_standby_premium_hours, 1.5, "the promise is kept on the expert")
        self.assertFalse(olaf.crowd_standby_earned_at)
        with self.at(5):
            self.assertEqual(Job._cron_crowd_standby(), far, "Olaf's call is open: the next one is asked")
            self.assertFalse(Job._cron_crowd_standby(), "everyone qualified was called today")
        self.rule.standby_max_open_calls = 1
        with self.at(10):
            far.crowd_standby_called_at = False
            self.assertFalse(Job._cron_crowd_standby(), "one call open already (Olaf's, within the hour)")
        with self.assertRaisesRegex(ValidationError, "must be between"), self.cr.savepoint():
            self.rule.write({"standby_free_share_below": 1.5})
        with self.at(0):
            self.assertEqual(self.rule._supply_settings().standby_premium_hours, 1.5)
        # an own technician is salaried (no payout per job): called without a premium
        otto = self.expert("Own Otto", km=2.0, kind="employee", crowd_online=False)
        self.rule.standby_max_open_calls = 8
        with self.at(20):
            self.assertEqual(Job._cron_crowd_standby(), otto)
            self.assertEqual(otto.crowd_standby_premium_hours, 0.0)
            body = otto.message_ids[:1].body
            self.assertIn("1 urgent job(s) wait. Please come online now.", body)
            self.assertNotIn("premium", body)
            otto.crowd_set_online(True)
            self.assertFalse(otto.crowd_standby_earned_at)

    def test_standby_premium_earned_by_coming_online_within_the_hour(self):
        """An expert called on standby who comes online within the hour earns the promised premium (kept on them
        for the payout); coming online later earns nothing; no user writes these fields, whatever the context."""
        olaf = self.expert("Offline Olaf", km=3.0, crowd_online=False)
        late = self.expert("Late Lena", km=4.0, crowd_online=False)
        # what _standby_calls writes (the call itself: test_standby_calls_offline_experts_when_urgent_jobs_wait)
        (olaf | late).write({"crowd_standby_called_at": self.now, "crowd_standby_premium_hours": 1.5})
        with self.at(59):
            olaf.crowd_set_online(True)
            self.assertEqual(olaf.crowd_standby_earned_at, T0 + timedelta(minutes=59))
            self.assertEqual(olaf.crowd_standby_premium_hours, 1.5)
            self.assertIn("the first job accepted today pays 1.5 hour(s) of its pay on top", olaf.message_ids[0].body)
            earned_at = olaf.crowd_standby_earned_at
            olaf.crowd_set_online(False)
            olaf.crowd_set_online(True)
            self.assertEqual(olaf.crowd_standby_earned_at, earned_at, "earned once")
        with self.at(61):
            late.crowd_set_online(True)
            self.assertTrue(late.crowd_online)
            self.assertFalse(late.crowd_standby_earned_at, "online 61 minutes after the call: no premium")
        # the expert (portal) and a dispatcher cannot set them, with or without a context key
        portal = new_test_user(
            self.env, login="standby_olaf", groups="base.group_portal", partner_id=olaf.id, name=olaf.name
        )
        for user, vals in (
            (portal, {"crowd_standby_earned_at": self.now}),
            (portal, {"crowd_standby_premium_hours": 8.0}),
            (self.dispatcher, {"crowd_standby_earned_at": self.now}),
            (self.dispatcher, {"crowd_standby_premium_hours": 8.0}),
            (self.dispatcher, {"crowd_standby_called_at": False}),
        ):
            for target in (olaf, late):
                with self.subTest(user=user.login, vals=vals, target=target.name), self.assertRaises(AccessError):
                    target.with_user(user).with_context(crowd_system=True, standby=True).write(vals)
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.dispatcher).create(
                {"name": "Sneaky", "is_crowd_expert": True, "crowd_standby_earned_at": self.now}
            )
        self.assertFalse(late.crowd_standby_earned_at)
        self.assertEqual(late.crowd_standby_premium_hours, 1.5)
        self.assertEqual(olaf.crowd_standby_earned_at, earned_at)

    # ------------------------------------------------------------------ SLA widening
    def test_sla_widening_opens_the_next_pool_early(self):
        self.rule.write({"tier_policy": "any", "partner_delay_min": 30, "use_crowd": False})
        own = self.expert("Own Olga", km=40.0, kind="employee")  # 78 min away: the 45-min SLA would be missed
        partner = self.expert("Partner Paul", km=5.0, kind="partner")
        job = self.job(sla_min=45)
        self.assertEqual(job.offer_ids.expert_id, partner, "the partner pool opened 30 min early")
        self.rule.sla_widening = False
        job = self.job(sla_min=45, name="Second lift")
        self.assertEqual(job.offer_ids.expert_id, own, "without widening only the own pool is open")

    # ------------------------------------------------------------------ withdrawal on acceptance
    def test_acceptance_withdraws_the_experts_other_offers_and_redecides(self):
        self.rule.write({"one_open_offer_per_expert": False, "stagger": False})
        # own technicians: no fair-share bonus for the one who has had fewer offers
        anna = self.expert("Anna", km=1.0, kind="employee")
        bert = self.expert("Bert", km=3.0, kind="employee")
        first = self.job()
        second = self.job(name="Second lift")
        self.assertEqual(first.offer_ids.expert_id, anna)
        self.assertEqual(second.offer_ids.expert_id, anna, "Anna holds two offers")
        with self.at(1):
            first.offer_ids.action_accept()
            self.assertEqual(second.offer_ids.filtered(lambda o: o.expert_id == anna).state, "withdrawn")
            new_offer = self.pending(second)
            self.assertEqual(new_offer.expert_id, bert, "the other job is decided again at once")
            self.assertEqual(new_offer.sent_at, self.now)

    def test_without_withdrawal_the_other_offer_stays_open(self):
        self.rule.write({"one_open_offer_per_expert": False, "stagger": False, "withdraw_on_accept": False})
        anna = self.expert("Anna", km=1.0, kind="employee")
        self.expert("Bert", km=3.0, kind="employee")
        first = self.job()
        second = self.job(name="Second lift")
        first.offer_ids.action_accept()
        self.assertEqual(self.pending(second).expert_id, anna)

    def test_one_open_offer_per_expert(self):
        anna = self.expert("Anna", km=1.0)
        bert = self.expert("Bert", km=3.0)
        first = self.job()
        second = self.job(name="Second lift")
        self.assertEqual(first.offer_ids.expert_id, anna)
        self.assertEqual(second.offer_ids.expert_id, bert, "Anna holds an offer: the next one is Bert's")

    # ------------------------------------------------------------------ the dispatcher's override
    def test_dispatch_now_overrides_the_wait(self):
        fay = self.expert("Free Fay", km=30.0)
        ben = self.expert("Busy Ben", km=20.0)
        self.busy(ben, km=1.0, ends_in_min=10)
        job = self.job()
        self.assertEqual(job.wait_code, "lookahead")
        technician = new_test_user(self.env, login="crowd_tech_t", groups="base.group_user")
        with self.assertRaises(AccessError):
            job.with_user(technician).action_dispatch_now()
        self.assertFalse(job.offer_ids, "a refused override changes nothing")
        self.assertFalse(job.dispatch_override)
        self.assertEqual(job.wait_code, "lookahead")
        with self.assertRaises(AccessError):
            job.with_user(technician).write({"dispatch_override": True})
        with self.at(1):
            job.with_user(self.dispatcher).action_dispatch_now()
        self.assertTrue(job.dispatch_override)
        self.assertEqual(job.offer_ids.expert_id, fay)
        self.assertFalse(job.wait_code)
        self.assertFalse(job.waiting_expert_id)

    def test_dispatch_now_overrides_deferral(self):
        fay = self.congest()
        job = self.job(priority="2", sla_min=240)
        self.assertEqual(job.wait_code, "deferred")
        job.with_user(self.dispatcher).action_dispatch_now()
        self.assertEqual(job.offer_ids.expert_id, fay)

    # ------------------------------------------------------------------ waiting for anyone, learning
    def test_no_candidate_waits_for_a_busy_expert_then_escalates_at_the_deadline(self):
        ben = self.expert("Busy Ben", km=2.0)
        visit = self.busy(ben, km=1.0, ends_in_min=120)  # beyond the look-ahead horizon
        job = self.job(sla_min=60)
        self.assertEqual(job.state, "dispatching")
        self.assertEqual(job.wait_code, "no_candidate")
        self.assertEqual(
            job.wait_reason,
            "No qualified expert is free: dispatched as soon as one frees up or the next pool opens; "
            "at 10:00 at the latest.",
        )
        with self.at(30):
            visit.action_cancel("customer cancelled")
            self.run_cron()
            self.assertEqual(self.pending(job).expert_id, ben, "Ben freed up: offered at once")
        nobody = self.job(name="Nobody", crowd_min_tier="specialist")
        self.assertEqual(nobody.state, "escalated", "nobody could ever take it: a dispatcher decides")
        self.assertIn("no candidate", nobody.escalation_reason)

    def test_learning_from_the_companys_history(self):
        anna = self.expert("Anna", km=5.0)
        self.equipment.model = "LX-9"
        job = self.job()
        offer = job.offer_ids
        eta = offer.eta_min
        with self.at(1):
            offer.action_accept()
        with self.at(2):
            job.action_en_route(10)
        with self.at(2 + 2 * eta):
            job.action_check_in(*offset())
            job.action_complete()
        engine = self.env["crowd.dispatch.engine"]
        history = engine._learning(anna.ids, self.company)[anna.id]
        self.assertEqual((history.offers, history.accepted, history.trips), (1, 1, 1))
        self.assertAlmostEqual(history.planned_travel_min, eta, places=3)
        self.assertAlmostEqual(history.actual_travel_min, 2 * eta, places=3)
        self.assertEqual(history.visits_by_model, {"LX-9": (1, 1)}, "fixed the first time")
        # a follow-up visit of the same request: not a first-time fix
        job.request_id.action_crowd_new_job()
        history = engine._learning(anna.ids, self.company)[anna.id]
        self.assertEqual(history.visits_by_model, {"LX-9": (1, 0)})
        # the ranking's acceptance is learned, shrunk toward the prior
        rows = engine._candidate_rows(job, self.rule, self.now)
        learning = engine._learning(anna.ids, self.company)
        (expert,) = [
            e
            for e in engine._experts(rows, self.now, settings=self.rule._dispatch_settings(), learning=learning)
            if e.id == anna.id
        ]
        self.assertAlmostEqual(expert.acceptance_rate, (1 + 10 * 0.7) / (1 + 10))

    def test_no_deferral_into_a_thinner_shift(self):
        """Working hours and unavailabilities reach the engine as windows: a job is not held until a time
        when fewer experts are on shift."""
        self.congest()
        leaving = self.env["res.partner"].search([("name", "in", ("Busy 0", "Busy 1"))])
        self.assertEqual(len(leaving), 2)
        for expert in leaving:
            self.env["crowd.expert.blackout"].create(
                {
                    "partner_id": expert.id,
                    "date_from": self.now + timedelta(minutes=60),
                    "date_to": self.now + timedelta(hours=12),
                }
            )
        job = self.job(priority="2", sla_min=240)
        self.assertNotEqual(job.wait_code, "deferred", "half the shift leaves before the release")
        self.assertTrue(job.offer_ids)

    def test_an_expert_coming_online_wakes_the_waiting_jobs(self):
        otto = self.expert("Offline Otto", km=2.0, crowd_online=False)
        ben = self.expert("Busy Ben", km=3.0)
        self.busy(ben, km=1.0, ends_in_min=120)
        job = self.job(sla_min=60)
        self.assertEqual(job.wait_code, "no_candidate")
        with self.at(5):
            otto.crowd_set_online(True)
            self.assertEqual(job.next_check_at, self.now)
            self.run_cron()
            self.assertEqual(self.pending(job).expert_id, otto)

    def test_urgent_jobs_first_when_an_expert_frees_up(self):
        self.rule.defer = False
        ben = self.expert("Busy Ben", km=2.0)
        visit = self.busy(ben, km=1.0, ends_in_min=120)
        normal = self.job(priority="2", sla_min=480, name="Normal lift")
        urgent = self.job(priority="3", sla_min=60, name="Urgent lift")
        self.assertEqual((normal.wait_code, urgent.wait_code), ("no_candidate", "no_candidate"))
        with self.at(30):
            visit.action_complete()
            self.run_cron()
        self.assertEqual(self.pending(urgent).expert_id, ben, "the urgent job is decided first")
        self.assertFalse(self.pending(normal), "Ben holds an offer: the normal job waits for the next one")
        self.assertEqual(normal.wait_code, "no_candidate")

    def test_manual_assignment_also_withdraws_the_experts_other_offers(self):
        self.rule.write({"one_open_offer_per_expert": False, "stagger": False})
        anna = self.expert("Anna", km=1.0, kind="employee")
        bert = self.expert("Bert", km=3.0, kind="employee")
        self.rule.auto_dispatch = False
        first = self.job()
        self.rule.auto_dispatch = True
        second = self.job(name="Second lift")
        self.assertEqual(second.offer_ids.expert_id, anna)
        first.with_user(self.dispatcher)._crowd_assign_manual(anna)
        self.assertEqual(second.offer_ids.filtered(lambda o: o.expert_id == anna).state, "withdrawn")
        self.assertEqual(self.pending(second).expert_id, bert)

    def test_one_policy_two_callers(self):
        """Odoo's dispatch calls the engine's decide(), the function the simulator's ``ours`` calls, with the
        rule's settings, the reserved experts and the learned history."""
        self.assertIs(simulate.decide, engine_policy.decide)
        anna = self.expert("Anna", km=1.0)
        calls = []

        def spy(job, pool, policy, settings, history, now, **kwargs):
            calls.append((settings, kwargs))
            return engine_policy.decide(job, pool, policy, settings, history, now, **kwargs)

        with patch("odoo.addons.crowd_service.models.engine_adapter.decide", spy):
            job = self.job()
        self.assertEqual(job.offer_ids.expert_id, anna)
        (settings, kwargs) = calls[0]
        self.assertEqual(settings, self.rule._dispatch_settings())
        self.assertEqual(set(kwargs), {"reserved", "learning"})

    def test_a_job_dated_after_the_dispatch_clock(self):
        """A job reported "later" than the dispatch clock (clock skew, demo data) is dispatched from now."""
        self.rule.write({"partner_delay_min": 10, "crowd_delay_min": 20, "auto_dispatch": False})
        anna = self.expert("Anna", km=1.0)  # crowd: her pool opens 20 min after the report
        job = self.job()
        job.sudo().write({"requested_at": self.now + timedelta(days=30)})
        job.with_user(self.dispatcher).action_dispatch()
        self.assertEqual(job.offer_ids.expert_id, anna, "the SLA widening opened the crowd pool now")
