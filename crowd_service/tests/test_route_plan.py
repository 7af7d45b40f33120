"""Plan day (issue 11): routes of planned work per technician and day, re-planning, locked stops, urgent
insertion, the nightly cron, bad input, and the map's features."""

import math
from datetime import date, datetime, timedelta
from itertools import pairwise
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

BASE = (47.0, 8.0)
NOW = datetime(2031, 3, 3, 5, 0)  # a Monday, 05:00 UTC (the company's time zone is UTC)
DAY = date(2031, 3, 3)
TOMORROW = date(2031, 3, 4)


def pos(lat_km=0.0, lon_km=0.0):
    return BASE[0] + lat_km / 111.32, BASE[1] + lon_km / (111.32 * math.cos(math.radians(BASE[0])))


@tagged("post_install", "-at_install", "crowd_route")
class TestRoutePlan(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_notrack=True))
        env = cls.env
        cls.now = NOW
        cls._clock = patch.object(env.registry["crowd.job"], "_crowd_now", lambda self: cls.now)
        cls._clock.start()
        cls.addClassCleanup(cls._clock.stop)
        cls.calendar = env["resource.calendar"].create(
            {
                "name": "Route test 08-17",
                "tz": "UTC",
                "attendance_ids": [Command.clear()]
                + [
                    Command.create(
                        {"name": "Day", "dayofweek": str(d), "hour_from": 8, "hour_to": 17, "day_period": "morning"}
                    )
                    for d in range(7)
                ],
            }
        )
        cls.company = env["res.company"].create({"name": "Route Test Co", "resource_calendar_id": cls.calendar.id})
        cls.other_company = env["res.company"].create({"name": "Route Other Co"})
        cls.team = env["maintenance.team"].create({"name": "Route team", "company_id": cls.company.id})
        cls.dispatcher = new_test_user(
            env,
            login="route_dispatcher",
            groups="crowd_service.group_crowd_user",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.employee = new_test_user(
            env, login="route_employee", groups="base.group_user", company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )  # fmt: skip
        env["crowd.dispatch.rule"].create(
            {
                "name": "Route test rule",
                "sequence": -1000,
                "company_id": cls.company.id,
                "auto_dispatch": False,
                "max_radius_km": 100,
                "tier_policy": "any",
                "certificate_policy": "required",
            }
        )
        skill_type = env["crowd.skill.type"].create({"name": "Route lifts"})
        cls.level = env["crowd.skill.level"].create(
            {"name": "Route basic", "level_progress": 50, "skill_type_id": skill_type.id}
        )
        cls.skill = env["crowd.skill"].create(
            {"name": "Route lift", "code": "ROUTE_LIFT", "skill_type_id": skill_type.id}
        )
        cls.cert_type = env["crowd.certificate.type"].create({"name": "Route gas", "code": "ROUTE_GAS"})
        cls.customer = env["res.partner"].create({"name": "Route Customer", "is_company": True, "tz": "UTC"})
        cls.site = env["res.partner"].create(
            {"name": "Route site", "parent_id": cls.customer.id, "type": "other", "company_id": cls.company.id}
        )
        cls.alice = cls.make_tech("Alice (route)", pos(0, 0))
        cls.bob = cls.make_tech("Bob (route)", pos(0, 10))
        cls.fred = cls.make_tech("Fred freelancer (route)", pos(0, 5), kind="freelance")
        env["crowd.expert.skill"].create(
            {"partner_id": cls.alice.id, "skill_id": cls.skill.id, "level_id": cls.level.id}
        )
        cert = env["crowd.expert.certificate"].create(
            {"partner_id": cls.bob.id, "type_id": cls.cert_type.id, "number": "G-1", "expiry_date": "2040-01-01"}
        )
        cert.sudo().write({"state": "verified"})
        Route = env["crowd.route"]
        cls.Route = Route

    @classmethod
    def make_tech(cls, name, where, kind="employee", **vals):
        return cls.env["res.partner"].create(
            dict(
                {
                    "name": name,
                    "is_crowd_expert": True,
                    "crowd_kind": kind,
                    "crowd_tier": "technician",
                    "crowd_state": "active",
                    "crowd_company_id": cls.company.id,
                    "partner_latitude": where[0],
                    "partner_longitude": where[1],
                    "crowd_radius_km": 80,
                    "crowd_max_jobs": 20,
                    "crowd_rating": 4.0,
                },
                **vals,
            )
        )

    def make_job(self, name, where, day=DAY, window=None, skill=False, cert=False, minutes=60, priority="1",
                 maintenance_type="preventive"):  # fmt: skip
        vals = {
            "name": name,
            "company_id": self.company.id,
            "maintenance_team_id": self.team.id,
            "maintenance_type": maintenance_type,
            "priority": priority,
            "crowd_site_id": self.site.id,
            "crowd_latitude": where[0],
            "crowd_longitude": where[1],
            "schedule_date": datetime.combine(day, datetime.min.time()) + timedelta(hours=9),
            "duration": minutes / 60.0,
        }
        if skill:
            vals["crowd_required_skill_ids"] = [
                Command.create({"skill_id": self.skill.id, "min_level_id": self.level.id})
            ]
        if cert:
            vals["crowd_certificate_type_ids"] = [Command.set(self.cert_type.ids)]
        request = self.env["maintenance.request"].with_company(self.company).create(vals)
        job = request.crowd_job_ids
        self.assertEqual(job.state, "new")
        if window:
            start, end = window
            job.write(
                {
                    "visit_window_start": datetime.combine(day, datetime.min.time()) + timedelta(hours=start),
                    "visit_window_end": datetime.combine(day, datetime.min.time()) + timedelta(hours=end),
                }
            )
        return job

    def plan(self, day=DAY, user=None):
        return self.Route.with_user(user or self.dispatcher).with_company(self.company).action_plan_day(str(day))

    def stop_of(self, job):
        return self.env["crowd.route.stop"].search([("job_id", "=", job.id)])

    # ------------------------------------------------------------------ planning
    def test_skills_certificates_and_freelancers(self):
        lift = self.make_job("Lift service", pos(1, 1), skill=True)
        gas = self.make_job("Gas check", pos(1, 9), cert=True)
        both = self.make_job("Lift with gas", pos(1, 5), skill=True, cert=True)
        plain = self.make_job("Plain check", pos(2, 8))
        result = self.plan()
        self.assertEqual(self.stop_of(lift).technician_id, self.alice, "only Alice has the lift skill")
        self.assertEqual(self.stop_of(gas).technician_id, self.bob, "only Bob holds the gas certificate")
        self.assertFalse(self.stop_of(both), "nobody has both")
        unplanned = self.env["crowd.route.unplanned"].browse(result["unplanned"])
        self.assertEqual(unplanned.job_id, both)
        self.assertEqual(unplanned.reason, "not_eligible")
        self.assertIn("skills", unplanned.reason_text)
        self.assertTrue(self.stop_of(plain))
        routes = self.env["crowd.route"].browse(result["routes"])
        self.assertNotIn(self.fred, routes.technician_id, "a freelancer who did not accept planned work")
        self.assertEqual(result["planned"], 3)
        for job in lift | gas | plain:
            self.assertEqual(job.state, "assigned")
            self.assertEqual(job.expert_id, self.stop_of(job).technician_id)
            self.assertEqual(job.eta_at, self.stop_of(job).planned_start)
        for route in routes:
            stops = route.stop_ids.sorted("sequence")
            self.assertEqual(stops.mapped("sequence"), list(range(1, len(stops) + 1)))
            self.assertGreater(route.distance_km, 0)
            self.assertGreaterEqual(stops[0].planned_start, route.shift_start)
            self.assertLessEqual(route.end_at, route.shift_end)
            for a, b in pairwise(stops):
                self.assertGreaterEqual(b.planned_start, a.planned_end)
        # a freelancer who accepts planned work is planned too (here: the only one left on shift)
        self.fred.crowd_planned_work = True
        self.alice.write({"crowd_state": "suspended", "crowd_state_reason": "Test"})
        (self.bob).write({"crowd_calendar_id": self.env["resource.calendar"].create(
            {"name": "Nights", "tz": "UTC", "attendance_ids": [Command.clear()]})})  # fmt: skip
        other = self.make_job("Freelance check", pos(0, 6), day=TOMORROW)
        self.now = datetime(2031, 3, 3, 20, 0)
        self.plan(TOMORROW)
        self.assertEqual(self.stop_of(other).technician_id, self.fred)

    def test_windows_and_shifts(self):
        afternoon = self.make_job("Afternoon only", pos(1, 0), window=(14, 15))
        night = self.make_job("Night only", pos(1, 0), window=(20, 22))
        self.env["crowd.expert.blackout"].create(
            {
                "partner_id": self.bob.id,
                "date_from": datetime(2031, 3, 3, 0, 0),
                "date_to": datetime(2031, 3, 3, 23, 59),
            }
        )
        result = self.plan()
        stop = self.stop_of(afternoon)
        self.assertTrue(stop)
        self.assertGreaterEqual(stop.planned_start, datetime(2031, 3, 3, 14, 0))
        self.assertLessEqual(stop.planned_start, datetime(2031, 3, 3, 15, 0))
        routes = self.env["crowd.route"].browse(result["routes"])
        self.assertNotIn(self.bob, routes.technician_id, "Bob is unavailable all day")
        unplanned = self.env["crowd.route.unplanned"].browse(result["unplanned"])
        self.assertEqual(unplanned.job_id, night)
        self.assertEqual(unplanned.reason, "out_of_reach", "nobody is on shift at night")
        self.assertTrue(unplanned.reason_text)
        for route in routes:
            self.assertGreaterEqual(route.start_at, datetime(2031, 3, 3, 8, 0))
            self.assertLessEqual(route.end_at, datetime(2031, 3, 3, 17, 0))

    def test_urgent_jobs_are_not_planned(self):
        urgent = self.make_job("Urgent fix", pos(1, 1), priority="3", maintenance_type="corrective")
        normal = self.make_job("Normal fix", pos(1, 2), priority="2", maintenance_type="corrective")
        self.plan()
        self.assertFalse(self.stop_of(urgent))
        self.assertTrue(self.stop_of(normal))

    def test_replan_keeps_started_and_locked_stops(self):
        jobs = [self.make_job(f"Visit {i}", pos(i % 3, i * 2)) for i in range(6)]
        self.plan()
        started = self.stop_of(jobs[0])
        started_route, started_seq = started.route_id, started.sequence
        jobs[0].with_user(self.dispatcher).action_en_route(10)
        locked = self.stop_of(jobs[3])
        locked.with_user(self.dispatcher).locked = True
        locked_tech, locked_start = locked.technician_id, locked.planned_start
        extra = self.make_job("Extra visit", pos(2, 3))
        self.now = datetime(2031, 3, 3, 8, 30)
        self.plan()
        self.assertTrue(started.exists(), "the stop en route is kept as it was")
        self.assertEqual((started.route_id, started.sequence), (started_route, started_seq))
        self.assertEqual(jobs[0].state, "en_route")
        locked = self.stop_of(jobs[3])
        self.assertTrue(locked.locked)
        self.assertEqual((locked.technician_id, locked.planned_start), (locked_tech, locked_start))
        self.assertTrue(self.stop_of(extra))
        # every job is on exactly one route, in a consistent order
        for route in self.env["crowd.route"].search([("date", "=", DAY), ("company_id", "=", self.company.id)]):
            stops = route.stop_ids.sorted("sequence")
            self.assertEqual(stops.mapped("sequence"), list(range(1, len(stops) + 1)))
        # the started stop's technician resumes from the visit under way: it comes first
        self.assertEqual(started.route_id.stop_ids.sorted("sequence")[:1], started)
        # a dispatcher may only lock; a started stop stays where it is
        with self.assertRaises(AccessError):
            locked.with_user(self.dispatcher).write({"sequence": 9})
        with self.assertRaises(UserError):
            started.with_user(self.dispatcher).write({"locked": True})
        with self.assertRaises(AccessError):
            locked.with_user(self.employee).write({"locked": False})

    # ------------------------------------------------------------------ urgent insertion
    def test_urgent_insertion_moves_later_stops_and_notifies(self):
        # four visits on Alice's day (only she has the skill), tight around noon
        jobs = [self.make_job(f"Planned {i}", pos(0.5 * i, 0.5 * i), skill=True) for i in range(4)]
        self.now = datetime(2031, 3, 3, 7, 0)
        self.plan()
        route = self.stop_of(jobs[0]).route_id
        self.assertEqual(route.technician_id, self.alice)
        self.assertEqual(len(route.stop_ids), 4)
        before = {s.job_id: s.planned_start for s in route.stop_ids}
        urgent = self.make_job("Urgent lift", pos(0.2, 0.2), priority="3", maintenance_type="corrective")
        messages_before = self.env["mail.message"].search_count([("model", "=", "crowd.job")])
        urgent.with_user(self.dispatcher)._crowd_assign_manual(self.alice)
        stop = self.stop_of(urgent)
        self.assertTrue(stop, "the urgent visit joins Alice's day")
        self.assertTrue(stop.urgent)
        self.assertEqual(stop.route_id, route)
        self.assertEqual(urgent.eta_at, stop.planned_start)
        stops = route.stop_ids.sorted("sequence")
        self.assertEqual(stops.mapped("sequence"), list(range(1, 6)))
        later = stops.filtered(lambda s: s.sequence > stop.sequence)
        self.assertTrue(later, "the urgent visit goes first: it is urgent")
        moved = later.filtered(lambda s: s.planned_start > before[s.job_id])
        self.assertTrue(moved, "the later visits start later")
        for s in later:
            self.assertEqual(s.job_id.eta_at, s.planned_start)
        self.assertTrue(all(moved.mapped("moved_from")), "queued for the customer")
        self.env["crowd.route.stop"]._cron_notify_moved()
        self.assertFalse(any(moved.mapped("moved_from")), "told once")
        notices = self.env["mail.message"].search(
            [("model", "=", "crowd.job"), ("res_id", "in", moved.job_id.ids), ("partner_ids", "in", self.customer.ids)]
        )
        self.assertEqual(set(notices.mapped("res_id")), set(moved.job_id.ids), "each moved customer is told")
        self.assertIn("moved", notices[0].body)
        self.assertGreater(self.env["mail.message"].search_count([("model", "=", "crowd.job")]), messages_before)

    def test_urgent_insertion_without_route_does_nothing(self):
        urgent = self.make_job("Urgent elsewhere", pos(0.2, 0.2), priority="3", maintenance_type="corrective")
        urgent.with_user(self.dispatcher)._crowd_assign_manual(self.bob)
        self.assertEqual(urgent.state, "assigned")
        self.assertFalse(self.stop_of(urgent))

    # ------------------------------------------------------------------ cron
    def test_cron_plans_tomorrow(self):
        job = self.make_job("Tomorrow's visit", pos(1, 1), day=TOMORROW)
        today_job = self.make_job("Today's visit", pos(1, 1), day=DAY)
        self.env["crowd.route"]._cron_plan_next_day()
        stop = self.stop_of(job)
        self.assertTrue(stop)
        self.assertEqual(stop.date, TOMORROW)
        self.assertFalse(self.stop_of(today_job), "the cron plans tomorrow only")
        # running it again re-plans the same day without duplicating anything
        self.env["crowd.route"]._cron_plan_next_day()
        self.assertEqual(len(self.stop_of(job)), 1)

    # ------------------------------------------------------------------ bad input and rights
    def test_bad_input_is_refused(self):
        job = self.make_job("Visit", pos(1, 1))
        cases = [
            (ValidationError, lambda: self.plan(DAY - timedelta(days=1))),
            (ValidationError, lambda: self.plan("not a date")),
            (ValidationError, lambda: self.plan(DAY + timedelta(days=800))),
            (AccessError, lambda: self.plan(user=self.employee)),
            (
                AccessError,
                lambda: self.Route.with_user(self.dispatcher).action_plan_day(str(DAY), self.other_company.id),
            ),
            (ValidationError, lambda: self.Route.with_user(self.dispatcher).action_plan_day(str(DAY), "1")),
            (
                AccessError,
                lambda: self.env["crowd.route"]
                .with_user(self.dispatcher)
                .create({"technician_id": self.alice.id, "date": DAY, "company_id": self.company.id}),
            ),
        ]
        for error, call in cases:
            with self.subTest(error=error), self.assertRaises(error):
                call()
        self.assertFalse(self.env["crowd.route"].search([("company_id", "=", self.company.id)]))
        self.assertEqual(job.state, "new")

    def test_wizard_and_map_features(self):
        jobs = [self.make_job(f"Map visit {i}", pos(i, i)) for i in range(3)]
        wizard = self.env["crowd.plan.wizard"].with_user(self.dispatcher).create({"date": DAY})
        self.assertEqual(wizard.company_id, self.company)
        wizard.action_plan()
        self.assertEqual(wizard.state, "done")
        self.assertEqual(wizard.planned_count, 3)
        self.assertTrue(wizard.route_ids)
        features = self.env["crowd.route"].with_user(self.dispatcher)._crowd_map_features(DAY)
        self.assertEqual(len(features), len(wizard.route_ids))
        feature = features[0]
        self.assertEqual(set(feature), {"route_id", "technician", "partner_id", "color_index", "stops", "path"})
        route = self.env["crowd.route"].browse(feature["route_id"])
        self.assertEqual(feature["partner_id"], route.technician_id.id)
        self.assertEqual(len(feature["path"]), len(feature["stops"]) + 2)
        self.assertEqual(feature["path"][0], feature["path"][-1])
        stop = feature["stops"][0]
        self.assertEqual(set(stop), {"job_id", "name", "lat", "lon", "eta", "locked"})
        self.assertIn(stop["job_id"], [j.id for j in jobs])
        self.assertTrue(stop["eta"].endswith("+00:00"))
        self.assertEqual(datetime.fromisoformat(stop["eta"]).replace(tzinfo=None), route.stop_ids[0].arrival_at)
        # another company's dispatcher sees none of these routes
        foreign = new_test_user(
            self.env, login="route_foreign", groups="crowd_service.group_crowd_user",
            company_id=self.other_company.id, company_ids=[Command.set(self.other_company.ids)],
        )  # fmt: skip
        self.assertEqual(self.env["crowd.route"].with_user(foreign)._crowd_map_features(DAY), [])
