"""The dispatcher's map (issue 11, part 6): one bounded payload read with the caller's rights."""

from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..models import crowd_map
from ..models.crowd_job import JOB_STATES
from ..models.crowd_map import (
    DEFAULT_TILE_URL,
    EXPERT_COLORS,
    PARAM_CELL_KM,
    PARAM_TILE_ATTRIBUTION,
    PARAM_TILE_URL,
    PRIORITY_RADIUS,
    STATE_COLORS,
)

SITE = (46.9480, 7.4474)  # Bern


class CrowdMapCase(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_notrack=True))
        env = cls.env
        cls.company = env.company
        cls.other_company = env["res.company"].create({"name": "Map Other Company"})
        # no rule dispatches on creation: the jobs stay where the test puts them
        env["crowd.dispatch.rule"].search([]).active = False
        cls.dispatcher = new_test_user(env, login="map_dispatcher", groups="crowd_service.group_crowd_user")
        cls.foreign_dispatcher = new_test_user(
            env,
            login="map_foreign_dispatcher",
            groups="crowd_service.group_crowd_user",
            company_id=cls.other_company.id,
            company_ids=[Command.set(cls.other_company.ids)],
        )
        cls.employee = new_test_user(env, login="map_employee", groups="base.group_user")
        cls.portal = new_test_user(env, login="map_portal", groups="base.group_portal")
        cls.equipment = env["maintenance.equipment"].create({"name": "Map lift"})
        cls.teams = {}

    @classmethod
    def team_of(cls, company):
        if company not in cls.teams:
            cls.teams[company] = cls.env["maintenance.team"].create({"name": "Map team", "company_id": company.id})
        return cls.teams[company]

    @classmethod
    def make_job(cls, name, state, priority="2", position=SITE, company=None, **vals):
        company = company or cls.company
        request = (
            cls.env["maintenance.request"]
            .with_company(company)
            .create(
                {
                    "name": name,
                    "priority": priority,
                    "company_id": company.id,
                    # the default team is the main company's
                    "maintenance_team_id": cls.team_of(company).id,
                    "crowd_latitude": position[0],
                    "crowd_longitude": position[1],
                }
            )
        )
        job = request.crowd_job_ids
        assert len(job) == 1, "a request with a position gets its first job"
        job.sudo().write(dict({"state": state}, **vals))
        return job

    @classmethod
    def make_expert(cls, name, online, company=None, position=SITE):
        return cls.env["res.partner"].create(
            {
                "name": name,
                "is_crowd_expert": True,
                "crowd_state": "active",
                "crowd_online": online,
                "crowd_company_id": (company or cls.company).id,
                "partner_latitude": position[0],
                "partner_longitude": position[1],
            }
        )


