import re

from odoo.http import Request
from odoo.tests import HttpCase, tagged

from .common_join import PDF, PNG, CrowdJoinCommon


@tagged("post_install", "-at_install")
class TestCrowdJoinPages(CrowdJoinCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_join()
        cls.Partner = cls.env["res.partner"]

    def setUp(self):
        super().setUp()
        self.authenticate(None, None)  # a public (logged out) session

    def _form(self, **overrides):
        data = {
            "name": "Lena Frei",
            "email": "lena.frei@example.com",
            "phone": "+41 79 555 01 02",
            "city": "Bern",
            "latitude": "46.948",
            "longitude": "7.4474",
            "radius_km": "40",
            f"skill_{self.skill.id}": str(self.level_expert.id),
            "cert_type_0": str(self.cert_type.id),
            "cert_number_0": "SAFE-42",
            "cert_expiry_0": "2099-12-31",
        }
        data.update(overrides)
        return data

    def _post(self, data, files=None):
        data = dict(data, csrf_token=Request.csrf_token(self))
        if files is None:
            files = {"cert_file_0": ("pass.png", PNG, "image/png")}
        return self.url_open("/crowd/join", data=data, files=files)

    def _applicants(self):
        return self.Partner.search([("crowd_state", "=", "applied"), ("email", "ilike", "@example.com")])

    def test_tour_public_form(self):
        # warm up (routing map, assets) so that the browser's first request is not kept waiting
        self.assertEqual(self.url_open("/crowd/join").status_code, 200)
        self.start_tour("/crowd/join", "crowd_join_tour", login=None)
        partner = self.Partner.search([("email", "=", "tina.tour@example.com")])
        self.assertRecordValues(
            partner,
            [{"name": "Tina Tour", "crowd_state": "applied", "partner_latitude": 46.948, "crowd_radius_km": 45.0}],
        )
        self.assertEqual(partner.crowd_skill_ids.level_id, self.level_expert)
        self.assertEqual(partner.crowd_certificate_ids.number, "SAFE-77")
        self.assertEqual(partner.crowd_certificate_ids.attachment_ids.name, "safety-pass.png")

    def test_page_is_public_and_linked_from_login(self):
        res = self.url_open("/crowd/join")
        self.assertEqual(res.status_code, 200)
        self.assertIn("Join tour skill", res.text)
        self.assertIn("Join safety pass", res.text)
        self.assertIn('href="/crowd/join"', self.url_open("/web/login").text)

    def test_post_creates_the_application(self):
        res = self._post(self._form())
        self.assertTrue(res.url.endswith("/crowd/join/thanks"), res.url)
        partner = self._applicants()
        self.assertEqual(partner.name, "Lena Frei")
        self.assertEqual(partner.crowd_certificate_ids.attachment_ids.raw, PNG)

    def test_honeypot_creates_nothing(self):
        res = self._post(self._form(crowd_website="http://cheap-pills.example.com"))
        self.assertTrue(res.url.endswith("/crowd/join/thanks"), "a robot sees the same answer")
        self.assertFalse(self._applicants())

    def test_rate_limit_per_ip(self):
        self.env["ir.config_parameter"].sudo().set_param("crowd_service_portal.join_rate_limit", 3)
        for index in range(3):
            res = self._post(self._form(email=f"applicant{index}@example.com"))
            self.assertTrue(res.url.endswith("/crowd/join/thanks"), res.text[:500])
        res = self._post(self._form(email="applicant4@example.com"))
        self.assertIn("Too many applications", res.text)
        self.assertEqual(len(self._applicants()), 3)
        self.assertEqual(self.env["crowd.join.attempt"].search([("ip_address", "=", "127.0.0.1")]).attempt_count, 3)

    def test_forged_privileged_fields_are_ignored(self):
        other_company = self.env["res.company"].create({"name": "Join forged company"})
        forged = {
            "crowd_state": "active",
            "crowd_tier": "specialist",
            "crowd_kind": "employee",
            "crowd_rating": "5",
            "crowd_company_id": str(other_company.id),
            "company_id": str(other_company.id),
            "crowd_pool": "own",
            "verified": "1",
            "state": "verified",
            "is_company": "1",
            "crowd_online": "1",
            "crowd_email_confirmed_on": "2020-01-01 00:00:00",
        }
        self._post(self._form(**forged))
        partner = self._applicants()
        self.assertRecordValues(
            partner,
            [{"crowd_state": "applied", "crowd_tier": "technician", "crowd_kind": "freelance", "crowd_rating": 0.0,
              "crowd_company_id": self.env.company.id, "company_id": False, "is_company": False,
              "crowd_online": False, "crowd_email_confirmed_on": False}],
        )  # fmt: skip
        self.assertEqual(partner.crowd_certificate_ids.state, "pending")
        self.assertFalse(partner.crowd_skill_ids.verified)

    def test_file_type_and_size_refused(self):
        res = self._post(self._form(), files={"cert_file_0": ("pass.png", b"MZ\x90\x00 not an image", "image/png")})
        self.assertIn("JPEG, PNG or PDF only", res.text)
        self.env["ir.config_parameter"].sudo().set_param("crowd_service_portal.join_max_file_mb", 1)
        big = PDF + b"0" * (1024 * 1024)
        res = self._post(self._form(), files={"cert_file_0": ("big.pdf", big, "application/pdf")})
        self.assertIn("larger than 1 MB", res.text)
        self.assertIn('value="Lena Frei"', res.text, "the form keeps what was typed")
        self.assertFalse(self._applicants())

    def test_confirm_page_and_odoo_signup_link(self):
        self._post(self._form())
        partner = self._applicants()
        mail = self._mails(partner, "Confirm your e-mail")
        token = re.search(r"/crowd/join/confirm\?token=([\w.\-]+)", mail.body_html).group(1)
        res = self.url_open(f"/web/signup?token={token}")
        self.assertIn("/crowd/join/confirm", res.url, "Odoo's signup page sends the applicant to their own page")
        self.assertIn("o_crowd_join_confirm_form", res.text)
        res = self.url_open(
            "/crowd/join/confirm",
            data={"token": token, "password": "s3cret-pass", "confirm_password": "s3cret-pass",
                  "csrf_token": Request.csrf_token(self)},
        )  # fmt: skip
        self.assertIn("o_crowd_join_confirmed", res.text)
        user = partner._crowd_join_user()
        self.assertFalse(user.active)
        self.assertTrue(partner.crowd_email_confirmed_on)
        res = self.url_open(
            "/web/login",
            data={"login": user.login, "password": "s3cret-pass", "csrf_token": Request.csrf_token(self)},
        )
        self.assertIn("Wrong login/password", res.text, "no access before the approval")
        res = self.url_open(f"/crowd/join/confirm?token={token}")
        self.assertIn("o_crowd_join_invalid", res.text, "the link works once")

    def test_invite_link_prefills(self):
        token = self.Partner.with_user(self.dispatcher)._crowd_join_invite_token(
            "Max Invited", "max@example.com", "Lift AG", self.skill.ids
        )
        res = self.url_open(f"/crowd/join?invite={token}")
        self.assertIn('value="Max Invited"', res.text)
        self.assertIn('value="max@example.com"', res.text)
        self.assertIn('value="Lift AG"', res.text)
        self.assertIn("o_crowd_join_invited", res.text)
        res = self.url_open("/crowd/join?invite=forged-token")
        self.assertNotIn("o_crowd_join_invited", res.text)
