"""docs/API.md's runnable example (examples/api_flow.py) runs against the test server, with odoorpc.

Each step of the example logs in as its own role (dispatcher, expert, customer, finance) over JSON-RPC;
the test gives it users with exactly those roles and checks what the flow left in the database."""

import importlib.util
import os

from odoo import Command
from odoo.modules.module import get_module_path
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import config

from .common import CrowdPayoutCommon

SITE = (47.3779, 8.5403)


def _load_example():
    path = os.path.join(os.path.dirname(get_module_path("crowd_service_payout")), "examples", "api_flow.py")
    spec = importlib.util.spec_from_file_location("crowd_api_flow_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestApiExample(CrowdPayoutCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        common = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        # only this test's rule and expert take part in the dispatch
        env["crowd.dispatch.rule"].search([]).active = False
        env["res.partner"].search([("is_crowd_expert", "=", True)]).write({"crowd_online": False})
        env["crowd.dispatch.rule"].create(
            {
                "name": "API example",
                "sequence": 1,
                "use_crowd": True,
                "crowd_delay_min": 0,
                "company_id": cls.company.id,
            }
        )
        if not env["maintenance.team"].search([("company_id", "in", [cls.company.id, False])], limit=1):
            env["maintenance.team"].create({"name": "API example team", "company_id": cls.company.id})
        customer = env["res.partner"].create({"name": "Example Customer AG", "is_company": True})
        cls.site = env["res.partner"].create(
            {
                "name": "Example Customer AG, plant 1",
                "parent_id": customer.id,
                "type": "other",
                "partner_latitude": SITE[0],
                "partner_longitude": SITE[1],
            }
        )
        cls.equipment_router.write({"crowd_customer_id": customer.id, "crowd_site_id": cls.site.id})
        cls.expert_freelance.write(
            {
                "crowd_state": "active",
                "crowd_online": True,
                "crowd_radius_km": 40.0,
                "partner_latitude": SITE[0] + 0.03,
                "partner_longitude": SITE[1],
            }
        )
        cls.portal_user.password = "api-expert"
        cls.customer_user = new_test_user(
            env, login="api_customer", password="api-customer", groups="base.group_portal", **common
        )
        cls.customer_user.partner_id.parent_id = customer
        cls.dispatcher.password = "api-dispatcher"
        cls.finance = new_test_user(
            env,
            login="api_finance",
            password="api-finance",
            groups="crowd_service_payout.group_payout_approver,account.group_account_invoice",
            **common,
        )

    def test_example_runs_the_whole_flow(self):
        example = _load_example()
        logins = {
            "dispatcher": (self.dispatcher.login, "api-dispatcher"),
            "expert": (self.portal_user.login, "api-expert"),
            "customer": (self.customer_user.login, "api-customer"),
            "finance": (self.finance.login, "api-finance"),
        }
        lines = []
        made = example.run(
            "127.0.0.1",
            config["http_port"],
            self.env.cr.dbname,
            logins=logins,
            equipment_id=self.equipment_router.id,
            site_id=self.site.id,
            log=lines.append,
        )
        job = self.env["crowd.job"].browse(made["job"])
        self.assertEqual(job.state, "done")
        self.assertEqual(job.expert_id, self.expert_freelance)
        self.assertEqual(job.request_id.id, made["request"])
        self.assertTrue(job.checkin_latitude)
        self.assertIn("end switch", job.report.lower())
        self.assertEqual(job.rating_ids.filtered(lambda r: r.consumed).mapped("rating"), [5.0])
        payout = self.env["crowd.payout"].browse(made["payout"])
        self.assertEqual(payout.job_id, job)
        self.assertEqual(payout.approver_id, self.finance)
        bill = self.env["account.move"].browse(made["bill"])
        self.assertEqual((bill.move_type, bill.state), ("in_invoice", "posted"))
        self.assertEqual(bill.partner_id, self.expert_freelance)
        self.assertEqual(payout.move_id, bill)
        self.assertEqual(len(lines), 4, lines)
