from odoo import fields
from odoo.tests import tagged

from .common import CrowdPayoutCommon


@tagged("post_install", "-at_install")
class TestJobCostReport(CrowdPayoutCommon):
    def test_crowd_against_own_technicians(self):
        self.company.crowd_internal_cost_per_job = 150.0
        crowd_job = self._make_request(self.expert_freelance, crowd_dispatch_state="done")
        crowd_job.crowd_done_at = fields.Datetime.now()
        payout = self._complete(crowd_job)
        own_job = self._make_request(self.expert_employee, crowd_dispatch_state="done")
        own_job.crowd_done_at = fields.Datetime.now()
        senior = self.env["res.partner"].create(
            self._expert_vals("employee", "specialist", name="Sam Senior", crowd_cost_per_job=210.0)
        )
        senior_job = self._make_request(senior, crowd_dispatch_state="done")
        senior_job.crowd_done_at = fields.Datetime.now()
        self.env.flush_all()
        Report = self.env["crowd.job.cost.report"]
        rows = {
            row.request_id: row for row in Report.search([("request_id", "in", (crowd_job | own_job | senior_job).ids)])
        }
        self.assertEqual(rows[crowd_job].source, "crowd")
        self.assertEqual(rows[crowd_job].cost, payout.amount_company)
        self.assertEqual(rows[own_job].source, "own")
        self.assertEqual(rows[own_job].cost, 150.0)
        self.assertEqual(rows[senior_job].cost, 210.0)
        groups = Report._read_group(
            [("request_id", "in", (crowd_job | own_job | senior_job).ids)], ["source"], ["cost_per_job:avg", "__count"]
        )
        self.assertEqual({source: (avg, count) for source, avg, count in groups}["own"], (180.0, 2))
        # the payout analysis groups by expert, month and state
        data = self.env["crowd.payout"].read_group(
            [("id", "=", payout.id)], ["amount_company:sum"], ["expert_id", "date:month", "state"], lazy=False
        )
        self.assertEqual(data[0]["amount_company"], payout.amount_company)
