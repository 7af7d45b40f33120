from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.http import Request
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

SITE = (46.9480, 7.4474)
UNKNOWN_ID = 987654321
HUGE_ID = 10**20  # beyond PostgreSQL's integer
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class CrowdPortalCase(HttpCase):
    """Two customers with an asset each, two portal experts, a job offered to both, and the HTTP helpers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        Partner = env["res.partner"]
        cls.customer_a = Partner.create({"name": "Customer A (portal test)", "is_company": True})
        cls.customer_b = Partner.create({"name": "Customer B (portal test)", "is_company": True})
        cls.site = Partner.create(
            {"name": "Plant A", "parent_id": cls.customer_a.id, "street": "Secretgasse 17", "phone": "+41 31 555 00 17",
             "email": "plant-a@example.com"}
        )  # fmt: skip
        cls.equipment_a = env["maintenance.equipment"].create(
            {"name": "Press A-1", "crowd_customer_id": cls.customer_a.id, "crowd_site_id": cls.site.id,
             "crowd_latitude": SITE[0], "crowd_longitude": SITE[1]}
        )  # fmt: skip
        cls.equipment_b = env["maintenance.equipment"].create(
            {"name": "Lathe B-9", "crowd_customer_id": cls.customer_b.id,
             "crowd_latitude": SITE[0], "crowd_longitude": SITE[1]}
        )  # fmt: skip
        cls.expert_1 = cls._expert("Ella Portal", "expert1_portal", "first_responder")
        cls.expert_2 = cls._expert("Otto Other", "expert2_portal", "specialist")
        cls.customer_user = new_test_user(env, login="customer_a_portal", groups="base.group_portal")
        cls.customer_user.partner_id.parent_id = cls.customer_a
        cls.customer_b_user = new_test_user(env, login="customer_b_portal", groups="base.group_portal")
        cls.customer_b_user.partner_id.parent_id = cls.customer_b
        cls.job = cls._job("Press A-1 leaks oil", cls.equipment_a)
        cls.job_b = cls._job("Lathe B-9 noise", cls.equipment_b)
        now = fields.Datetime.now()
        Offer = env["crowd.dispatch.offer"].sudo()
        cls.offer_1 = Offer.create(
            {"job_id": cls.job.id, "expert_id": cls.expert_1.partner_id.id, "rank": 1, "score": 0.8,
             "reason_codes": [["travel", {"minutes": 3, "km": 1.2}], ["rating_top", {"rating": 4.9}]],
             "distance_km": 1.2, "eta_min": 3, "sent_at": now, "expires_at": now + timedelta(hours=1)}
        )  # fmt: skip
        cls.offer_2 = Offer.create(
            {"job_id": cls.job.id, "expert_id": cls.expert_2.partner_id.id, "rank": 2, "score": 0.7,
             "reason_codes": [["OTTO_ONLY_REASON", {}]], "distance_km": 5, "eta_min": 12,
             "sent_at": now, "expires_at": now + timedelta(hours=1)}
        )  # fmt: skip

    @classmethod
    def _expert(cls, name, login, tier):
        user = new_test_user(cls.env, login=login, name=name, groups="base.group_portal")
        user.partner_id.write(
            {"is_crowd_expert": True, "crowd_kind": "freelance", "crowd_tier": tier,
             "crowd_state": "active", "partner_latitude": SITE[0], "partner_longitude": SITE[1]}
        )  # fmt: skip
        return user

    @classmethod
    def _job(cls, name, equipment):
        """The first visit of a new request, reset to 'offered' with no offers (whatever the demo rules did)."""
        request = cls.env["maintenance.request"].sudo().create({"name": name, "equipment_id": equipment.id})
        job = request.crowd_job_id
        job.offer_ids.sudo().unlink()
        job.sudo().write({"state": "offered", "expert_id": False, "next_check_at": False})
        return job

    def _post(self, url, data=None, csrf=True):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = Request.csrf_token(self)
        return self.url_open(url, data=data)

    def _post_files(self, url, data, files):
        return self.url_open(url, data=dict(data, csrf_token=Request.csrf_token(self)), files=files)

    def _accept(self):
        self.offer_1.with_user(self.expert_1).action_accept()

    def _until_on_site(self):
        self._accept()
        job = self.job.with_user(self.expert_1)
        job.action_en_route(10)
        job.action_check_in(*SITE)

    def _complete(self):
        self._until_on_site()
        self.job.with_user(self.expert_1).action_complete("Fixed")

    def _snapshot(self, *records):
        fnames = {
            "crowd.job": ["state", "expert_id", "eta_at", "checkin_latitude", "report", "resolution",
                          "followup_ids", "rating_count"],
            "crowd.dispatch.offer": ["state", "decline_reason", "responded_at"],
        }  # fmt: skip
        self.env.invalidate_all()
        return [record.sudo().read(fnames[record._name]) for record in records]


@tagged("post_install", "-at_install")
class TestCrowdPortal(CrowdPortalCase):
    # ------------------------------------------------------- foreign and unknown ids
    def _assert_same_not_found(self, method, url_of, foreign_id, data=None, logged_out=False):
        """A foreign id and unknown ids get the same answer, and no trace of the foreign record: 404, or the
        login page when logged out."""
        answers = []
        for record_id in (foreign_id, UNKNOWN_ID, HUGE_ID):
            url = url_of(record_id)
            res = self._post(url, data) if method == "POST" else self.url_open(url)
            answers.append((res.status_code, "/web/login" in res.url))
            self.assertNotIn("Secretgasse", res.text, url)
            self.assertNotIn("Press A-1 leaks oil", res.text, url)
            self.assertNotIn("OTTO_ONLY_REASON", res.text, url)
        expected = (200, True) if logged_out else (404, False)
        self.assertEqual(answers, [expected] * 3, f"{method} {url_of('<id>')}")

    def test_every_route_answers_foreign_and_unknown_ids_alike(self):
        self._accept()  # the job is expert 1's; offer 2 (expert 2's) is withdrawn
        before = self._snapshot(self.job, self.job_b, self.offer_1, self.offer_2)
        # another expert: expert 1's offer and job
        self.authenticate("expert2_portal", "expert2_portal")
        self._assert_same_not_found("GET", lambda i: f"/my/offers/{i}", self.offer_1.id)
        self._assert_same_not_found("POST", lambda i: f"/my/offers/{i}/accept", self.offer_1.id)
        self._assert_same_not_found("POST", lambda i: f"/my/offers/{i}/decline", self.offer_1.id, {"reason": "x"})
        self._assert_same_not_found("GET", lambda i: f"/my/jobs/{i}", self.job.id)
        for action, data in (
            ("en_route", {"eta_minutes": "5"}),
            ("check_in", {"latitude": str(SITE[0]), "longitude": str(SITE[1])}),
            ("report", {"notes": "hack"}),
            ("complete", {"resolution": "hack"}),
            ("escalate", {"diagnosis": "hack"}),
        ):
            self._assert_same_not_found("POST", lambda i, a=action: f"/my/jobs/{i}/{a}", self.job.id, data)
        # a customer of another company: customer A's job
        self.authenticate("customer_b_portal", "customer_b_portal")
        self._assert_same_not_found("GET", lambda i: f"/my/service/{i}", self.job.id)
        self._assert_same_not_found("POST", lambda i: f"/my/service/{i}/rate", self.job.id, {"rating": "1"})
        self._assert_same_not_found("GET", lambda i: f"/my/jobs/{i}", self.job.id)
        self._assert_same_not_found("GET", lambda i: f"/my/offers/{i}", self.offer_1.id)
        # a customer cannot answer an expert's offer
        self.authenticate("customer_a_portal", "customer_a_portal")
        self._assert_same_not_found("POST", lambda i: f"/my/offers/{i}/accept", self.offer_2.id)
        # logged out, without a token: the login page, whatever the id
        self.authenticate(None, None)
        self._assert_same_not_found("GET", lambda i: f"/my/service/{i}", self.job.id, logged_out=True)
        self._assert_same_not_found("GET", lambda i: f"/my/jobs/{i}", self.job.id, logged_out=True)
        wrong_token = lambda i: f"/my/service/{i}?access_token={self.job_b.sudo()._portal_ensure_token()}"  # noqa: E731
        self._assert_same_not_found("GET", wrong_token, self.job.id, logged_out=True)
        self.assertEqual(self._snapshot(self.job, self.job_b, self.offer_1, self.offer_2), before, "nothing changed")

    def test_post_without_csrf_is_refused_and_changes_nothing(self):
        self._accept()
        before = self._snapshot(self.job, self.offer_1, self.offer_2)
        self.authenticate("expert1_portal", "expert1_portal")
        with mute_logger("odoo.http"):  # "No CSRF validation token provided" is the expected refusal
            for url, data in (
                (f"/my/offers/{self.offer_1.id}/decline", {"reason": "no"}),
                (f"/my/jobs/{self.job.id}/en_route", {"eta_minutes": "5"}),
                ("/my/crowd/availability", {"online": "1"}),
            ):
                self.assertEqual(self._post(url, data, csrf=False).status_code, 400, url)
        self.authenticate("customer_a_portal", "customer_a_portal")
        with mute_logger("odoo.http"):
            res = self._post("/my/service/new", {"equipment": str(self.equipment_a.id), "name": "No CSRF"}, csrf=False)
        self.assertEqual(res.status_code, 400)
        self.assertFalse(self.env["maintenance.request"].search([("name", "=", "No CSRF")]))
        self.assertEqual(self._snapshot(self.job, self.offer_1, self.offer_2), before)
        self.assertFalse(self.expert_1.partner_id.crowd_online)

    # ---------------------------------------------------------------- offers
    def test_offers_list_and_detail_show_own_offer_only(self):
        self.authenticate("expert1_portal", "expert1_portal")
        res = self.url_open("/my/offers")
        self.assertEqual(res.status_code, 200)
        self.assertIn("Press A-1 leaks oil", res.text)
        res = self.url_open(f"/my/offers/{self.offer_1.id}")
        self.assertEqual(res.status_code, 200)
        self.assertIn("top-rated (4.9/5)", res.text)
        self.assertIn("Press A-1", res.text)
        # confidential until acceptance: no address, no phone
        self.assertNotIn("Secretgasse", res.text)
        self.assertNotIn("555 00 17", res.text)
        # a page never shows a message taken from its URL
        for url in ("/my/offers", f"/my/offers/{self.offer_1.id}", "/my/crowd/profile"):
            self.assertNotIn("CALL-0900-SCAM", self.url_open(f"{url}?error=CALL-0900-SCAM").text, url)

    def test_offers_list_puts_pending_offers_first(self):
        Offer = self.env["crowd.dispatch.offer"].sudo()
        now = fields.Datetime.now()
        old = Offer.create(
            {"job_id": self.job_b.id, "expert_id": self.expert_1.partner_id.id, "state": "withdrawn",
             "sent_at": now + timedelta(minutes=5), "responded_at": now}
        )  # fmt: skip
        self.authenticate("expert1_portal", "expert1_portal")
        text = self.url_open("/my/offers?filterby=all").text
        self.assertLess(text.index(f"/my/offers/{self.offer_1.id}"), text.index(f"/my/offers/{old.id}"))

    def test_home_counters(self):
        self.authenticate("expert1_portal", "expert1_portal")
        counters = ["crowd_offer_count", "crowd_job_count", "crowd_service_count"]
        result = self.make_jsonrpc_request("/my/counters", {"counters": counters})
        self.assertEqual(result, {"crowd_offer_count": 1, "crowd_job_count": 0, "crowd_service_count": 0})
        self._accept()
        result = self.make_jsonrpc_request("/my/counters", {"counters": counters})
        self.assertEqual(result, {"crowd_offer_count": 0, "crowd_job_count": 1, "crowd_service_count": 0})
        self.authenticate("customer_a_portal", "customer_a_portal")
        result = self.make_jsonrpc_request("/my/counters", {"counters": counters})
        self.assertEqual(result, {"crowd_offer_count": 0, "crowd_job_count": 0, "crowd_service_count": 1})

    def test_accept_wins_and_shows_the_job(self):
        self.authenticate("expert1_portal", "expert1_portal")
        res = self._post(f"/my/offers/{self.offer_1.id}/accept")
        self.assertEqual(res.status_code, 200)
        self.assertTrue(res.url.endswith(f"/my/jobs/{self.job.id}?message=accepted"))
        self.assertEqual(self.offer_1.state, "accepted")
        self.assertEqual(self.offer_2.state, "withdrawn")
        self.assertEqual(self.job.expert_id, self.expert_1.partner_id)
        self.assertEqual(self.job.state, "assigned")
        self.assertIn("Secretgasse 17", res.text, "after acceptance the site is shown")
        # the other expert now gets the model's message and nothing changes
        self.authenticate("expert2_portal", "expert2_portal")
        res = self._post(f"/my/offers/{self.offer_2.id}/accept")
        self.assertEqual(res.status_code, 200)
        self.assertIn("withdrawn", res.text)
        self.assertEqual(self.job.expert_id, self.expert_1.partner_id)
        self.assertEqual(self.offer_2.state, "withdrawn")

    def test_a_diversion_offer_says_so_and_accepting_it_leaves_the_visit_on_the_way(self):
        """Ella drives to Lathe B-9 when the dispatch offers her the more urgent press (a diversion): her phone
        says what accepting means; accepting leaves Lathe B-9, which goes back to dispatch."""
        self.job_b.sudo()._crowd_assign_manual(self.expert_1.partner_id)
        self.job_b.with_user(self.expert_1).action_en_route(20)
        # made by the dispatch after she went on her way (her assignment withdrew her open offers)
        self.offer_1.sudo().write({"divert_job_id": self.job_b.id, "state": "pending", "responded_at": False})
        self.authenticate("expert1_portal", "expert1_portal")
        page = self.url_open(f"/my/offers/{self.offer_1.id}").text
        self.assertIn("Urgent, and you are the nearest.", page)
        self.assertIn("On your way to:", page)
        self.assertIn(self.job_b.name, page)
        self.assertIn("Instead of the visit you are on your way to:", self.url_open("/my/offers").text)
        res = self._post(f"/my/offers/{self.offer_1.id}/accept")
        self.assertTrue(res.url.endswith(f"/my/jobs/{self.job.id}?message=accepted"))
        self.assertEqual((self.job.state, self.job.expert_id), ("assigned", self.expert_1.partner_id))
        self.assertFalse(self.job_b.expert_id)
        self.assertIn(self.job_b.state, ("dispatching", "offered", "escalated"), "back to dispatch")
        # the other expert's offer says nothing of it
        self.authenticate("expert2_portal", "expert2_portal")
        self.assertNotIn("On your way to:", self.url_open(f"/my/offers/{self.offer_2.id}").text)

    def test_decline_with_reason(self):
        self.authenticate("expert2_portal", "expert2_portal")
        self._post(f"/my/offers/{self.offer_2.id}/decline", {"reason": "Too far today"})
        self.assertEqual(self.offer_2.state, "declined")
        self.assertEqual(self.offer_2.decline_reason, "Too far today")

    # ------------------------------------------------------------------ jobs
    def test_visit_flow_and_bad_input_changes_nothing(self):
        self._accept()
        self.authenticate("expert1_portal", "expert1_portal")
        url = f"/my/jobs/{self.job.id}"
        for bad in ("6e9", "525600", "-5", "nan", "inf", "abc", ""):
            before = self._snapshot(self.job)
            res = self._post(f"{url}/en_route", {"eta_minutes": bad})
            self.assertEqual(res.status_code, 200, bad)
            self.assertIn("must be a number from 0 to 1440", res.text, bad)
            self.assertEqual(self._snapshot(self.job), before, f"eta {bad!r} changes nothing")
        self._post(f"{url}/en_route", {"eta_minutes": "15"})
        self.assertEqual(self.job.state, "en_route")
        self.assertTrue(self.job.eta_at)
        before = self._snapshot(self.job)
        res = self._post(f"{url}/check_in", {"latitude": "abc", "longitude": "7.4"})
        self.assertIn("The latitude must be a number", res.text)
        res = self._post(f"{url}/check_in", {"latitude": "123", "longitude": "7.4"})
        self.assertIn("The latitude must be a number from -90 to 90", res.text)
        self.assertEqual(self._snapshot(self.job), before, "bad positions change nothing")
        self._post(f"{url}/check_in", {"latitude": str(SITE[0]), "longitude": str(SITE[1])})
        self.assertEqual(self.job.state, "on_site")
        self.assertFalse(self.job.checkin_far)
        res = self._post(f"{url}/report", {"notes": "  "})
        self.assertIn("Write what you found and did", res.text)
        self._post(f"{url}/report", {"notes": "Seal replaced"})
        self.assertIn("Seal replaced", str(self.job.report))
        self._post(f"{url}/complete", {"resolution": "Fixed"})
        self.assertEqual(self.job.state, "done")
        self.assertEqual(self.job.resolution, "Fixed")
        self.assertEqual(self._post(f"{url}/teleport").status_code, 404)

    def test_jobs_list_puts_active_jobs_first(self):
        self._accept()
        done = self.job_b.sudo()
        done.write({"state": "done", "expert_id": self.expert_1.partner_id.id, "assigned_at": fields.Datetime.now()})
        self.authenticate("expert1_portal", "expert1_portal")
        text = self.url_open("/my/jobs?filterby=all").text
        self.assertLess(text.index(f"/my/jobs/{self.job.id}"), text.index(f"/my/jobs/{done.id}"))

    def test_escalation_by_a_first_responder_adds_a_specialist_job(self):
        self._until_on_site()
        self.authenticate("expert1_portal", "expert1_portal")
        res = self._post(f"/my/jobs/{self.job.id}/escalate", {"diagnosis": ""})
        self.assertIn("Write the diagnosis", res.text)
        self.assertFalse(self.job.followup_ids)
        self._post(f"/my/jobs/{self.job.id}/escalate", {"diagnosis": "Hydraulic pump worn"})
        followup = self.job.followup_ids
        self.assertEqual(len(followup), 1)
        self.assertEqual((followup.kind, followup.request_id), ("specialist", self.job.request_id))
        self.assertEqual(followup.diagnosis, "Hydraulic pump worn")
        self.assertEqual(self.job.state, "done")

    def test_escalation_by_a_specialist_is_refused(self):
        self.offer_2.with_user(self.expert_2).action_accept()
        job = self.job.with_user(self.expert_2)
        job.action_en_route(5)
        job.action_check_in(*SITE)
        before = self._snapshot(self.job)
        self.authenticate("expert2_portal", "expert2_portal")
        res = self._post(f"/my/jobs/{self.job.id}/escalate", {"diagnosis": "Pump"})
        self.assertEqual(res.status_code, 200)
        self.assertIn("Only first responders", res.text)
        self.assertEqual(self._snapshot(self.job), before)

    def test_other_expert_cannot_see_or_drive_the_job(self):
        self._accept()
        self.authenticate("expert2_portal", "expert2_portal")
        res = self.url_open(f"/my/jobs/{self.job.id}")
        self.assertEqual(res.status_code, 404)
        self.assertNotIn("Secretgasse", res.text)
        self._post(f"/my/jobs/{self.job.id}/en_route", {"eta_minutes": "5"})
        self.assertEqual(self.job.state, "assigned")

    def test_orm_rules_for_portal_users(self):
        self._accept()
        self.job.with_user(self.expert_1).check_access("read")
        with self.assertRaises(AccessError):
            self.job.with_user(self.expert_2).check_access("read")
        with self.assertRaises(AccessError):
            self.offer_1.with_user(self.expert_2).check_access("read")
        with self.assertRaises(AccessError):
            self.job.with_user(self.expert_1).write({"resolution": "hack"})
        with self.assertRaises(AccessError):
            self.job.request_id.with_user(self.expert_1).check_access("read")
        self.job.request_id.with_user(self.customer_user).check_access("read")
        with self.assertRaises(AccessError):
            self.job_b.request_id.with_user(self.customer_user).check_access("read")

    def test_availability_switch(self):
        self.authenticate("expert1_portal", "expert1_portal")
        self._post("/my/crowd/availability", {"online": "1", "latitude": "46.9", "longitude": "7.4"})
        partner = self.expert_1.partner_id
        self.assertTrue(partner.crowd_online)
        self.assertAlmostEqual(partner.partner_latitude, 46.9)
        res = self._post("/my/crowd/availability", {"online": "0", "latitude": "999", "longitude": "7.4"})
        self.assertIn("The latitude must be a number", res.text)
        self.assertTrue(partner.crowd_online, "an invalid position changes nothing")
        self.assertAlmostEqual(partner.partner_latitude, 46.9)

    # -------------------------------------------------------------- customers
    def test_customer_requests_service_for_own_equipment_only(self):
        self.authenticate("customer_a_portal", "customer_a_portal")
        res = self.url_open("/my/service/new")
        self.assertIn("Press A-1", res.text)
        self.assertNotIn("Lathe B-9", res.text)
        # maintenance's own priority labels (never a shifted copy)
        labels = dict(self.env["maintenance.request"]._fields["priority"]._description_selection(self.env))
        self.assertRegex(res.text, rf'<option value="3"[^>]*>{labels["3"]}</option>')
        self.assertRegex(res.text, rf'<option value="0"[^>]*>{labels["0"]}</option>')
        Request_ = self.env["maintenance.request"]
        before = Request_.search_count([])
        for data, message in (
            ({"equipment": str(self.equipment_b.id), "name": "Sneaky"}, "Choose one of your company"),
            ({"equipment": str(UNKNOWN_ID), "name": "Sneaky"}, "Choose one of your company"),
            ({"equipment": "abc", "name": "Sneaky"}, "Choose one of your company"),
            ({"equipment": str(HUGE_ID), "name": "Sneaky"}, "Choose one of your company"),
            ({"equipment": str(self.equipment_a.id), "name": "", "priority": "3"}, "Describe the problem"),
            ({"equipment": str(self.equipment_a.id), "name": "X", "priority": "9"}, "Unknown priority"),
            ({"equipment": str(self.equipment_a.id), "name": "X" * 201}, "at most 200 characters"),
        ):
            res = self._post("/my/service/new", data)
            self.assertEqual(res.status_code, 200)
            self.assertIn(message, res.text)
        self.assertEqual(Request_.search_count([]), before, "refused requests write nothing")
        res = self._post(
            "/my/service/new",
            {"equipment": str(self.equipment_a.id), "name": "Press stopped", "priority": "3", "description": "Red"},
        )
        created = Request_.search([("name", "=", "Press stopped")])
        self.assertEqual(len(created), 1)
        self.assertEqual((created.equipment_id, created.priority), (self.equipment_a, "3"))
        self.assertTrue(created.crowd_job_id, "its first visit was created")
        self.assertTrue(res.url.endswith(f"/my/service/{created.crowd_job_id.id}"))
        self.assertIn("Press stopped", res.text)

    def test_customer_tracks_own_jobs_only(self):
        self._accept()
        self.authenticate("customer_a_portal", "customer_a_portal")
        res = self.url_open("/my/service")
        self.assertIn("Press A-1 leaks oil", res.text)
        self.assertNotIn("Lathe B-9 noise", res.text)
        res = self.url_open(f"/my/service/{self.job.id}")
        self.assertEqual(res.status_code, 200)
        self.assertIn("Press A-1 leaks oil", res.text)
        self.assertIn("Ella", res.text)
        self.assertNotIn("Ella Portal", res.text, "the expert's first name only")
        # the job's portal URL (/my/jobs/<id>) leads the customer to the tracking page
        res = self.url_open(f"/my/jobs/{self.job.id}")
        self.assertTrue(res.url.endswith(f"/my/service/{self.job.id}"))
        with self.assertRaises(AccessError):
            self.job_b.with_user(self.customer_user).check_access("read")
        self.job_b.with_user(self.customer_b_user).check_access("read")

    def test_tracking_link_with_access_token(self):
        self._accept()
        # the customer's contact got the tracking e-mail, its link carries the job's access token
        message = self.job.message_ids.filtered(lambda m: self.site in m.partner_ids)
        self.assertEqual(len(message), 1)
        token = self.job.access_token
        self.assertTrue(token)
        self.assertIn(f"/my/service/{self.job.id}?access_token={token}", str(message.body))
        self.authenticate(None, None)
        res = self.url_open(f"/my/service/{self.job.id}?access_token={token}")
        self.assertEqual(res.status_code, 200)
        self.assertIn("Press A-1 leaks oil", res.text)
        self.assertNotIn("o_crowd_rate", res.text)
        res = self.url_open(f"/my/jobs/{self.job.id}?access_token={token}")
        self.assertTrue(res.url.endswith(f"/my/service/{self.job.id}?access_token={token}"))
        for wrong in ("x", token[:-1] + ("0" if token[-1] != "0" else "1"), self.job_b.sudo()._portal_ensure_token()):
            res = self.url_open(f"/my/service/{self.job.id}?access_token={wrong}")
            self.assertIn("/web/login", res.url, wrong)
            self.assertNotIn("Press A-1 leaks oil", res.text)
        # logged in without the right to read the job, a wrong token is a 404
        self.authenticate("customer_b_portal", "customer_b_portal")
        self.assertEqual(self.url_open(f"/my/service/{self.job.id}?access_token=x").status_code, 404)
        # another company's customer with the token reads the page, but cannot act on the job
        self.authenticate("customer_b_portal", "customer_b_portal")
        self.assertEqual(self.url_open(f"/my/service/{self.job.id}?access_token={token}").status_code, 200)
        self.assertEqual(
            self._post(f"/my/service/{self.job.id}/rate?access_token={token}", {"rating": "1"}).status_code, 404
        )

    # ---------------------------------------------------------------- rating
    def test_customer_rates_a_completed_visit_once_and_it_feeds_the_expert(self):
        self.authenticate("customer_a_portal", "customer_a_portal")
        url = f"/my/service/{self.job.id}/rate"
        res = self._post(url, {"rating": "5"})
        self.assertIn("once it is completed", res.text)
        self.assertFalse(self.job.rating_ids.filtered("consumed"))
        self._complete()
        for bad in ("6", "0", "x", "4.5", "6e9", ""):
            res = self._post(url, {"rating": bad})
            self.assertIn("whole number from 1 to 5", res.text, bad)
        self.assertFalse(self.job.rating_ids.filtered("consumed"), "bad ratings write nothing")
        res = self._post(url, {"rating": "4", "comment": "Quick and clean"})
        rating = self.job.rating_ids.filtered("consumed")
        self.assertEqual((rating.rating, rating.feedback), (4, "Quick and clean"))
        self.assertEqual(rating.rated_partner_id, self.expert_1.partner_id)
        self.assertEqual(self.expert_1.partner_id.crowd_rating, 4.0)
        self.assertIn("You rated this visit", res.text)
        res = self._post(url, {"rating": "1"})
        self.assertIn("already rated", res.text)
        self.assertEqual(self.expert_1.partner_id.crowd_rating, 4.0)
        self.assertEqual(len(self.job.rating_ids.filtered("consumed")), 1)

    def test_rating_by_email_token_feeds_the_expert_too(self):
        self._complete()
        # the "visit done" e-mail went to the customer's contact with one-click rating links
        message = self.job.message_ids.filtered(lambda m: self.site in m.partner_ids and "/rate/" in str(m.body))
        self.assertEqual(len(message), 1)
        token = self.job.sudo().rating_ids.filtered(lambda r: r.partner_id == self.site).access_token
        self.assertIn(f"/rate/{token}/5", str(message.body))
        self.authenticate(None, None)
        res = self.url_open(f"/rate/{token}/5")  # the link of the e-mail, no login needed
        self.assertEqual(res.status_code, 200)
        self.assertEqual(self.expert_1.partner_id.crowd_rating, 5.0)
        self.assertEqual(self.job.rating_ids.filtered("consumed").rated_partner_id, self.expert_1.partner_id)

    # ------------------------------------------------------ uploads, profile
    def test_report_photos_are_checked_and_attached(self):
        self._until_on_site()
        self.authenticate("expert1_portal", "expert1_portal")
        url = f"/my/jobs/{self.job.id}/report"
        Attachment = self.env["ir.attachment"]
        mine = [("create_uid", "=", self.expert_1.id)]
        res = self._post_files(url, {"notes": "Too big"}, {"photos": ("big.png", PNG + b"0" * (10 * 1024 * 1024))})
        self.assertIn("larger than 10 MB", res.text)
        res = self._post_files(url, {"notes": "Wrong type"}, {"photos": ("notes.png", b"just text")})
        self.assertIn("is not a photo or a PDF", res.text)
        res = self._post_files(url, {"notes": ""}, {"photos": ("seal.png", PNG)})
        self.assertIn("Write what you found and did", res.text)
        self.assertFalse(self.job.report, "refused reports write nothing")
        self.assertFalse(Attachment.search(mine), "and leave no uploaded file behind")
        self._post_files(url, {"notes": "Seal replaced"}, {"photos": ("seal.png", PNG)})
        self.assertIn("Seal replaced", str(self.job.report))
        self.assertEqual(self.job.report_attachment_ids.mapped("name"), ["seal.png"])
        self.assertEqual(Attachment.search(mine).mapped("res_model"), ["crowd.job"])

    def test_profile_and_certificate_upload(self):
        ctype = self.env["crowd.certificate.type"].create({"name": "Lift safety (portal)", "code": "P_LIFT"})
        self.expert_1.partner_id.sudo().crowd_state = "candidate"
        self.authenticate("expert1_portal", "expert1_portal")
        res = self.url_open("/my/crowd/profile")
        self.assertIn("Upload a certificate", res.text)
        self.assertIn("Getting started", res.text, "candidates see the onboarding checklist")
        Cert = self.env["crowd.expert.certificate"]
        mine = [("partner_id", "=", self.expert_1.partner_id.id)]
        url = "/my/crowd/certificates"
        base = {"type_id": str(ctype.id), "number": "LS-1"}
        res = self._post_files(url, dict(base, issue_date="2026-05-01", expiry_date="2025-01-01"),
                               {"document": ("c.png", PNG)})  # fmt: skip
        self.assertIn("before it was issued", res.text)
        res = self._post_files(url, base, {"document": ("c.txt", b"text")})
        self.assertIn("is not a photo or a PDF", res.text)
        for type_id in ("0", "abc", str(HUGE_ID)):
            res = self._post_files(url, dict(base, type_id=type_id), {"document": ("c.png", PNG)})
            self.assertIn("Choose the type", res.text)
        res = self._post_files(url, dict(base, issue_date="1st May"), {"document": ("c.png", PNG)})
        self.assertIn("YYYY-MM-DD", res.text)
        self.assertFalse(Cert.search(mine), "refused certificates write nothing")
        self.assertFalse(self.env["ir.attachment"].search([("create_uid", "=", self.expert_1.id)]))
        self._post_files(url, dict(base, issue_date="2026-01-01", expiry_date="2029-01-01"),
                         {"document": ("c.png", PNG)})  # fmt: skip
        cert = Cert.search(mine)
        self.assertEqual((cert.state, cert.number, cert.type_id), ("pending", "LS-1", ctype))
        self.assertEqual(cert.attachment_ids.mapped("name"), ["c.png"])
        # a customer has no expert profile and cannot add certificates
        self.authenticate("customer_a_portal", "customer_a_portal")
        self.assertEqual(self.url_open("/my/crowd/profile").status_code, 404)
        self.assertEqual(self._post_files(url, base, {"document": ("c.png", PNG)}).status_code, 404)
        self.assertEqual(Cert.search_count([("partner_id", "=", self.customer_user.partner_id.id)]), 0)

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

    def test_demo_users_work_on_jobs(self):
        job_on_site = self.env.ref("crowd_service.crowd_dispatch_demo_job_on_site", raise_if_not_found=False)
        job_to_rate = self.env.ref("crowd_service_portal.demo_job_rate", raise_if_not_found=False)
        if not (job_on_site and job_to_rate):
            self.skipTest("no demo data")
        self.authenticate("expert@crowd.example", "expert")
        res = self.url_open("/my/jobs")
        self.assertIn(f"/my/jobs/{job_on_site.id}", res.text)
        res = self.url_open(f"/my/jobs/{job_on_site.id}")
        self.assertEqual(res.status_code, 200)
        self.assertIn("o_crowd_complete", res.text, "Nina is on site: she can complete the visit")
        self.assertEqual(self.url_open("/my/offers").status_code, 200)
        self.authenticate("customer@crowd.example", "customer")
        res = self.url_open("/my/service?filterby=all")
        self.assertIn(f"/my/service/{job_to_rate.id}", res.text)
        res = self.url_open(f"/my/service/{job_to_rate.id}")
        self.assertIn("o_crowd_rate", res.text, "Sandra can rate the done visit")

    def test_demo_customer_and_expert_meet_without_setup(self):
        """On the demo data, the demo customer's request reaches the demo expert at once, and the two complete
        the whole flow over HTTP with no setup."""
        nina = self.env.ref("crowd_service.crowd_dispatch_demo_expert_nina", raise_if_not_found=False)
        lift = self.env.ref("crowd_service.demo_equipment_02", raise_if_not_found=False)
        if not (nina and lift and self.env.ref("crowd_service_portal.demo_rule_aare_kliniken", False)):
            self.skipTest("no demo data")
        self.authenticate("customer@crowd.example", "customer")
        res = self._post(
            "/my/service/new", {"equipment": lift.id, "name": "Lift stuck between floors", "priority": "3"}
        )
        job = self.env["maintenance.request"].sudo().search([("name", "=", "Lift stuck between floors")]).crowd_job_id
        self.assertTrue(res.url.endswith(f"/my/service/{job.id}"))
        self.assertEqual(job.rule_id, self.env.ref("crowd_service_portal.demo_rule_aare_kliniken"))
        self.assertFalse(job.request_id.user_id._is_superuser(), "a real dispatcher answers for it")
        offer = job.offer_ids.filtered(lambda o: o.expert_id == nina and o.state == "pending")
        self.assertTrue(offer, f"Nina is offered the job at once ({job.state}: {job.wait_reason or ''})")
        self.authenticate("expert@crowd.example", "expert")
        self._post(f"/my/offers/{offer.id}/accept")
        self._post(f"/my/jobs/{job.id}/en_route", {"eta_minutes": "15"})
        self._post(f"/my/jobs/{job.id}/check_in", {"latitude": str(job.latitude), "longitude": str(job.longitude)})
        self._post(f"/my/jobs/{job.id}/complete", {"resolution": "Door contact replaced"})
        self.assertEqual(job.state, "done")
        self.authenticate("customer@crowd.example", "customer")
        self.assertIn("Door contact replaced", self.url_open(f"/my/service/{job.id}").text)
