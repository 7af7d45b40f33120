"""The RPC suite of the payout addon (issues 9 and 13): every public method and writable field that this
addon defines (crowd.payout, packages, the bill and reason wizards, the job cost report, the customer
charges of visits, service contracts, the invoice wizard, the margin report, and its hooks on
account.move, crowd.job, maintenance.request, res.partner...), called over ``/web/dataset/call_kw`` by
each role, with and without forged context keys. The probe matrix is crowd_service's (``CrowdRpcCase``):
a refusal is a clean Odoo error that changes nothing; what a role may do is the allow-list below.
"""

from odoo import Command
from odoo.tests import tagged

from odoo.addons.crowd_service.tests.common_rpc import CrowdRpcCase

from ..models.crowd_customer_charge import FROZEN_FIELDS as CHARGE_FROZEN_FIELDS
from ..models.crowd_customer_charge import WORKFLOW_FIELDS as CHARGE_WORKFLOW_FIELDS
from ..models.crowd_payout import FROZEN_FIELDS, WORKFLOW_FIELDS
from .common import CrowdPayoutCommon

ROLES = ("expert", "other_expert", "employee", "dispatcher", "manager", "finance", "approver")
APPROVERS = {"approver"}
PAYOUT_EDITORS = {"approver", "manager"}  # access rights: both may write payouts
OPEN_PAYOUTS = ("payout_to_approve",)
LOCKED_PAYOUTS = ("payout_approved", "payout_billed")
BILLING = {"finance", "approver"}  # account.group_account_invoice: they invoice visits
OPEN_CHARGES = ("charge_to_invoice",)
INVOICED_CHARGES = ("charge_invoiced",)

ALLOWED = [
    # navigation: an act_window with a domain, no data and no write (Reject and Cancel open the reason
    # wizard, whose confirmation is what needs the rights); the bill wizard's defaults echo active_ids
    (
        "*",
        "*",
        (
            "action_view_*",
            "action_open_bill",
            "action_open_bill_wizard",
            "action_open_invoice",
            "action_open_invoice_wizard",
            "action_reject",
            "action_cancel",
        ),
        "*",
    ),
    ("*", "crowd.payout.bill.wizard", ("default_get",), "*"),
    ("*", "crowd.customer.invoice.wizard", ("default_get",), "*"),
    # core rights on the core models this addon extends: accountants duplicate and delete draft bills
    # (their payouts are released), equipment managers copy and delete assets, dispatchers copy
    # requests and experts
    ({"finance", "approver"}, "account.move*", ("copy", "unlink"), "*"),
    ({"dispatcher", "manager"}, "maintenance.*", ("copy", "unlink"), "*"),
    ({"dispatcher", "manager"}, "res.partner", ("copy",), "*"),
    # approvers decide; approvers and crowd managers submit, cancel and correct open payouts
    (APPROVERS, "crowd.payout", ("action_approve", "action_reject"), "*"),
    (PAYOUT_EDITORS, "crowd.payout", ("action_submit", "action_cancel", "action_reset_draft"), "*"),
    (PAYOUT_EDITORS, "crowd.payout", ("write:*", "create", "copy", "unlink"), OPEN_PAYOUTS),
    # on an approved or billed payout only what does not fix the pay (FROZEN_FIELDS) may change
    (PAYOUT_EDITORS, "crowd.payout", ("write:*",), LOCKED_PAYOUTS),
    # the wizards: approvers bill what they selected; approvers and managers give reasons
    (APPROVERS, "crowd.payout.bill.wizard", ("*",), "*"),
    (PAYOUT_EDITORS, "crowd.payout.reason.wizard", ("*",), "*"),
    # packages and pay rules are the crowd manager's configuration
    ({"manager"}, "crowd.service.package", ("*",), "*"),
    ({"manager"}, "crowd.pay.rule", ("*",), "*"),
    # dispatchers approve a pay above the cost ceiling (the job waits for it)
    ({"dispatcher", "manager"}, "crowd.job", ("action_approve_pay",), ("job_pay_approval",)),
    # accountants reset or cancel bills (the payouts follow their bill)
    ({"finance", "approver"}, "account.move", ("button_draft", "button_cancel", "write:*"), "*"),
    ({"finance", "approver"}, "account.move.line", ("write:*",), "*"),
    # customer invoicing of visits: billing users price again and correct the visits still to invoice; once
    # invoiced only what does not fix the charge (CHARGE_FROZEN_FIELDS) may change
    (BILLING, "crowd.customer.charge", ("action_recompute_price", "write:*", "create", "copy", "unlink"), OPEN_CHARGES),
    (BILLING, "crowd.customer.charge", ("write:*",), INVOICED_CHARGES),
    (BILLING, "crowd.customer.invoice.wizard", ("*",), "*"),
    # service contracts: billing users and crowd managers
    (BILLING | {"manager"}, "crowd.service.contract", ("*",), "*"),
    # the hourly cost of own technicians: who edits the experts (crowd_service's dispatchers)
    ({"dispatcher", "manager"}, "res.partner", ("write:crowd_hourly_cost",), "*"),
    # assets: the dispatchers (equipment managers) set the analytic account of their costs
    ({"dispatcher", "manager"}, "maintenance.equipment", ("write:*",), "*"),
]
SYSTEM_ONLY = [
    ("*", "crowd.payout", tuple(f"write:{fname}" for fname in WORKFLOW_FIELDS), "*"),
    ("*", "crowd.payout", tuple(f"write:{fname}" for fname in FROZEN_FIELDS), LOCKED_PAYOUTS),
    ("*", "crowd.payout", ("unlink",), LOCKED_PAYOUTS),
    ("*", "account.move.line", ("write:crowd_payout_*", "write:crowd_charge_*"), "*"),
    ("*", "crowd.customer.charge", tuple(f"write:{fname}" for fname in CHARGE_WORKFLOW_FIELDS), "*"),
    ("*", "crowd.customer.charge", tuple(f"write:{fname}" for fname in CHARGE_FROZEN_FIELDS), INVOICED_CHARGES),
    ("*", "crowd.customer.charge", ("unlink", "action_recompute_price"), INVOICED_CHARGES),
]


