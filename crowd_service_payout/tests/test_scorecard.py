"""Scorecards: an expert's figures (acceptance, on time, first-time fix, rating, jobs, earnings) and a
partner company's, which adds up its technicians."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import CrowdPayoutCommon


@tagged("post_install", "-at_install")
class TestScorecard(CrowdPayoutCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a second technician of the partner company, and a freelancer outside it
        cls.expert_partner_2 = cls.env["res.partner"].create(
            dict(
                cls._expert_vals("partner", "technician", name="Petra Partner"),
                crowd_company_partner_id=cls.partner_company.id,
                parent_id=cls.partner_company.id,
            )
        )
        cls.now = fields.Datetime.now()

    def visit(self, expert, on_time=True, done=True, follow_up=False, rating=None, offers=("accepted",)):
        """A visit of ``expert`` with its offers (states), on site on time or late, done, maybe followed up
        by a specialist visit, maybe rated."""
        job = self._make_job(expert)
        deadline = self.now + timedelta(hours=1)
        on_site = self.now + timedelta(minutes=30 if on_time else 90)
        job.sudo().write({"sla_deadline": deadline, "on_site_at": on_site, "requested_at": self.now})
        for i, state in enumerate(offers, start=1):
            self.env["crowd.dispatch.offer"].sudo().create(
                {"job_id": job.id, "expert_id": expert.id, "round": i, "state": state}
            )
        if done:
            job.sudo().write({"state": "done", "done_at": on_site + timedelta(hours=1)})
        if follow_up:
            job.sudo().write({"followup_ids": [(0, 0, {"request_id": job.request_id.id, "kind": "specialist"})]})
        if rating:
            self.env["rating.rating"].sudo().create(
                {
                    "res_model_id": self.env["ir.model"]._get_id("crowd.job"),
                    "res_id": job.id,
                    "rated_partner_id": expert.id,
                    "rating": rating,
                    "consumed": True,
                }
            )
        return job

    def test_expert_and_partner_company_scorecards(self):
        # Paul: 3 visits (2 on time), 1 follow-up; offers 3 accepted + 1 declined; ratings 5 and 3
        self.visit(self.expert_partner, rating=5)
        self.visit(self.expert_partner, on_time=False, follow_up=True, rating=3)
        self.visit(self.expert_partner, offers=("declined", "accepted"))
        # Petra: 1 visit on time, rated 4; one expired offer on another job
        self.visit(self.expert_partner_2, rating=4, offers=("expired", "accepted"))
        # Fiona (freelancer, not in the company): never counted for it
        self.visit(self.expert_freelance, on_time=False, rating=1, offers=("declined", "declined", "accepted"))
        # earnings: approved, billed or paid payouts only
        self._approved_payout(self.expert_partner, amount=120.0)
        self._approved_payout(self.expert_partner_2, amount=80.0)
        self._approved_payout(self.expert_freelance, amount=999.0)
        draft = self._approved_payout(self.expert_partner, amount=50.0)
        draft._write_workflow({"state": "cancelled"})

        paul = self.expert_partner._crowd_scorecard()
        self.assertEqual(paul["offers"], 4)
        self.assertAlmostEqual(paul["acceptance_rate"], 75.0)
        self.assertAlmostEqual(paul["on_time_rate"], 100.0 * 2 / 3)
        self.assertEqual(paul["jobs_done"], 3)
        self.assertAlmostEqual(paul["first_time_fix_rate"], 100.0 * 2 / 3)
        self.assertEqual((paul["avg_rating"], paul["ratings"]), (4.0, 2))
        self.assertEqual(paul["earnings"], 120.0)
        self.assertEqual(paul["technicians"], 0)

        company = self.partner_company._crowd_scorecard()
        self.assertEqual(company["experts"], self.expert_partner | self.expert_partner_2)
        self.assertEqual(company["technicians"], 2)
        self.assertEqual(company["offers"], 6)
        self.assertAlmostEqual(company["acceptance_rate"], 100.0 * 4 / 6)
        self.assertAlmostEqual(company["on_time_rate"], 75.0)
        self.assertEqual(company["jobs_done"], 4)
        self.assertAlmostEqual(company["first_time_fix_rate"], 75.0)
        self.assertEqual((company["avg_rating"], company["ratings"]), (4.0, 3))
        self.assertEqual(company["earnings"], 200.0)

        # the same figures on the partner form (dispatcher's tab), company and expert alike
        form_company = self.partner_company.with_user(self.dispatcher)
        self.assertEqual(form_company.crowd_kpi_technician_count, 2)
        self.assertEqual(form_company.crowd_kpi_jobs_done, 4)
        self.assertAlmostEqual(form_company.crowd_kpi_on_time_rate, 75.0)
        self.assertAlmostEqual(form_company.crowd_kpi_avg_rating, 4.0)
        self.assertEqual(form_company.crowd_kpi_earnings, 200.0)
        self.assertEqual(self.expert_freelance.with_user(self.dispatcher).crowd_kpi_earnings, 999.0)

        # a contact that is neither an expert nor a company with technicians has no scorecard
        nobody = self.env["res.partner"].create({"name": "Just a contact"})
        self.assertFalse(nobody._crowd_scorecard_experts())
        self.assertEqual(nobody._crowd_scorecard()["jobs_done"], 0)

    def test_who_sees_a_scorecard(self):
        portal = self.portal_user  # Fiona, a freelancer
        self.assertTrue(self.expert_freelance._crowd_scorecard_visible_to(portal))
        self.assertFalse(self.expert_partner._crowd_scorecard_visible_to(portal))
        self.assertFalse(self.partner_company._crowd_scorecard_visible_to(portal))
        self.assertTrue(self.partner_company._crowd_scorecard_visible_to(self.dispatcher))
