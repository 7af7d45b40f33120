from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.http import Request
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

SITE = (46.9480, 7.4474)


@tagged("post_install", "-at_install")
class TestCrowdPortal(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        Partner = env["res.partner"]
        cls.customer_a = Partner.create({"name": "Customer A (portal test)", "is_company": True})
        cls.customer_b = Partner.create({"name": "Customer B (portal test)", "is_company": True})
        cls.site = Partner.create(
            {"name": "Plant A", "parent_id": cls.customer_a.id, "street": "Secretgasse 17", "phone": "+41 31 555 00 17"}
        )
        cls.equipment_a = env["maintenance.equipment"].create(
            {"name": "Press A-1", "crowd_customer_id": cls.customer_a.id, "crowd_site_id": cls.site.id,
             "crowd_latitude": SITE[0], "crowd_longitude": SITE[1]}
        )  # fmt: skip
        cls.equipment_b = env["maintenance.equipment"].create(
            {"name": "Lathe B-9", "crowd_customer_id": cls.customer_b.id,
             "crowd_latitude": SITE[0], "crowd_longitude": SITE[1]}
        )  # fmt: skip
        cls.expert_1 = cls._expert("Ella Portal", "expert1_portal")
        cls.expert_2 = cls._expert("Otto Other", "expert2_portal")
        cls.customer_user = new_test_user(env, login="customer_a_portal", groups="base.group_portal")
        cls.customer_user.partner_id.parent_id = cls.customer_a
        cls.customer_b_user = new_test_user(env, login="customer_b_portal", groups="base.group_portal")
        cls.customer_b_user.partner_id.parent_id = cls.customer_b
        cls.job = cls._request("Press A-1 leaks oil", cls.equipment_a)
        cls.job_b = cls._request("Lathe B-9 noise", cls.equipment_b)
        now = fields.Datetime.now()
        Offer = env["crowd.dispatch.offer"].sudo()
        cls.job.crowd_offer_ids.sudo().unlink()
        cls.job.sudo().write({"crowd_dispatch_state": "offered", "crowd_expert_id": False})
        cls.offer_1 = Offer.create(
            {"request_id": cls.job.id, "expert_id": cls.expert_1.partner_id.id, "rank": 1, "score": 0.8,
             "explanation": "3 min away (1.2 km); top-rated (4.9/5)", "distance_km": 1.2, "eta_min": 3,
             "sent_at": now, "expires_at": now + timedelta(hours=1)}
        )  # fmt: skip
        cls.offer_2 = Offer.create(
            {"request_id": cls.job.id, "expert_id": cls.expert_2.partner_id.id, "rank": 2, "score": 0.7,
             "explanation": "OTTO-ONLY-EXPLANATION", "distance_km": 5, "eta_min": 12,
             "sent_at": now, "expires_at": now + timedelta(hours=1)}
        )  # fmt: skip

    @classmethod
    def _expert(cls, name, login):
        user = new_test_user(cls.env, login=login, name=name, groups="base.group_portal")
        user.partner_id.write(
            {"is_crowd_expert": True, "crowd_kind": "freelance", "crowd_tier": "first_responder",
             "crowd_state": "active", "partner_latitude": SITE[0], "partner_longitude": SITE[1]}
        )  # fmt: skip
        return user

    @classmethod
    def _request(cls, name, equipment):
        return (
            cls.env["maintenance.request"]
            .sudo()
            .create(
                {
                    "name": name,
                    "equipment_id": equipment.id,
                    "crowd_site_id": equipment.crowd_site_id.id,
                    "crowd_latitude": SITE[0],
                    "crowd_longitude": SITE[1],
                }
            )
        )

    def _post(self, url, data=None, csrf=True):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = Request.csrf_token(self)
        return self.url_open(url, data=data)

    # ---------------------------------------------------------------- offers
    def test_offers_list_and_detail_show_own_offer_only(self):
        self.authenticate("expert1_portal", "expert1_portal")
        res = self.url_open("/my/offers")
        self.assertEqual(res.status_code, 200)
        self.assertIn("Press A-1 leaks oil", res.text)
        res = self.url_open(f"/my/offers/{self.offer_1.id}")
        self.assertIn("top-rated (4.9/5)", res.text)
        self.assertIn("Press A-1", res.text)
        # confidential until acceptance: no address, no phone
        self.assertNotIn("Secretgasse", res.text)
        self.assertNotIn("555 00 17", res.text)
        # another expert's offer: redirected, never its data
        res = self.url_open(f"/my/offers/{self.offer_2.id}")
        self.assertTrue(res.url.endswith("/my/offers"))
        self.assertNotIn("OTTO-ONLY-EXPLANATION", res.text)
        res = self.url_open("/my/offers/999999")
        self.assertTrue(res.url.endswith("/my/offers"))

    def test_home_counters(self):
        self.authenticate("expert1_portal", "expert1_portal")
        result = self.make_jsonrpc_request("/my/counters", {"counters": ["crowd_offer_count", "crowd_job_count"]})
        self.assertEqual(result, {"crowd_offer_count": 1, "crowd_job_count": 0})

    def test_accept_wins_and_shows_the_job(self):
        self.authenticate("expert1_portal", "expert1_portal")
        res = self._post(f"/my/offers/{self.offer_1.id}/accept")
        self.assertEqual(res.status_code, 200)
        self.assertEqual(self.offer_1.state, "accepted")
        self.assertEqual(self.offer_2.state, "withdrawn")
        self.assertEqual(self.job.crowd_expert_id, self.expert_1.partner_id)
        self.assertEqual(self.job.crowd_dispatch_state, "assigned")
        self.assertIn("Secretgasse 17", res.text, "after acceptance the site is shown")
        # the other expert now gets a clear message and nothing changes
        self.authenticate("expert2_portal", "expert2_portal")
        res = self._post(f"/my/offers/{self.offer_2.id}/accept")
        self.assertIn("withdrawn", res.text)
        self.assertEqual(self.job.crowd_expert_id, self.expert_1.partner_id)

    def test_post_without_csrf_is_refused(self):
        self.authenticate("expert1_portal", "expert1_portal")
        with mute_logger("odoo.http"):  # "No CSRF validation token provided" is the expected refusal
            res = self._post(f"/my/offers/{self.offer_1.id}/accept", {"confirm": "1"}, csrf=False)
        self.assertEqual(res.status_code, 400)
        self.assertEqual(self.offer_1.state, "pending")

    def test_answering_someone_elses_offer_is_refused(self):
        self.authenticate("expert2_portal", "expert2_portal")
        res = self._post(f"/my/offers/{self.offer_1.id}/accept")
        self.assertTrue(res.url.endswith("/my/offers"))
        self.assertEqual(self.offer_1.state, "pending")
        self._post(f"/my/offers/{self.offer_1.id}/decline", {"reason": "no"})
        self.assertEqual(self.offer_1.state, "pending")

    def test_decline_with_reason(self):
        self.authenticate("expert2_portal", "expert2_portal")
        self._post(f"/my/offers/{self.offer_2.id}/decline", {"reason": "Too far today"})
        self.assertEqual(self.offer_2.state, "declined")
        self.assertEqual(self.offer_2.decline_reason, "Too far today")

    # ------------------------------------------------------------------ jobs
    def test_visit_flow_and_bad_input(self):
        self.offer_1.with_user(self.expert_1).action_accept()
        self.authenticate("expert1_portal", "expert1_portal")
        self._post(f"/my/jobs/{self.job.id}/en_route", {"eta_minutes": "15"})
        self.assertEqual(self.job.crowd_dispatch_state, "en_route")
        res = self._post(f"/my/jobs/{self.job.id}/check_in", {"latitude": "abc", "longitude": "7.4"})
        self.assertIn("must be a number", res.text)
        res = self._post(f"/my/jobs/{self.job.id}/check_in", {"latitude": "123", "longitude": "7.4"})
        self.assertIn("Invalid check-in position", res.text)
        self.assertEqual(self.job.crowd_dispatch_state, "en_route", "bad positions change nothing")
        self._post(f"/my/jobs/{self.job.id}/check_in", {"latitude": str(SITE[0]), "longitude": str(SITE[1])})
        self.assertEqual(self.job.crowd_dispatch_state, "on_site")
        self.assertFalse(self.job.crowd_checkin_far)
        self._post(f"/my/jobs/{self.job.id}/report", {"notes": "Seal replaced"})
        self.assertIn("Seal replaced", str(self.job.crowd_report))
        self._post(f"/my/jobs/{self.job.id}/complete", {"resolution": "Fixed"})
        self.assertEqual(self.job.crowd_dispatch_state, "done")
        self.assertEqual(self.job.crowd_resolution, "Fixed")
        self.assertEqual(self.url_open(f"/my/jobs/{self.job.id}/teleport", data={
            "csrf_token": Request.csrf_token(self)}).status_code, 404)  # fmt: skip

    def test_other_expert_cannot_see_or_drive_the_job(self):
        self.offer_1.with_user(self.expert_1).action_accept()
        self.authenticate("expert2_portal", "expert2_portal")
        res = self.url_open(f"/my/jobs/{self.job.id}")
        self.assertTrue(res.url.endswith("/my/jobs"))
        self.assertNotIn("Secretgasse", res.text)
        self._post(f"/my/jobs/{self.job.id}/en_route", {"eta_minutes": "5"})
        self.assertEqual(self.job.crowd_dispatch_state, "assigned")

    def test_orm_rules_for_portal_experts(self):
        self.offer_1.with_user(self.expert_1).action_accept()
        self.job.with_user(self.expert_1).check_access("read")
        with self.assertRaises(AccessError):
            self.job.with_user(self.expert_2).check_access("read")
        with self.assertRaises(AccessError):
            self.offer_1.with_user(self.expert_2).check_access("read")
        with self.assertRaises(AccessError):
            self.job.with_user(self.expert_1).write({"crowd_resolution": "hack"})

    def test_availability_switch(self):
        self.authenticate("expert1_portal", "expert1_portal")
        self._post("/my/crowd/availability", {"online": "1", "latitude": "46.9", "longitude": "7.4"})
        partner = self.expert_1.partner_id
        self.assertTrue(partner.crowd_online)
        self.assertAlmostEqual(partner.partner_latitude, 46.9)
        self._post("/my/crowd/availability", {"online": "0", "latitude": "999", "longitude": "7.4"})
        self.assertTrue(partner.crowd_online, "an invalid position changes nothing")

    # -------------------------------------------------------------- customers
    def test_customer_requests_service_for_own_equipment_only(self):
        self.authenticate("customer_a_portal", "customer_a_portal")
        res = self.url_open("/my/service/new")
        self.assertIn("Press A-1", res.text)
        self.assertNotIn("Lathe B-9", res.text)
        Request_ = self.env["maintenance.request"]
        before = Request_.search_count([])
        res = self._post("/my/service/new", {"equipment": str(self.equipment_b.id), "name": "Sneaky"})
        self.assertIn("Choose one of your company", res.text)
        res = self._post("/my/service/new", {"equipment": str(self.equipment_a.id), "name": "", "priority": "3"})
        self.assertIn("Describe the problem", res.text)
        res = self._post("/my/service/new", {"equipment": str(self.equipment_a.id), "name": "X", "priority": "9"})
        self.assertIn("Unknown priority", res.text)
        self.assertEqual(Request_.search_count([]), before, "refused requests write nothing")
        res = self._post(
            "/my/service/new",
            {"equipment": str(self.equipment_a.id), "name": "Press stopped", "priority": "3", "description": "Red"},
        )
        created = Request_.search([("name", "=", "Press stopped")])
        self.assertEqual(len(created), 1)
        self.assertEqual(created.equipment_id, self.equipment_a)
        self.assertEqual(created.priority, "3")
        self.assertTrue(res.url.endswith(f"/my/service/{created.id}"))
        self.assertIn("Press stopped", res.text)

    def test_customer_tracks_own_requests_only(self):
        self.offer_1.with_user(self.expert_1).action_accept()
        self.authenticate("customer_a_portal", "customer_a_portal")
        res = self.url_open(f"/my/service/{self.job.id}")
        self.assertIn("Press A-1 leaks oil", res.text)
        self.assertIn("Ella", res.text)
        self.assertNotIn("Ella Portal", res.text, "the expert's first name only")
        res = self.url_open(f"/my/service/{self.job_b.id}")
        self.assertTrue(res.url.endswith("/my/service"))
        self.assertNotIn("Lathe B-9 noise", res.text)
        with self.assertRaises(AccessError):
            self.job_b.with_user(self.customer_user).check_access("read")
        self.job_b.with_user(self.customer_b_user).check_access("read")

    def test_customer_cannot_use_expert_routes(self):
        self.authenticate("customer_a_portal", "customer_a_portal")
        res = self._post(f"/my/offers/{self.offer_1.id}/accept")
        self.assertTrue(res.url.endswith("/my/offers"))
        self.assertEqual(self.offer_1.state, "pending")
        self.assertFalse(self.customer_user.partner_id.crowd_online)
        self._post("/my/crowd/availability", {"online": "1"})
        self.assertFalse(self.customer_user.partner_id.crowd_online)

    # ---------------------------------------------------------------- rating
    def _complete_job(self):
        self.offer_1.with_user(self.expert_1).action_accept()
        job = self.job.with_user(self.expert_1).sudo()
        job.action_crowd_en_route(10)
        job.action_crowd_check_in(*SITE)
        job.action_crowd_complete("Fixed")

    def test_customer_rates_a_completed_visit_once_and_it_feeds_the_expert(self):
        self.authenticate("customer_a_portal", "customer_a_portal")
        res = self._post(f"/my/service/{self.job.id}/rate", {"rating": "5"})
        self.assertIn("once it is completed", res.text)
        self.assertFalse(self.job.rating_ids.filtered("consumed"))
        self._complete_job()
        res = self._post(f"/my/service/{self.job.id}/rate", {"rating": "6"})
        self.assertIn("from 1 to 5", res.text)
        res = self._post(f"/my/service/{self.job.id}/rate", {"rating": "x"})
        self.assertIn("from 1 to 5", res.text)
        self.assertFalse(self.job.rating_ids.filtered("consumed"), "bad ratings write nothing")
        res = self._post(f"/my/service/{self.job.id}/rate", {"rating": "4", "comment": "Quick and clean"})
        rating = self.job.rating_ids.filtered("consumed")
        self.assertEqual((rating.rating, rating.feedback), (4, "Quick and clean"))
        self.assertEqual(rating.rated_partner_id, self.expert_1.partner_id)
        self.assertEqual(self.expert_1.partner_id.crowd_rating, 4.0)
        self.assertIn("You rated this visit", res.text)
        res = self._post(f"/my/service/{self.job.id}/rate", {"rating": "1"})
        self.assertIn("already rated", res.text)
        self.assertEqual(self.expert_1.partner_id.crowd_rating, 4.0)
        # another company's customer cannot rate it
        self.authenticate("customer_b_portal", "customer_b_portal")
        res = self._post(f"/my/service/{self.job.id}/rate", {"rating": "1"})
        self.assertTrue(res.url.endswith("/my/service"))
        self.assertEqual(len(self.job.rating_ids.filtered("consumed")), 1)

    def test_rating_by_email_token_feeds_the_expert_too(self):
        self._complete_job()
        token = self.job.sudo()._rating_get_access_token()
        res = self.url_open(f"/rate/{token}/5")  # the link of the rating e-mail, no login needed
        self.assertEqual(res.status_code, 200)
        self.assertEqual(self.expert_1.partner_id.crowd_rating, 5.0)
        self.assertEqual(self.job.rating_ids.filtered("consumed").rated_partner_id, self.expert_1.partner_id)

    # ---------------------------------------------------------- browser tours
    def test_tour_expert_accepts_checks_in_and_completes(self):
        self.start_tour(f"/my/offers/{self.offer_1.id}", "crowd_expert_tour", login="expert1_portal")
        self.assertEqual(self.offer_1.state, "accepted")
        self.assertEqual(self.job.crowd_dispatch_state, "done")
        self.assertEqual(self.job.crowd_resolution, "Seal replaced")
        self.assertAlmostEqual(self.job.crowd_checkin_latitude, 46.948)

    def test_tour_customer_requests_service_and_rates_the_visit(self):
        self.start_tour("/my/service/new", "crowd_customer_request_tour", login="customer_a_portal")
        created = self.env["maintenance.request"].sudo().search([("name", "ilike", "Conveyor stopped")])
        self.assertEqual(created.mapped("name"), ["Conveyor stopped on line 3"])
        self.assertEqual(created.equipment_id, self.equipment_a)
        self._complete_job()
        self.start_tour(f"/my/service/{self.job.id}", "crowd_customer_rate_tour", login="customer_a_portal")
        self.assertEqual(self.job.rating_ids.filtered("consumed").rating, 5)
        self.assertEqual(self.expert_1.partner_id.crowd_rating, 5.0)

    # ------------------------------------------------------ uploads, profile
    PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    def _post_files(self, url, data, files):
        data = dict(data, csrf_token=Request.csrf_token(self))
        return self.url_open(url, data=data, files=files)

    def test_report_photos_are_checked_and_attached(self):
        self._complete_job_until_on_site()
        self.authenticate("expert1_portal", "expert1_portal")
        url = f"/my/jobs/{self.job.id}/report"
        res = self._post_files(url, {"notes": "Too big"}, {"photos": ("big.png", self.PNG + b"0" * (10 * 1024 * 1024))})
        self.assertIn("larger than 10 MB", res.text)
        res = self._post_files(url, {"notes": "Wrong type"}, {"photos": ("notes.txt", b"just text")})
        self.assertIn("not a JPEG, PNG or PDF", res.text)
        self.assertFalse(self.job.crowd_report, "refused reports write nothing")
        self.assertFalse(self.env["ir.attachment"].search([("res_model", "=", "maintenance.request"),
                                                           ("res_id", "=", self.job.id)]))  # fmt: skip
        self._post_files(url, {"notes": "Seal replaced"}, {"photos": ("seal.png", self.PNG)})
        self.assertIn("Seal replaced", str(self.job.crowd_report))
        self.assertEqual(self.job.crowd_report_attachment_ids.mapped("name"), ["seal.png"])

    def _complete_job_until_on_site(self):
        self.offer_1.with_user(self.expert_1).action_accept()
        job = self.job.with_user(self.expert_1).sudo()
        job.action_crowd_en_route(10)
        job.action_crowd_check_in(*SITE)

    def test_profile_and_certificate_upload(self):
        ctype = self.env["crowd.certificate.type"].create({"name": "Lift safety (portal)", "code": "P_LIFT"})
        self.expert_1.partner_id.sudo().crowd_state = "candidate"
        self.authenticate("expert1_portal", "expert1_portal")
        res = self.url_open("/my/crowd/profile")
        self.assertIn("Upload a certificate", res.text)
        self.assertIn("Getting started", res.text, "candidates see the onboarding checklist")
        Cert = self.env["crowd.expert.certificate"]
        url = "/my/crowd/certificates"
        base = {"type_id": str(ctype.id), "number": "LS-1"}
        res = self._post_files(url, dict(base, issue_date="2026-05-01", expiry_date="2025-01-01"),
                               {"document": ("c.png", self.PNG)})  # fmt: skip
        self.assertIn("before it was issued", res.text)
        self.assertFalse(Cert.search([("partner_id", "=", self.expert_1.partner_id.id)]))
        res = self._post_files(url, base, {"document": ("c.txt", b"text")})
        self.assertIn("not a JPEG, PNG or PDF", res.text)
        res = self._post_files(url, dict(base, type_id="0"), {"document": ("c.png", self.PNG)})
        self.assertIn("Choose the type", res.text)
        self.assertFalse(Cert.search([("partner_id", "=", self.expert_1.partner_id.id)]))
        self._post_files(url, dict(base, issue_date="2026-01-01", expiry_date="2029-01-01"),
                         {"document": ("c.png", self.PNG)})  # fmt: skip
        cert = Cert.search([("partner_id", "=", self.expert_1.partner_id.id)])
        self.assertEqual((cert.state, cert.number, cert.type_id), ("pending", "LS-1", ctype))
        self.assertEqual(cert.attachment_ids.mapped("name"), ["c.png"])
        # a customer has no expert profile
        self.authenticate("customer_a_portal", "customer_a_portal")
        self.assertTrue(self.url_open("/my/crowd/profile").url.endswith("/my"))

    def test_qr_label_points_to_the_request_form_of_the_asset(self):
        report = self.env.ref("crowd_service_portal.action_report_equipment_qr_label")
        html, _kind = report._render_qweb_html(report.report_name, self.equipment_a.ids)
        html = html.decode()
        self.assertIn("Press A-1", html)
        self.assertIn("/report/barcode/?barcode_type=QR", html)
        self.assertIn(f"/my/service/new?equipment={self.equipment_a.id}", html)
        # the QR's target pre-selects the asset for its customer
        self.authenticate("customer_a_portal", "customer_a_portal")
        res = self.url_open(f"/my/service/new?equipment={self.equipment_a.id}")
        self.assertRegex(res.text, rf'<option value="{self.equipment_a.id}" selected="[^"]+">Press A-1')
