"""The scorecard in the portal: an expert sees their own only; a partner company's user sees the company's
(adding up its technicians) and its technicians'; any other id answers 404, like an unknown one."""

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged

UNKNOWN_ID = 987654321


@tagged("post_install", "-at_install")
class TestCrowdPortalScorecard(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.company_partner = env["res.partner"].create({"name": "Lift Partners (scorecard)", "is_company": True})
        # the partner company's own portal user (its partner is the company)
        cls.company_user = new_test_user(
            env, login="sc_company", groups="base.group_portal", partner_id=cls.company_partner.id
        )
        cls.tech_user = cls._expert("Tess Tech", "sc_tech", parent=cls.company_partner)
        cls.other_user = cls._expert("Olaf Other", "sc_other")
        cls.customer_user = new_test_user(env, login="sc_customer", groups="base.group_portal")
        # Tess: one visit done on time
        equipment = env["maintenance.equipment"].create({"name": "Lift (scorecard)"})
        request = env["maintenance.request"].create({"name": "Lift stuck (scorecard)", "equipment_id": equipment.id})
        now = fields.Datetime.now()
        env["crowd.job"].sudo().create(
            {
                "request_id": request.id,
                "expert_id": cls.tech_user.partner_id.id,
                "state": "done",
                "requested_at": now,
                "sla_deadline": now + timedelta(hours=1),
                "on_site_at": now,
                "done_at": now,
            }
        )

    @classmethod
    def _expert(cls, name, login, parent=None):
        user = new_test_user(cls.env, login=login, name=name, groups="base.group_portal")
        user.partner_id.write(
            {
                "is_crowd_expert": True,
                "crowd_kind": "partner" if parent else "freelance",
                "crowd_tier": "technician",
                "crowd_state": "active",
                "parent_id": parent.id if parent else False,
                "crowd_company_partner_id": parent.id if parent else False,
            }
        )
        return user

    def get(self, url):
        return self.url_open(url, allow_redirects=False)

    def test_expert_sees_own_scorecard_only(self):
        self.authenticate("sc_tech", "sc_tech")
        own = self.get("/my/crowd/scorecard")
        self.assertEqual(own.status_code, 200)
        self.assertIn("Tess Tech", own.text)
        self.assertIn("o_crowd_sc_jobs", own.text)
        self.assertEqual(self.get(f"/my/crowd/scorecard/{self.tech_user.partner_id.id}").status_code, 200)
        for partner_id in (self.other_user.partner_id.id, self.company_partner.id, UNKNOWN_ID):
            with self.subTest(partner_id=partner_id):
                self.assertEqual(self.get(f"/my/crowd/scorecard/{partner_id}").status_code, 404)
        home = self.get("/my/home")
        self.assertIn("/my/crowd/scorecard", home.text)

    def test_partner_company_sees_its_technicians_and_not_others(self):
        self.authenticate("sc_company", "sc_company")
        page = self.get("/my/crowd/scorecard")
        self.assertEqual(page.status_code, 200)
        self.assertIn("adds up its", page.text)
        self.assertIn("Tess Tech", page.text)
        self.assertEqual(self.get(f"/my/crowd/scorecard/{self.tech_user.partner_id.id}").status_code, 200)
        self.assertEqual(self.get(f"/my/crowd/scorecard/{self.other_user.partner_id.id}").status_code, 404)

    def test_no_scorecard_for_a_customer(self):
        self.authenticate("sc_customer", "sc_customer")
        self.assertEqual(self.get("/my/crowd/scorecard").status_code, 404)
        self.assertEqual(self.get(f"/my/crowd/scorecard/{self.tech_user.partner_id.id}").status_code, 404)
        self.authenticate(None, None)
        self.assertNotEqual(self.get(f"/my/crowd/scorecard/{self.tech_user.partner_id.id}").status_code, 200)
