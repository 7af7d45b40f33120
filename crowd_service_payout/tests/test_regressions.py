"""Regression tests for the payout defects of issue #9 ("Finance that cannot be bent"), called
directly as each role; test_rpc.py makes the same calls over JSON-RPC."""

from psycopg2 import errors as pg_errors

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import CrowdPayoutCommon

FORGED = {"crowd_payout_system": True, "crowd_payout_workflow": True, "crowd_workflow": True, "crowd_payout_auto": True}
SNAPSHOT_FIELDS = [
    "state",
    "approver_id",
    "approved_on",
    "first_approver_id",
    "bill_partner_id",
    "expert_id",
    "amount",
    "base_amount",
    "travel_amount",
    "currency_id",
    "move_line_id",
    "is_manual",
]


@tagged("post_install", "-at_install")
class TestPayoutRegressions(CrowdPayoutCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        common = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        cls.manager = new_test_user(cls.env, login="h9_manager", groups="crowd_service.group_crowd_manager", **common)
        cls.finance = new_test_user(cls.env, login="h9_finance", groups="account.group_account_invoice", **common)

    def _snapshot(self, payouts):
        self.env.invalidate_all()
        return payouts.sudo().read(SNAPSHOT_FIELDS)

    def test_manager_without_approver_group_cannot_approve(self):
        """A Crowd Manager who is not a Payout Approver approved a payout by writing its state
        with the context key of system writes."""
        payout = self._complete(self._make_job(self.expert_freelance))
        self.assertEqual(payout.state, "to_approve")
        before = self._snapshot(payout)
        as_manager = payout.with_user(self.manager)
        for context in ({}, FORGED):
            for vals in (
                {"state": "approved"},
                {"state": "approved", "approver_id": self.manager.id, "approved_on": fields.Datetime.now()},
                {"first_approver_id": self.manager.id},
                {"move_line_id": False},
            ):
                with self.subTest(context=context, vals=vals), self.assertRaises(AccessError), self.env.cr.savepoint():
                    as_manager.with_context(**context).write(vals)
            with self.assertRaises(AccessError), self.env.cr.savepoint():
                as_manager.with_context(**context).action_approve()
            # a "system" context key does not let the manager create an approved payout either
            with self.assertRaises(AccessError):
                self.Payout.with_user(self.manager).with_context(**context).create(
                    {
                        "job_id": self._make_job(self.expert_freelance).id,
                        "expert_id": self.expert_freelance.id,
                        "state": "approved",
                    }
                )
        self.assertEqual(self._snapshot(payout), before)
        # the approver group, checked in action_approve itself, is what approves
        payout.with_user(self.approver_1).action_approve()
        self.assertRecordValues(payout, [{"state": "approved", "approver_id": self.approver_1.id}])

    def test_bill_partner_frozen_after_approval(self):
        """Finance changed the bill partner of an approved payout to their own partner: the
        vendor bill went to them."""
        payout = self._complete(self._make_job(self.expert_freelance))
        payout.with_user(self.approver_1).action_approve()
        before = self._snapshot(payout)
        for user, vals in (
            (self.approver_1, {"bill_partner_id": self.approver_1.partner_id.id}),
            (self.approver_manager, {"bill_partner_id": self.approver_manager.partner_id.id}),
            (self.approver_1, {"expert_id": self.expert_partner.id}),
            (self.approver_1, {"amount": 999.0, "manual_reason": "bonus"}),
            (self.approver_1, {"currency_id": self.setup_other_currency("EUR").id}),
            (self.approver_1, {"base_amount": 500.0}),
        ):
            with self.subTest(vals=vals), self.assertRaisesRegex(UserError, "cannot change"), self.env.cr.savepoint():
                payout.with_user(user).with_context(**FORGED).write(vals)
        self.assertEqual(self._snapshot(payout), before)
        # the partner company of the expert changing afterwards does not move the vendor either
        self.expert_freelance.write({"crowd_kind": "partner", "crowd_company_partner_id": self.partner_company.id})
        self.assertEqual(payout.bill_partner_id, self.expert_freelance)
        bill = payout.with_user(self.approver_1)._create_bills()
        self.assertEqual(bill.partner_id, self.expert_freelance)
        # finance cannot point a bill line at another payout either
        other = self._approved_payout(self.expert_partner)
        with self.assertRaises(AccessError):
            payout.move_line_id.with_user(self.approver_1).write({"crowd_payout_origin_id": other.id})
        self.assertEqual(payout.move_line_id.crowd_payout_origin_id, payout)

    def test_only_the_jobs_expert_is_paid(self):
        """Money cannot be redirected at creation either: a payout pays the expert of its job."""
        job = self._make_job(self.expert_freelance)
        for user in (self.approver_1, self.approver_manager):
            with self.assertRaisesRegex(ValidationError, "only the expert of job"), self.env.cr.savepoint():
                self.Payout.with_user(user).create(
                    {"job_id": job.id, "expert_id": self.expert_partner.id, "amount": 50.0, "manual_reason": "x"}
                )
        self.assertFalse(job.payout_ids)
        payout = self.Payout.with_user(self.approver_1).create({"job_id": job.id})
        self.assertEqual(payout.expert_id, self.expert_freelance)
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            payout.with_user(self.approver_1).write({"expert_id": self.expert_partner.id})
        self.assertEqual(payout.expert_id, self.expert_freelance)

    def test_bill_partner_editable_before_approval(self):
        payout = self._complete(self._make_job(self.expert_freelance))
        payout.with_user(self.approver_1).write({"bill_partner_id": self.partner_company.id})
        self.assertEqual(payout.bill_partner_id, self.partner_company)

    def test_negative_amounts_refused(self):
        """Finance wrote negative base and travel amounts over RPC."""
        payout = self._complete(self._make_job(self.expert_freelance))
        before = self._snapshot(payout)
        for vals in (
            {"base_amount": -100.0, "amount": 0.0, "manual_reason": "x"},
            {"travel_amount": -5.0},
            {"amount": -1.0, "manual_reason": "x"},
            {"distance_km": -3.0},
        ):
            with self.subTest(vals=vals), self.assertRaises(ValidationError), self.env.cr.savepoint():
                payout.with_user(self.approver_1).write(vals)
        self.assertEqual(self._snapshot(payout), before)
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.Payout.create(
                {
                    "job_id": self._make_job(self.expert_freelance).id,
                    "expert_id": self.expert_freelance.id,
                    "travel_amount": -20.0,
                    "amount": 60.0,
                    "manual_reason": "x",
                }
            )
        # the database refuses them too, whatever writes them
        with (
            self.assertRaises(pg_errors.CheckViolation),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env.cr.execute("UPDATE crowd_payout SET travel_amount = -1 WHERE id = %s", [payout.id])

    def test_wizard_bills_exactly_the_selection(self):
        """When the selected payouts were already billed, the wizard billed every approved payout
        of the company."""
        selected = self._approved_payout(self.expert_freelance)
        self._approved_payout(self.expert_freelance).sudo()._create_bills()  # billed elsewhere
        unselected = self._approved_payout(self.expert_freelance) | self._approved_payout(self.expert_partner)
        selected.sudo()._create_bills()
        self.assertEqual(selected.state, "billed")
        moves_before = self.env["account.move"].search_count([])
        Wizard = self.env["crowd.payout.bill.wizard"].with_user(self.approver_1)
        wizard = Form(Wizard.with_context(active_model="crowd.payout", active_ids=selected.ids)).save()
        self.assertEqual(wizard.record_count, 0)
        with self.assertRaisesRegex(UserError, "None of the selected payouts"):
            wizard.action_create_bills()
        # and with nothing selected at all (the menu): nothing is billed either
        with self.assertRaisesRegex(UserError, "None of the selected payouts"):
            Form(Wizard).save().action_create_bills()
        self.assertEqual(unselected.mapped("state"), ["approved", "approved"])
        self.assertFalse(unselected.move_id)
        self.assertEqual(self.env["account.move"].search_count([]), moves_before)
        # a mixed selection bills the billable part of it, and nothing beyond
        picked = self._approved_payout(self.expert_freelance)
        wizard = Form(Wizard.with_context(active_model="crowd.payout", active_ids=(selected | picked).ids)).save()
        self.assertEqual(wizard.record_count, 1)
        wizard.action_create_bills()
        self.assertEqual(picked.state, "billed")
        self.assertEqual(picked.move_id.crowd_payout_ids, picked)
        self.assertEqual(unselected.mapped("state"), ["approved", "approved"])

    def test_bill_built_by_account_move(self):
        """Accounts, taxes and fiscal position of the bill come from the product and the vendor
        through account.move, not from a hand-made mapping."""
        product = self.env.ref("crowd_service_payout.product_crowd_service_job")
        product.supplier_taxes_id = [Command.set(self.tax_purchase_a.ids)]
        fiscal_position = self.env["account.fiscal.position"].create(
            {
                "name": "Self-billing abroad",
                "tax_ids": [
                    Command.create({"tax_src_id": self.tax_purchase_a.id, "tax_dest_id": self.tax_purchase_b.id})
                ],
            }
        )
        self.partner_company.property_account_position_id = fiscal_position
        payout = self._approved_payout(self.expert_partner, 100.0)
        bill = payout.with_user(self.approver_1)._create_bills(post=True)
        line = payout.move_line_id
        self.assertEqual(bill.fiscal_position_id, fiscal_position)
        self.assertEqual(line.tax_ids, self.tax_purchase_b)
        accounts = product.product_tmpl_id.get_product_accounts(fiscal_pos=fiscal_position)
        self.assertEqual(line.account_id, accounts["expense"] or bill.journal_id.default_account_id)
        self.assertEqual(bill.amount_untaxed, 100.0)
        self.assertEqual(bill.state, "posted")

    def test_paid_through_payment_hooks_never_twice(self):
        p1 = self._approved_payout(self.expert_freelance)
        p2 = self._approved_payout(self.expert_freelance)
        bill = (p1 | p2).sudo()._create_bills(post=True)
        # finance without payout rights registers the payment: the hook still marks them paid
        self.finance.groups_id |= self.env.ref("account.group_account_manager")
        self.env["account.payment.register"].with_user(self.finance).with_context(
            active_model="account.move", active_ids=bill.ids
        ).create({"payment_date": fields.Date.today()})._create_payments()
        self.assertEqual((p1 | p2).mapped("state"), ["paid", "paid"])
        # paid payouts are not billed again, by a run or by the wizard
        self.assertFalse((p1 | p2).sudo()._create_bills())
        with self.assertRaises(UserError):
            Form(
                self.env["crowd.payout.bill.wizard"]
                .with_user(self.approver_1)
                .with_context(active_model="crowd.payout", active_ids=p1.ids)
            ).save().action_create_bills()
        self.assertEqual(self.env["account.move.line"].search_count([("crowd_payout_origin_id", "=", p1.id)]), 1)

    def test_partial_credit_note_keeps_payouts_billed(self):
        payout = self._approved_payout(self.expert_freelance, 100.0)
        bill = payout.sudo()._create_bills(post=True)
        refund = bill._reverse_moves([{"invoice_date": fields.Date.today()}])
        refund.invoice_line_ids.price_unit = 40.0
        refund.action_post()  # a credit note of the bill is matched with it on posting
        self.assertEqual(bill.payment_state, "partial")
        self.assertEqual(payout.state, "billed")
        self.assertEqual(payout.move_id, bill)
