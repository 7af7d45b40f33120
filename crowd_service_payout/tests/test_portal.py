from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestPayoutPortal(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.portal_user = new_test_user(
            cls.env, login="h7_portal_expert", groups="base.group_portal", password="h7_portal_expert"
        )
        expert = cls.portal_user.partner_id
        expert.write({"is_crowd_expert": True, "crowd_kind": "freelance", "crowd_tier": "technician"})
        other_expert = cls.env["res.partner"].create(
            {"name": "Other Expert", "is_crowd_expert": True, "crowd_kind": "freelance", "crowd_tier": "technician"}
        )
        Request = cls.env["maintenance.request"]
        Payout = cls.env["crowd.payout"]

        def payout(partner, amount, subject):
            request = Request.create({"name": subject, "company_id": company.id})
            job = cls.env["crowd.job"].create({"request_id": request.id, "expert_id": partner.id, "state": "done"})
            record = Payout.create(
                {
                    "job_id": job.id,
                    "expert_id": partner.id,
                    "amount": amount,
                    "is_manual": True,
                    "manual_reason": "portal test",
                    "date": fields.Date.today(),
                }
            )
            record._write_workflow({"state": "approved"})
            return record

        cls.own = payout(expert, 123.0, "H7 own job")
        cls.other = payout(other_expert, 456.0, "H7 secret job")

    def test_payouts_tile_always_shown_to_experts(self):
        self.authenticate("h7_portal_expert", "h7_portal_expert")
        html = self.url_open("/my").text
        self.assertRegex(html, r'(?s)o_crowd_tile_payouts.*?o_crowd_tile_count"[^>]*>1<')
        newcomer = new_test_user(self.env, login="h7_portal_new", groups="base.group_portal", password="h7_portal_new")
        newcomer.partner_id.write({"is_crowd_expert": True, "crowd_kind": "freelance", "crowd_tier": "technician"})
        self.authenticate("h7_portal_new", "h7_portal_new")
        html = self.url_open("/my").text
        empty = r'(?s)o_crowd_tile_payouts.*?o_crowd_tile_count"[^>]*>0<'
        self.assertRegex(html, empty, "shown before the first payout")
        # the payouts' vendor bills are not an expert's business on the portal home
        self.assertNotIn('data-placeholder_count="bill_count"', html)
        new_test_user(self.env, login="h7_portal_plain", groups="base.group_portal", password="h7_portal_plain")
        self.authenticate("h7_portal_plain", "h7_portal_plain")
        self.assertNotIn("o_crowd_tile_payouts", self.url_open("/my").text)

    def test_payouts_table_reflows_on_phones(self):
        self.authenticate("h7_portal_expert", "h7_portal_expert")
        html = self.url_open("/my/payouts").text
        self.assertIn("o_crowd_reflow_wrap", html)
        for label in ("Payout", "Job date", "Request", "Amount", "Status"):
            self.assertIn(f'data-label="{label}"', html)

    def test_my_payouts(self):
        self.authenticate("h7_portal_expert", "h7_portal_expert")
        response = self.url_open("/my/payouts")
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.own.name, response.text)
        self.assertIn("H7 own job", response.text)
        self.assertNotIn(self.other.name, response.text)
        self.assertNotIn("H7 secret job", response.text)
        # detail: own visible; another expert's and an unknown id get the same 404, with or
        # without a (wrong) access token, never a 500
        response = self.url_open(f"/my/payouts/{self.own.id}")
        self.assertEqual(response.status_code, 200)
        self.assertIn("H7 own job", response.text)
        unknown = self.other.id + 1000
        for url in (
            f"/my/payouts/{self.other.id}",
            f"/my/payouts/{self.other.id}?access_token=x",
            f"/my/payouts/{unknown}",
            f"/my/payouts/{unknown}?access_token=x",
            f"/my/payouts/{2**31}",
            f"/my/payouts/{10**20}",
            "/my/payouts/0",
        ):
            response = self.url_open(url, allow_redirects=False)
            self.assertEqual(response.status_code, 404, url)
            self.assertNotIn("H7 secret job", response.text)
        # home counter counts own payouts only
        response = self.make_jsonrpc_request("/my/counters", {"counters": ["crowd_payout_count"]})
        self.assertEqual(response, {"crowd_payout_count": 1})

    def test_access_token_link(self):
        """An e-mailed link carries the payout's access token: it opens the payout without a
        login; the token of one payout opens no other."""
        url = self.own.get_portal_url()
        self.assertIn("access_token=", url)
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        self.assertIn("H7 own job", response.text)
        response = self.url_open(
            f"/my/payouts/{self.other.id}?access_token={self.own.access_token}", allow_redirects=False
        )
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])
        self.assertNotIn("H7 secret job", response.text)

    def test_anonymous_redirected_to_login(self):
        response = self.url_open("/my/payouts", allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])
        # logged out, without a valid token: any payout id, known or not, leads to the login page
        for url in (
            f"/my/payouts/{self.own.id}",
            f"/my/payouts/{self.other.id}?access_token=x",
            f"/my/payouts/{self.other.id + 1000}",
            f"/my/payouts/{2**31}",
        ):
            response = self.url_open(url, allow_redirects=False)
            self.assertIn(response.status_code, (302, 303), url)
            self.assertIn("/web/login", response.headers["Location"], url)
            self.assertNotIn("H7", response.text)