@tagged("post_install", "-at_install", "crowd_rpc")
class TestPayoutRpcSecurity(CrowdPayoutCommon, CrowdRpcCase):
    ADDONS = ("crowd_service_payout",)
    ROLES = ROLES
    ALLOWED = ALLOWED
    SYSTEM_ONLY = SYSTEM_ONLY
    PORTAL_PROBE_ROLE = "expert"
    INTERNAL_PROBE_ROLE = "approver"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        common = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        cls.other_company = cls.env["res.company"].create({"name": "RPC Payout Other Company"})
        cls.users["expert"] = cls.portal_user
        cls.make_user("other_expert", "base.group_portal", **common)
        cls.users["other_expert"].partner_id.write(cls._expert_vals("freelance", "technician"))
        cls.make_user("employee", "base.group_user", **common)
        cls.users["dispatcher"] = cls.dispatcher
        cls.make_user("manager", "crowd_service.group_crowd_manager", **common)
        cls.make_user("finance", "account.group_account_manager", **common)
        cls.users["approver"] = cls.approver_1
        cls.to_approve = cls._complete(cls._make_job(cls.expert_freelance))
        cls.approved = cls._complete(cls._make_job(cls.expert_freelance))
        cls.approved.with_user(cls.approver_2).action_approve()
        cls.billed = cls._approved_payout(cls.expert_freelance)
        cls.billed.sudo()._create_bills()
        assert (cls.to_approve.state, cls.approved.state, cls.billed.state) == ("to_approve", "approved", "billed")
        cls.bill_wizard = (
            cls.env["crowd.payout.bill.wizard"]
            .with_user(cls.approver_1)
            .create({"payout_ids": [Command.set(cls.approved.ids)]})
        )
        cls.reason_wizard = (
            cls.env["crowd.payout.reason.wizard"]
            .with_user(cls.approver_1)
            .create({"payout_ids": [Command.set(cls.to_approve.ids)], "mode": "reject", "reason": "RPC"})
        )
        cls.cost_line = cls.env["crowd.job.cost.report"].search([], limit=1)
        # customer charges: one still to invoice, one invoiced (posted); a contract, the invoice wizard
        customer = cls.env["res.partner"].create({"name": "RPC Customer", "is_company": True})
        cls.equipment_router.crowd_customer_id = customer
        product = cls.env["product.product"].create({"name": "RPC visit", "type": "service", "sale_ok": True})
        cls.Package.search([]).write({"customer_product_id": product.id, "customer_price": 150.0})
        cls.charge_open = cls.to_approve.job_id.sudo().charge_ids.with_env(cls.env)
        cls.charge_invoiced = cls.approved.job_id.sudo().charge_ids.with_env(cls.env)
        if not cls.charge_open:  # jobs completed before the packages had a customer price
            cls.charge_open = cls.env["crowd.customer.charge"]._create_for_jobs(cls.to_approve.job_id)
            cls.charge_invoiced = cls.env["crowd.customer.charge"]._create_for_jobs(cls.approved.job_id)
        cls.charge_invoiced.sudo()._create_invoices(post=True)
        assert (cls.charge_open.state, cls.charge_invoiced.state) == ("to_invoice", "invoiced")
        cls.contract = cls.env["crowd.service.contract"].create(
            {
                "name": "RPC contract",
                "partner_id": customer.id,
                "equipment_id": cls.equipment_router.id,
                "date_start": "2020-01-01",
                "date_end": "2020-12-31",
            }
        )
        cls.invoice_wizard = (
            cls.env["crowd.customer.invoice.wizard"]
            .with_user(cls.approver_1)
            .create({"charge_ids": [Command.set(cls.charge_open.ids)]})
        )
        cls.margin_line = cls.env["crowd.margin.report"].search([], limit=1)
        cls.settings = cls.env["res.config.settings"].create({})
        cls.job_pay_approval = cls._make_job(cls.expert_freelance, state="dispatching", expert_id=False)
        cls.job_pay_approval.sudo().write({"pay_approval_state": "needed", "pay_approval_amount": 150.0})
        cls.pay_rule = cls.env["crowd.pay.rule"].create({"name": "Night (RPC)", "label": "night", "percent": 30.0})

    def targets(self):
        bill = self.billed.move_id
        return {
            "crowd.payout": [
                ("payout_to_approve", self.to_approve),
                ("payout_approved", self.approved),
                ("payout_billed", self.billed),
            ],
            "crowd.service.package": [("package", self.package_generic)],
            "crowd.pay.rule": [("pay_rule", self.pay_rule)],
            "crowd.payout.bill.wizard": [("bill_wizard", self.bill_wizard)],
            "crowd.payout.reason.wizard": [("reason_wizard", self.reason_wizard)],
            "crowd.job.cost.report": [("cost_line", self.cost_line)],
            "crowd.customer.charge": [
                ("charge_to_invoice", self.charge_open),
                ("charge_invoiced", self.charge_invoiced),
            ],
            "crowd.service.contract": [("contract", self.contract)],
            "crowd.customer.invoice.wizard": [("invoice_wizard", self.invoice_wizard)],
            "crowd.margin.report": [("margin_line", self.margin_line)],
            "account.move": [("bill", bill)],
            "account.move.line": [("bill_line", self.billed.move_line_id)],
            "crowd.job": [("job", self.to_approve.job_id), ("job_pay_approval", self.job_pay_approval)],
            "maintenance.request": [("request", self.to_approve.job_id.request_id)],
            "maintenance.equipment": [("equipment", self.equipment_lift)],
            "maintenance.equipment.category": [("category", self.category_lift)],
            "res.partner": [("expert_partner", self.expert_freelance)],
            "res.company": [("company", self.company)],
            "res.config.settings": [("settings", self.settings)],
        }

    def field_targets(self, model, targets):
        if model in ("crowd.payout", "crowd.customer.charge"):
            return targets[:2]  # an open payout (visit to invoice) and an approved (invoiced) one
        return targets[:1]

    def param_values(self, model, record):
        return {"fields_list": list(self.env[model]._fields), "soft": True}

    def forged_context(self, role):
        return {
            "crowd_payout_system": True,
            "crowd_payout_workflow": True,
            "crowd_workflow": True,
            "crowd_payout_auto": True,
            "crowd_payout_no_commit": True,
            "active_test": False,
            "sudo": True,
            "su": True,
            "install_mode": True,
            "tracking_disable": True,
        }

    def company_context(self, role):
        return {"allowed_company_ids": [self.other_company.id, self.users[role].company_id.id]}

    def test_10_methods(self):
        self.check_methods()

    def test_20_fields(self):
        self.check_fields()

    def test_25_forged_company(self):
        self.check_forged_company()

    def test_30_create(self):
        self.check_create()

    def test_45_unknown_ids(self):
        self.check_unknown_ids()

    def test_50_bad_amounts(self):
        """Payout editors with bad amounts: a clear error, nothing changed."""
        for role in sorted(PAYOUT_EDITORS):
            for vals in (
                {"amount": -1.0, "manual_reason": "x"},
                {"base_amount": -100.0},
                {"travel_amount": -50.0},
                {"distance_km": -3.0},
            ):
                self.probe(role, "crowd.payout", "write", [self.to_approve.ids, vals], label=f"{role}: {vals}")
        self.assertNoProblems()
