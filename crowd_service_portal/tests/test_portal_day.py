"""The technician's day in the portal (issue 11): today's stops in order, times in the user's time zone, a
navigation link per stop, and only the technician's own route (404 otherwise)."""

from datetime import datetime, time, timedelta

import pytz

from odoo.tests import HttpCase, new_test_user, tagged

SITE = (46.9480, 7.4474)


@tagged("post_install", "-at_install", "crowd_route")
class TestPortalDay(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.tech = cls._tech("Tina Route", "tina_day")
        cls.other = cls._tech("Oskar Route", "oskar_day")
        cls.customer = new_test_user(env, login="customer_day", groups="base.group_portal")
        Route = env["crowd.route"].sudo()
        cls.today = Route._crowd_today(env.company)
        cls.route = cls._route(cls.tech.partner_id, ["Boiler service Tina", "Lift check Tina"])
        cls.other_route = cls._route(cls.other.partner_id, ["Secret visit Oskar"])

    @classmethod
    def _tech(cls, name, login):
        user = new_test_user(cls.env, login=login, name=name, groups="base.group_portal", tz="Europe/Zurich")
        user.partner_id.write(
            {"is_crowd_expert": True, "crowd_kind": "employee", "crowd_state": "active",
             "partner_latitude": SITE[0], "partner_longitude": SITE[1]}
        )  # fmt: skip
        return user

    @classmethod
    def _route(cls, partner, names):
        env = cls.env
        origin = datetime.combine(cls.today, time(7, 0))  # 07:00 UTC = 08:00 in Zurich in winter, 09:00 in summer
        route = env["crowd.route"].sudo().create(
            {"technician_id": partner.id, "date": cls.today, "company_id": env.company.id,
             "home_latitude": SITE[0], "home_longitude": SITE[1]}
        )  # fmt: skip
        for index, name in enumerate(names):
            request = env["maintenance.request"].sudo().create({"name": name})
            job = (
                env["crowd.job"]
                .sudo()
                .create({"request_id": request.id, "latitude": SITE[0] + 0.01 * (index + 1), "longitude": SITE[1]})
            )
            job.write({"state": "assigned", "expert_id": partner.id})
            start = origin + timedelta(hours=index + 1)
            env["crowd.route.stop"].sudo().create(
                {"route_id": route.id, "job_id": job.id, "sequence": index + 1, "arrival_at": start,
                 "planned_start": start, "planned_end": start + timedelta(minutes=45), "travel_min": 10,
                 "travel_km": 5}
            )  # fmt: skip
        route._crowd_recompute()
        return route

    def test_day_shows_own_stops_in_order_with_links(self):
        self.authenticate("tina_day", "tina_day")
        res = self.url_open("/my/day")
        self.assertEqual(res.status_code, 200)
        text = res.text
        self.assertLess(text.index("Boiler service Tina"), text.index("Lift check Tina"), "stops in order")
        self.assertNotIn("Secret visit Oskar", text)
        stop = self.route.stop_ids.sorted("sequence")[0]
        self.assertIn(f"geo:{stop.latitude},{stop.longitude}", text)
        self.assertIn(f"destination={stop.latitude},{stop.longitude}", text)
        # the time in the technician's time zone (Europe/Zurich), not UTC
        local = pytz.utc.localize(stop.planned_start).astimezone(pytz.timezone("Europe/Zurich"))
        self.assertIn(local.strftime("%H:%M"), text)
        self.assertEqual(self.url_open(f"/my/day/{self.route.id}").status_code, 200)
        self.assertIn("My day", self.url_open("/my").text)

    def test_other_routes_and_unknown_ids_are_404(self):
        self.authenticate("tina_day", "tina_day")
        for url in (f"/my/day/{self.other_route.id}", "/my/day/987654321", f"/my/day/{10**20}"):
            res = self.url_open(url)
            self.assertEqual(res.status_code, 404, url)
            self.assertNotIn("Secret visit Oskar", res.text)
        self.authenticate("customer_day", "customer_day")
        self.assertEqual(self.url_open(f"/my/day/{self.route.id}").status_code, 404)
        res = self.url_open("/my/day")
        self.assertEqual(res.status_code, 200)
        self.assertIn("No planned visits for you today", res.text)
        self.assertNotIn("Boiler service Tina", res.text)

    def test_logged_out_goes_to_login(self):
        self.authenticate(None, None)
        res = self.url_open(f"/my/day/{self.route.id}", allow_redirects=False)
        self.assertIn(res.status_code, (302, 303))
        self.assertIn("/web/login", res.headers.get("Location", ""))
