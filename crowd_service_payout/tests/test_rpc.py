"""The payout rules as a real client meets them: JSON-RPC on /web/dataset/call_kw, as each role,
with and without forged context keys. Every refusal is asserted, and so is "nothing changed"."""

import logging

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .common import CrowdPayoutCommon

_logger = logging.getLogger(__name__)

FORGED = {"crowd_payout_system": True, "crowd_payout_workflow": True, "crowd_workflow": True, "crowd_payout_auto": True}
REFUSALS = ("odoo.exceptions.AccessError", "odoo.exceptions.UserError", "odoo.exceptions.ValidationError")
WATCHED = [
    "state",
    "approver_id",
    "first_approver_id",
    "completed_by_id",
    "bill_partner_id",
    "expert_id",
    "amount",
    "base_amount",
    "travel_amount",
    "currency_id",
    "move_line_id",
]


@tagged("post_install", "-at_install")
class TestPayoutRpc(CrowdPayoutCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        common = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        cls.other_portal = new_test_user(cls.env, login="h9_other_expert", groups="base.group_portal", **common)
        cls.other_portal.partner_id.write(cls._expert_vals("freelance", "technician"))
        cls.manager = new_test_user(
            cls.env, login="h9_rpc_manager", groups="crowd_service.group_crowd_manager", **common
        )
        cls.finance = new_test_user(cls.env, login="h9_rpc_finance", groups="account.group_account_manager", **common)
        cls.internal = new_test_user(cls.env, login="h9_rpc_internal", groups="base.group_user", **common)
        cls.to_approve = cls._complete(cls._make_job(cls.expert_freelance))
        cls.approved = cls._complete(cls._make_job(cls.expert_freelance))
        cls.approved.with_user(cls.approver_1).action_approve()
        cls.billed = cls._approved_payout(cls.expert_freelance)
        cls.billed.sudo()._create_bills()
        cls.spare = cls._approved_payout(cls.expert_partner)  # approved; nobody selects it
        cls.free_job = cls._make_job(cls.expert_partner)  # no payout yet
        cls.payouts = cls.to_approve | cls.approved | cls.billed | cls.spare
        cls.roles = {
            "expert": cls.portal_user,
            "other expert": cls.other_portal,
            "internal user": cls.internal,
            "dispatcher": cls.dispatcher,
            "crowd manager": cls.manager,
            "finance": cls.finance,
            "payout approver": cls.approver_1,
        }

    def _state(self):
        self.env.invalidate_all()
        payouts = self.payouts.sudo().read(WATCHED)
        lines = self.env["account.move.line"].search_read(
            [("crowd_payout_origin_id", "!=", False)], ["crowd_payout_origin_id"]
        )
        moves = self.env["account.move"].search_count([("move_type", "=", "in_invoice")])
        return payouts, lines, moves

    def _call(self, model, method, args, kwargs=None, context=None):
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": args, "kwargs": dict(kwargs or {}, context=context or {})},
        )

    def _attempts(self, user):
        """(label, model, method, args, kwargs) of every call ``user`` must not get through."""
        partner = user.partner_id.id
        to_approve, approved, billed, spare = (p.id for p in (self.to_approve, self.approved, self.billed, self.spare))
        payout = "crowd.payout"
        attempts = [
            ("approve by writing the state", payout, "write", [[to_approve], {"state": "approved"}], {}),
            ("write the approver", payout, "write", [[to_approve], {"approver_id": user.id}], {}),
            ("write a first approval", payout, "write", [[to_approve], {"first_approver_id": user.id}], {}),
            ("write the completing user", payout, "write", [[to_approve], {"completed_by_id": False}], {}),
            ("pay by writing the state", payout, "write", [[billed], {"state": "paid"}], {}),
            ("unlink from its bill", payout, "write", [[billed], {"move_line_id": False}], {}),
            ("redirect the money", payout, "write", [[approved], {"bill_partner_id": partner}], {}),
            ("change the expert", payout, "write", [[approved], {"expert_id": partner}], {}),
            ("raise an approved amount", payout, "write", [[approved], {"amount": 9999.0, "manual_reason": "x"}], {}),
            ("negative base amount", payout, "write", [[to_approve], {"base_amount": -100.0}], {}),
            ("negative travel amount", payout, "write", [[to_approve], {"travel_amount": -50.0}], {}),
            ("negative amount", payout, "write", [[to_approve], {"amount": -1.0, "manual_reason": "x"}], {}),
            (
                "create an approved payout",
                payout,
                "create",
                [
                    {
                        "job_id": self.free_job.id,
                        "expert_id": self.expert_partner.id,
                        "amount": 10.0,
                        "manual_reason": "x",
                        "state": "approved",
                    }
                ],
                {},
            ),
            ("private workflow write", payout, "_write_workflow", [[to_approve], {"state": "approved"}], {}),
            ("private billing", payout, "_create_bills", [[spare]], {}),
            ("private release", payout, "_release_from_move", [[billed]], {}),
            ("delete a billed payout", payout, "unlink", [[billed]], {}),
            (
                "bill unselected payouts",
                "crowd.payout.bill.wizard",
                "create",
                [{"payout_ids": [Command.set([billed])]}],
                {},
            ),
            (
                "relink a bill line",
                "account.move.line",
                "write",
                [self.billed.move_line_id.ids, {"crowd_payout_origin_id": spare}],
                {},
            ),
        ]
        if user != self.approver_1:
            attempts.append(("approve", payout, "action_approve", [[to_approve]], {}))
        return attempts

    def test_rpc_every_role(self):
        before = self._state()
        tried = refused = 0
        for role, user in self.roles.items():
            self.authenticate(user.login, user.login)
            for context in ({}, FORGED):
                for label, model, method, args, kwargs in self._attempts(user):
                    tried += 1
                    with self.subTest(role=role, call=label, forged=bool(context)):
                        with self.assertRaises(JsonRpcException) as caught:
                            result = self._call(model, method, args, kwargs, context)
                            if model == "crowd.payout.bill.wizard":  # a wizard: creating it is fine, billing not
                                self._call(model, "action_create_bills", [[result]], {}, context)
                        self.assertIn(str(caught.exception), REFUSALS)
                        refused += 1
        self.assertEqual(self._state(), before, "no refused call changed anything")
        _logger.info("Payout RPC suite: %s calls tried, %s refused as expected", tried, refused)
        self.assertEqual(refused, tried)

    def test_rpc_approver_approves(self):
        """The same channel works for what is allowed: the approver approves, with or without
        a forged context, and then the payout is frozen."""
        self.authenticate(self.approver_2.login, self.approver_2.login)
        self._call("crowd.payout", "action_approve", [self.to_approve.ids], context=FORGED)
        self.assertRecordValues(self.to_approve, [{"state": "approved", "approver_id": self.approver_2.id}])
        with self.assertRaises(JsonRpcException):
            self._call("crowd.payout", "write", [self.to_approve.ids, {"travel_amount": 5.0}])
        wizard = self._call("crowd.payout.bill.wizard", "create", [{"payout_ids": [Command.set(self.to_approve.ids)]}])
        self._call("crowd.payout.bill.wizard", "action_create_bills", [[wizard]])
        self.env.invalidate_all()
        self.assertEqual(self.to_approve.state, "billed")
        self.assertEqual(self.spare.state, "approved", "a payout nobody selected stays unbilled")

    def test_rpc_read_without_payout_rights(self):
        """Internal users outside the crowd and payout groups read partners, bills and jobs, every
        field as a client such as odoorpc asks for them, without an AccessError. (A partner, with
        account installed, needs invoicing rights anyway: account's own invoice_ids.)"""
        bill = self.billed.move_id
        for user, model, record in (
            (self.finance, "res.partner", self.expert_freelance),
            (self.finance, "account.move", bill),
            (self.internal, "crowd.job", self.to_approve.job_id),
        ):
            with self.subTest(user=user.login, model=model):
                self.authenticate(user.login, user.login)
                values = self._call(model, "read", [record.ids])
                self.assertEqual(values[0]["id"], record.id)
                self.assertNotIn("crowd_payout_ids", values[0])
        # who may see payouts sees them
        self.authenticate(self.approver_1.login, self.approver_1.login)
        values = self._call("account.move", "read", [bill.ids, ["crowd_payout_ids"]])
        self.assertEqual(values[0]["crowd_payout_ids"], self.billed.ids)
