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