@tagged("post_install", "-at_install")
class TestCrowdMap(CrowdMapCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        now = fields.Datetime.now()
        cls.jobs = {
            "offered_urgent": cls.make_job("Map urgent", "offered", priority="3"),
            "assigned": cls.make_job("Map assigned", "assigned", priority="1"),
            "done_today": cls.make_job("Map done today", "done", done_at=now, on_site_at=now),
            "done_long_ago": cls.make_job(
                "Map done long ago", "done", done_at=now - timedelta(days=10), on_site_at=now - timedelta(days=10)
            ),
            "foreign": cls.make_job("Map foreign", "offered", priority="3", company=cls.other_company),
        }
        cls.online = cls.make_expert("Map online expert", True)
        cls.offline = cls.make_expert("Map offline expert", False)
        cls.foreign_expert = cls.make_expert("Map foreign expert", True, company=cls.other_company)

    def map_data(self, user, **kwargs):
        return self.env["crowd.job"].with_user(user).crowd_map_data(**kwargs)

    def test_jobs_coloured_by_state_and_priority(self):
        data = self.map_data(self.dispatcher)
        jobs = {job["id"]: job for job in data["jobs"]}
        urgent = jobs[self.jobs["offered_urgent"].id]
        self.assertEqual(urgent["color"], STATE_COLORS["offered"])
        self.assertEqual(urgent["radius"], PRIORITY_RADIUS["3"])
        self.assertTrue(urgent["urgent"])
        self.assertEqual((urgent["lat"], urgent["lon"]), SITE)
        assigned = jobs[self.jobs["assigned"].id]
        self.assertEqual(assigned["color"], STATE_COLORS["assigned"])
        self.assertEqual(assigned["radius"], PRIORITY_RADIUS["1"])
        self.assertFalse(assigned["urgent"])
        self.assertEqual(assigned["state_label"], "Assigned")
        # a closed job shows on the day it closed only
        self.assertIn(self.jobs["done_today"].id, jobs)
        self.assertNotIn(self.jobs["done_long_ago"].id, jobs)
        ten_days_ago = fields.Date.context_today(self.env["crowd.job"]) - timedelta(days=10)
        earlier = {
            job["id"] for job in self.map_data(self.dispatcher, date=fields.Date.to_string(ten_days_ago))["jobs"]
        }
        self.assertIn(self.jobs["done_long_ago"].id, earlier)
        self.assertNotIn(self.jobs["done_today"].id, earlier)
        self.assertIn(self.jobs["offered_urgent"].id, earlier, "open jobs show whatever the day")
        # the legend lists every state with its colour, and every priority
        self.assertEqual([item["key"] for item in data["legend"]["states"]], [key for key, _label in JOB_STATES])
        self.assertEqual({item["key"]: item["color"] for item in data["legend"]["states"]}, STATE_COLORS)
        self.assertTrue(any(item["urgent"] for item in data["legend"]["priorities"]))

    def test_experts_online_and_offline(self):
        experts = {expert["id"]: expert for expert in self.map_data(self.dispatcher)["experts"]}
        self.assertTrue(experts[self.online.id]["online"])
        self.assertEqual(experts[self.online.id]["color"], EXPERT_COLORS["online"])
        self.assertFalse(experts[self.offline.id]["online"])
        self.assertEqual(experts[self.offline.id]["color"], EXPERT_COLORS["offline"])

    def test_company_rules(self):
        """A dispatcher of company B sees nothing of company A, and a forged company context does not
        widen what they see."""
        ours = {job.id for key, job in self.jobs.items() if key != "foreign"}
        data = self.map_data(self.foreign_dispatcher)
        self.assertEqual({job["id"] for job in data["jobs"]}, {self.jobs["foreign"].id})
        self.assertEqual({expert["id"] for expert in data["experts"]}, {self.foreign_expert.id})
        data = self.map_data(self.dispatcher)
        self.assertFalse({job["id"] for job in data["jobs"]} & {self.jobs["foreign"].id})
        self.assertTrue(ours & {job["id"] for job in data["jobs"]})
        self.assertNotIn(self.foreign_expert.id, {expert["id"] for expert in data["experts"]})
        forged = (
            self.env["crowd.job"]
            .with_user(self.foreign_dispatcher)
            .with_context(allowed_company_ids=[self.company.id, self.other_company.id])
        )
        with self.assertRaises(AccessError):
            forged.crowd_map_data()

    def test_only_dispatchers(self):
        for user in (self.employee, self.portal):
            with self.assertRaises(AccessError):
                self.map_data(user)

    def test_bounded(self):
        with patch.object(crowd_map, "MAP_LIMIT", 2):
            data = self.map_data(self.dispatcher)
        self.assertEqual(len(data["jobs"]), 2)
        self.assertTrue(data["jobs_truncated"])
        self.assertTrue(data["experts_truncated"] or len(data["experts"]) <= 2)
        self.assertLessEqual(len(data["experts"]), 2)
        self.assertEqual(data["jobs"][0]["priority"], "3", "the most urgent jobs first")
        data = self.map_data(self.dispatcher)
        self.assertFalse(data["jobs_truncated"])

    def test_bad_day(self):
        with self.assertRaises(UserError):
            self.map_data(self.dispatcher, date="not a day")

    def test_routes_guarded(self):
        """Day routes come from crowd.route when it is installed; without it the map has none."""
        data = self.map_data(self.dispatcher)
        if "crowd.route" in self.env:
            self.assertTrue(data["routes_available"])
            self.assertIsInstance(data["routes"], list)
        else:
            self.assertFalse(data["routes_available"])
            self.assertEqual(data["routes"], [])

    def test_tile_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        settings = self.env["res.config.settings"].create(
            {
                "crowd_map_tile_url": "https://tiles.example.com/{z}/{x}/{y}.png",
                "crowd_map_tile_attribution": '<a href="https://example.com">Example</a><script>alert(1)</script>',
                "crowd_coverage_cell_km": 2.5,
            }
        )
        settings.execute()
        self.assertEqual(params.get_param(PARAM_TILE_URL), "https://tiles.example.com/{z}/{x}/{y}.png")
        data = self.map_data(self.dispatcher)
        self.assertEqual(data["tile"]["url"], "https://tiles.example.com/{z}/{x}/{y}.png")
        self.assertIn("Example", data["tile"]["attribution"])
        self.assertNotIn("<script", data["tile"]["attribution"])
        self.assertEqual(data["cells"]["cell_km"], 2.5)
        # refused in the settings, nothing saved
        for vals in (
            {"crowd_map_tile_url": "javascript:alert(1)//{z}{x}{y}"},
            {"crowd_map_tile_url": "https://tiles.example.com/static.png"},
            {"crowd_coverage_cell_km": 0.0},
            {"crowd_coverage_cell_km": 1000.0},
        ):
            with self.assertRaises(ValidationError):
                self.env["res.config.settings"].create(vals)
        self.assertEqual(params.get_param(PARAM_TILE_URL), "https://tiles.example.com/{z}/{x}/{y}.png")
        # a bad value typed into the system parameters by hand falls back to the defaults
        params.set_param(PARAM_TILE_URL, "ftp://x")
        params.set_param(PARAM_CELL_KM, "abc")
        params.set_param(PARAM_TILE_ATTRIBUTION, "")
        data = self.map_data(self.dispatcher)
        self.assertEqual(data["tile"]["url"], DEFAULT_TILE_URL)
        self.assertEqual(data["cells"]["cell_km"], crowd_map.DEFAULT_CELL_KM)
        self.assertIn("OpenStreetMap", data["tile"]["attribution"])
