import re
from datetime import datetime

from odoo.tests import new_test_user, tagged

from .test_portal import SITE, CrowdPortalCase


def _dd(html, css_class):
    """The text of the first element with ``css_class`` (tags stripped)."""
    match = re.search(rf'class="[^"]*\b{css_class}\b[^"]*"[^>]*>(.*?)</d[dt]>', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else None


@tagged("post_install", "-at_install")
class TestCrowdPortalPhone(CrowdPortalCase):
    """The expert's and the customer's flows in headless Chromium on a 375 px wide phone."""

    browser_size = "375x667"

    def test_tour_expert_from_home_accepts_checks_in_and_completes(self):
        self.start_tour("/my", "crowd_expert_tour", login="expert1_portal")
        self.assertEqual(self.offer_1.state, "accepted")
        self.assertEqual(self.job.state, "done")
        self.assertEqual(self.job.resolution, "Seal replaced")
        self.assertAlmostEqual(self.job.checkin_latitude, 46.948)

    def test_tour_expert_without_offer_reaches_the_availability_switch(self):
        self.offer_2.sudo().write({"state": "expired"})
        partner = self.expert_2.partner_id
        partner.sudo().crowd_online = False
        self.start_tour("/my", "crowd_expert_availability_tour", login="expert2_portal")
        self.assertTrue(partner.crowd_online)

    def test_tour_customer_requests_service_and_rates_the_visit(self):
        self.start_tour("/my", "crowd_customer_request_tour", login="customer_a_portal")
        created = self.env["maintenance.request"].sudo().search([("name", "ilike", "Conveyor stopped")])
        self.assertEqual(created.mapped("name"), ["Conveyor stopped on line 3"])
        self.assertEqual(created.equipment_id, self.equipment_a)
        self._complete()
        self.start_tour(f"/my/service/{self.job.id}", "crowd_customer_rate_tour", login="customer_a_portal")
        self.assertEqual(self.job.rating_ids.filtered("consumed").rating, 5)
        self.assertEqual(self.expert_1.partner_id.crowd_rating, 5.0)


@tagged("post_install", "-at_install")
class TestCrowdPortalHome(CrowdPortalCase):
    """The portal home: the product's tiles are always there, with their counts; irrelevant core tiles are not."""

    def _home(self, login):
        self.authenticate(login, login)
        res = self.url_open("/my")
        self.assertEqual(res.status_code, 200)
        return res.text

    @staticmethod
    def _count(html, tile):
        match = re.search(rf'{tile}.*?o_crowd_tile_count"[^>]*>(\d+)<', html, re.S)
        return int(match.group(1)) if match else None

    def test_expert_tiles_always_shown_with_counts(self):
        html = self._home("expert1_portal")
        for tile in ("offers", "jobs", "availability", "profile"):
            self.assertIn(f"o_crowd_tile_{tile}", html)
        self.assertNotIn("o_crowd_tile_services", html, "no customer tiles for an expert")
        self.assertEqual(self._count(html, "o_crowd_tile_offers"), 1)
        self.assertEqual(self._count(html, "o_crowd_tile_jobs"), 0)
        # the second expert loses their offer: the tile stays, with 0
        self.offer_2.sudo().write({"state": "withdrawn"})
        html = self._home("expert2_portal")
        self.assertEqual(self._count(html, "o_crowd_tile_offers"), 0)
        self.assertIn("o_crowd_tile_availability", html)

    def test_customer_tiles_always_shown_with_counts(self):
        html = self._home("customer_a_portal")
        self.assertIn("o_crowd_tile_service_new", html)
        self.assertEqual(self._count(html, "o_crowd_tile_services"), 1)
        self.assertNotIn("o_crowd_tile_offers", html, "no expert tiles for a customer")
        # a customer whose requests are all closed still reaches the request form
        self.job.sudo().write({"state": "cancelled"})
        html = self._home("customer_a_portal")
        self.assertEqual(self._count(html, "o_crowd_tile_services"), 0)
        self.assertIn("/my/service/new", html)

    def test_plain_portal_user_sees_no_crowd_tile(self):
        new_test_user(self.env, login="plain_portal", groups="base.group_portal")
        html = self._home("plain_portal")
        self.assertNotIn("o_crowd_tile", html)

    def test_vendor_bills_tile_hidden_for_experts(self):
        if "account.move" not in self.env:
            self.skipTest("account is not installed")
        html = self._home("customer_a_portal")
        self.assertIn('data-placeholder_count="bill_count"', html, "core tiles stay for customers")
        html = self._home("expert1_portal")
        self.assertNotIn('data-placeholder_count="bill_count"', html, "'Our Invoices' means nothing to an expert")
        self.assertNotIn('data-placeholder_count="invoice_count"', html, "nor customer invoices they do not have")
        self.assertIn('href="/my/security"', html, "the account settings stay")

    def test_every_page_has_a_title_and_a_way_back(self):
        self._accept()
        self.authenticate("expert1_portal", "expert1_portal")
        pages = {
            "/my/offers": "Offers",
            f"/my/offers/{self.offer_1.id}": "Offers",
            "/my/jobs": "Jobs",
            f"/my/jobs/{self.job.id}": "Jobs",
            "/my/crowd/availability": "Availability",
            "/my/crowd/profile": "Profile",
        }
        for url, crumb in pages.items():
            html = self.url_open(url).text
            self.assertIn('href="/my/home"', html, url)
            self.assertRegex(html, rf'class="breadcrumb-item[^"]*">\s*(<a [^>]*>)?{crumb}', url)
        self.authenticate("customer_a_portal", "customer_a_portal")
        for url in ("/my/service", "/my/service/new", f"/my/service/{self.job.id}"):
            html = self.url_open(url).text
            self.assertIn('href="/my/home"', html, url)
            self.assertRegex(html, r'class="breadcrumb-item[^"]*">\s*(<a [^>]*>)?Service requests', url)


@tagged("post_install", "-at_install")
class TestCrowdPortalContent(CrowdPortalCase):
    """What the pages show: times in the user's time zone, the contact, the outcome, the lists' filters."""

    def test_times_in_the_user_time_zone(self):
        deadline = datetime(2030, 1, 15, 3, 0)  # UTC
        self.job.sudo().sla_deadline = deadline
        self._accept()
        self.expert_1.tz = "Asia/Jakarta"  # UTC+7
        self.authenticate("expert1_portal", "expert1_portal")
        shown = _dd(self.url_open(f"/my/jobs/{self.job.id}").text, "o_crowd_sla")
        self.assertIn("10:00", shown)
        self.assertNotIn("03:00", shown)
        # the customer in New York (UTC-5) reads the same deadline on the day before
        self.customer_user.tz = "America/New_York"
        self.authenticate("customer_a_portal", "customer_a_portal")
        html = self.url_open(f"/my/service/{self.job.id}").text
        self.assertRegex(html, r"01/14/2030 22:00")
        # a user without a time zone: the browser's (Odoo's tz cookie), never a made-up one
        self.customer_user.tz = False
        self.authenticate("customer_a_portal", "customer_a_portal")
        self.opener.cookies.set("tz", "Europe/Paris")
        html = self.url_open(f"/my/service/{self.job.id}").text
        self.assertRegex(html, r"01/15/2030 04:00")
        self.opener.cookies.set("tz", "Not/AZone")
        html = self.url_open(f"/my/service/{self.job.id}").text
        self.assertRegex(html, r"01/15/2030 03:00")

    def test_job_shows_contact_site_once_and_tap_targets(self):
        self.customer_user.partner_id.sudo().write({"name": "Carla Contact", "phone": "+41 31 555 99 88",
                                                    "email": "carla@example.com"})  # fmt: skip
        # the customer's user reported the request (create_uid is written by the ORM only)
        self.env.cr.execute(
            "UPDATE maintenance_request SET create_uid = %s WHERE id = %s",
            [self.customer_user.id, self.job.request_id.id],
        )
        self.env.invalidate_all()
        self._accept()
        self.authenticate("expert1_portal", "expert1_portal")
        html = self.url_open(f"/my/jobs/{self.job.id}").text
        self.assertIn("Carla Contact", html)
        self.assertIn('href="tel:+41315559988"', html)
        self.assertIn('href="mailto:carla@example.com"', html)
        self.assertIn(f'href="geo:{SITE[0]},{SITE[1]}', html)
        self.assertIn("openstreetmap.org/directions", html)
        self.assertEqual(html.count("Plant A"), 1, "the site's name once")
        self.assertEqual(html.count("Secretgasse 17"), 1, "its address once")

    def test_outcome_visible_to_expert_and_customer_after_completion(self):
        self._until_on_site()
        self.job.with_user(self.expert_1).action_report("Gasket worn out")
        self.job.with_user(self.expert_1).action_complete("Gasket replaced, tested")
        self.authenticate("expert1_portal", "expert1_portal")
        html = self.url_open(f"/my/jobs/{self.job.id}").text
        self.assertIn("Gasket replaced, tested", html)
        self.assertIn("Gasket worn out", html)
        self.assertNotIn("o_crowd_navigate", html, "no way to go to a done job")
        self.authenticate("customer_a_portal", "customer_a_portal")
        html = self.url_open(f"/my/service/{self.job.id}").text
        self.assertIn("o_crowd_outcome", html)
        self.assertIn("Gasket replaced, tested", html)
        self.assertIn("Gasket worn out", html)
        self.assertNotIn("o_crowd_eta", html, "no arrival time once done")

    def test_lists_filter_active_from_history(self):
        self.offer_1.with_user(self.expert_1).action_decline("Too far")
        self.authenticate("expert1_portal", "expert1_portal")
        self.assertNotIn(f"/my/offers/{self.offer_1.id}", self.url_open("/my/offers").text, "waiting only")
        self.assertIn(f"/my/offers/{self.offer_1.id}", self.url_open("/my/offers?filterby=history").text)
        self.assertIn(f"/my/offers/{self.offer_1.id}", self.url_open("/my/offers?filterby=all").text)
        self.authenticate("customer_a_portal", "customer_a_portal")
        self.assertIn("Press A-1 leaks oil", self.url_open("/my/service").text)
        self.assertNotIn("Press A-1 leaks oil", self.url_open("/my/service?filterby=history").text)

    def test_portal_request_answers_to_a_dispatcher_not_odoobot(self):
        dispatcher = new_test_user(
            self.env, login="rule_dispatcher", groups="base.group_user,crowd_service.group_crowd_user"
        )
        self.env["crowd.dispatch.rule"].create(
            {"name": "Customer A first", "sequence": 0, "customer_ids": [(6, 0, self.customer_a.ids)],
             "dispatcher_id": dispatcher.id}
        )  # fmt: skip
        created = (
            self.env["maintenance.request"]
            .with_user(self.customer_user)
            .crowd_request_service(self.equipment_a.id, "Valve stuck")
        )
        self.assertEqual(created.sudo().crowd_job_id.rule_id.dispatcher_id, dispatcher)
        self.assertEqual(created.sudo().user_id, dispatcher)
