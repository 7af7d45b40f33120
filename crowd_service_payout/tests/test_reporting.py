from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import CrowdPayoutCommon


@tagged("post_install", "-at_install")
class TestJobCostReport(CrowdPayoutCommon):
    def test_crowd_against_own_technicians(self):
        self.company.crowd_internal_cost_per_job = 150.0
        crowd_job = self._make_job(self.expert_freelance)
        payout = self._complete(crowd_job)
        now = fields.Datetime.now()
        own_job = self._make_job(self.expert_employee, state="done", done_at=now)
        senior = self.env["res.partner"].create(
            self._expert_vals("employee", "specialist", name="Sam Senior", crowd_cost_per_job=210.0)
        )
        senior_job = self._make_job(senior, state="done", done_at=now)
        open_job = self._make_job(self.expert_freelance)  # not done: not in the report
        jobs = crowd_job | own_job | senior_job | open_job
        self.env.flush_all()
        Report = self.env["crowd.job.cost.report"]
        rows = {row.job_id: row for row in Report.search([("job_id", "in", jobs.ids)])}
        self.assertEqual(set(rows), {crowd_job, own_job, senior_job})
        self.assertEqual(rows[crowd_job].source, "crowd")
        self.assertEqual(rows[crowd_job].cost, payout.amount_company)
        self.assertEqual(rows[crowd_job].request_id, crowd_job.request_id)
        self.assertEqual(rows[own_job].source, "own")
        self.assertEqual(rows[own_job].cost, 150.0)
        self.assertEqual(rows[senior_job].cost, 210.0)
        groups = Report._read_group([("job_id", "in", jobs.ids)], ["source"], ["cost_per_job:avg", "__count"])
        self.assertEqual({source: (avg, count) for source, avg, count in groups}["own"], (180.0, 2))
        # the payout analysis groups by expert, month and state
        data = self.env["crowd.payout"].read_group(
            [("id", "=", payout.id)], ["amount_company:sum"], ["expert_id", "date:month", "state"], lazy=False
        )
        self.assertEqual(data[0]["amount_company"], payout.amount_company)


@tagged("post_install", "-at_install")
class TestMarginReport(CrowdPayoutCommon):
    """Customer revenue against the expert's payout (crowd) or the time on site at an hourly cost (own)."""

    def test_margin_per_visit_crowd_against_own(self):
        customer = self.env["res.partner"].create({"name": "Margin customer", "is_company": True})
        self.equipment_router.crowd_customer_id = customer
        product = self.env["product.product"].create({"name": "Margin visit", "type": "service", "sale_ok": True})
        self.package_technician.write({"customer_product_id": product.id, "customer_price": 180.0})
        self.company.crowd_internal_hourly_cost = 60.0
        # crowd: revenue 180, payout 100 (the technician package's rate)
        crowd_job = self._make_job(self.expert_freelance)
        payout = self._complete(crowd_job)
        # own technician: 1.5 h on site at the company's 60/h
        own_job = self._make_job(self.expert_employee)
        arrived = fields.Datetime.now() - timedelta(hours=2)
        own_job.sudo().write({"on_site_at": arrived})
        own_job.sudo().write({"state": "done", "done_at": arrived + timedelta(minutes=90)})
        own_job.with_user(self.dispatcher)._crowd_on_done()
        # a senior technician with their own hourly cost, no arrival recorded: the planned 60 min
        senior = self.env["res.partner"].create(
            self._expert_vals("employee", "technician", name="Sam Senior", crowd_hourly_cost=90.0)
        )
        senior_job = self._make_job(senior)
        self._complete(senior_job)
        # under warranty: no revenue, the payout is a loss
        self.equipment_lift.write({"crowd_customer_id": customer.id, "warranty_date": fields.Date.today()})
        covered_job = self._make_job(self.expert_freelance, equipment=self.equipment_lift)
        covered_payout = self._complete(covered_job)
        jobs = crowd_job | own_job | senior_job | covered_job
        self.env.flush_all()
        Report = self.env["crowd.margin.report"]
        rows = {row.job_id: row for row in Report.search([("job_id", "in", jobs.ids)])}
        self.assertRecordValues(
            rows[crowd_job],
            [
                {
                    "source": "crowd",
                    "partner_id": customer.id,
                    "package_id": self.package_technician.id,
                    "revenue": 180.0,
                    "payout_cost": payout.amount_company,
                    "own_cost": 0.0,
                    "margin": 180.0 - payout.amount_company,
                }
            ],
        )
        self.assertEqual(payout.amount_company, 100.0)
        self.assertRecordValues(
            rows[own_job],
            [{"source": "own", "hours_on_site": 1.5, "revenue": 180.0, "own_cost": 90.0, "payout_cost": 0.0}],
        )
        self.assertEqual(rows[own_job].margin, 90.0)
        planned_h = senior_job.planned_duration_min / 60.0
        self.assertTrue(planned_h)
        self.assertRecordValues(
            rows[senior_job], [{"hours_on_site": planned_h, "own_cost": round(planned_h * 90.0, 2)}]
        )
        self.assertRecordValues(
            rows[covered_job],
            [{"coverage": "warranty", "revenue": 0.0, "margin": -covered_payout.amount_company}],
        )
        # crowd against own, per month
        groups = Report._read_group(
            [("job_id", "in", jobs.ids)], ["source", "date:month"], ["revenue:sum", "cost:sum", "margin:sum"]
        )
        by_source = {source: (revenue, cost, margin) for source, _month, revenue, cost, margin in groups}
        crowd_cost = payout.amount_company + covered_payout.amount_company
        self.assertEqual(by_source["crowd"], (180.0, crowd_cost, 180.0 - crowd_cost))
        own_cost = 90.0 + round(planned_h * 90.0, 2)
        self.assertEqual(by_source["own"], (360.0, own_cost, 360.0 - own_cost))
