from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common_dispatch import CrowdDispatchCase, offset


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestDispatchSecurity(CrowdDispatchCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = new_test_user(cls.env, login="crowd_portal_expert_t", groups="base.group_portal")
        cls.other_portal = new_test_user(cls.env, login="crowd_portal_other_t", groups="base.group_portal")
        for user, km in ((cls.portal_user, 1.0), (cls.other_portal, 2.0)):
            lat, lon = offset(lat_km=km)
            user.partner_id.write(
                {
                    "is_crowd_expert": True,
                    "crowd_kind": "freelance",
                    "crowd_tier": "technician",
                    "crowd_state": "active",
                    "crowd_online": True,
                    "partner_latitude": lat,
                    "partner_longitude": lon,
                    "crowd_radius_km": 60,
                    "crowd_max_jobs": 2,
                    "crowd_rating": 4.5,
                    "crowd_user_id": user.id,
                }
            )
        cls.mine_partner = cls.portal_user.partner_id
        cls.other_partner = cls.other_portal.partner_id

    def _offers(self):
        job = self.make_job()
        mine = job.offer_ids.filtered(lambda o: o.expert_id == self.mine_partner)
        other = job.offer_ids.filtered(lambda o: o.expert_id == self.other_partner)
        self.assertTrue(mine and other)
        return job, mine, other

    def test_portal_expert_reads_only_own_offers(self):
        _request, mine, other = self._offers()
        Offer = self.env["crowd.dispatch.offer"].with_user(self.portal_user)
        self.assertEqual(Offer.search([]), mine)
        self.assertEqual(Offer.search_count([("expert_id", "=", self.other_partner.id)]), 0)
        with self.assertRaises(AccessError):
            other.with_user(self.portal_user).read(["score"])
        values = mine.with_user(self.portal_user).read(
            ["state", "request_name", "expires_at", "explanation", "display_name"]
        )[0]
        self.assertIn("Lift stuck", values["display_name"])
        self.assertEqual(values["state"], "pending")
        self.assertEqual(values["request_name"], "Lift stuck", "the expert sees what the job is without reading it")

    def test_portal_expert_cannot_write_offers(self):
        _request, mine, _other = self._offers()
        with self.assertRaises(AccessError):
            mine.with_user(self.portal_user).write({"state": "accepted"})
        with self.assertRaises(AccessError):
            self.env["crowd.dispatch.offer"].with_user(self.portal_user).create(
                {"job_id": mine.job_id.id, "expert_id": self.mine_partner.id}
            )

    def test_portal_expert_accepts_own_offer_only(self):
        job, mine, other = self._offers()
        with self.assertRaises(AccessError):
            other.with_user(self.portal_user).action_accept()
        self.assertEqual(other.state, "pending")
        mine.with_user(self.portal_user).action_accept()
        self.assertEqual(mine.state, "accepted")
        self.assertEqual(job.expert_id, self.mine_partner)
        self.assertEqual(other.state, "withdrawn")
        self.assertNotEqual(
            job.request_id.user_id, self.portal_user, "a portal expert is not made the job's technician"
        )

    def test_someone_elses_offer_is_refused_with_a_clear_error(self):
        """An internal employee who can read offers but is not the offer's expert cannot answer it."""
        _request, mine, _other = self._offers()
        employee = new_test_user(self.env, login="crowd_employee_t", groups="base.group_user")
        self.env["ir.rule"].search([("name", "=", "Crowd offer: experts see their own offers")]).active = False
        with self.assertRaisesRegex(UserError, "someone else"):
            mine.with_user(employee).action_accept()
        with self.assertRaisesRegex(UserError, "someone else"):
            mine.with_user(employee).action_decline("no")
        self.assertEqual(mine.state, "pending")

    def test_dispatcher_may_answer_on_behalf(self):
        _request, mine, _other = self._offers()
        with self.assertRaises(AccessError):
            mine.with_user(self.dispatcher).write({"state": "accepted"})
        mine.with_user(self.dispatcher).action_decline("phoned: busy")
        self.assertEqual(mine.state, "declined")

    def test_multi_company_offers(self):
        _request, mine, _other = self._offers()
        other_company = self.env["res.company"].create({"name": "Other Co (sec test)"})
        foreign = new_test_user(
            self.env,
            login="crowd_foreign_dispatcher_t",
            groups="base.group_user,crowd_service.group_crowd_user",
            company_id=other_company.id,
            company_ids=[(6, 0, other_company.ids)],
        )
        self.assertFalse(self.env["crowd.dispatch.offer"].with_user(foreign).search([("id", "=", mine.id)]))
        self.assertFalse(self.env["crowd.dispatch.rule"].with_user(foreign).search([("id", "=", self.rule.id)]))
