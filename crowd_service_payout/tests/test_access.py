from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import CrowdPayoutCommon


@tagged("post_install", "-at_install")
class TestPayoutAccess(CrowdPayoutCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.own = cls._complete(cls._make_job(cls.expert_freelance))
        cls.other = cls._complete(cls._make_job(cls.expert_partner))

    def test_approver(self):
        payouts = self.Payout.with_user(self.approver_1).search([("id", "in", (self.own | self.other).ids)])
        self.assertEqual(len(payouts), 2)
        payouts.action_approve()
        self.assertEqual(payouts.mapped("state"), ["approved", "approved"])
        self.assertTrue(payouts._create_bills())
        # approvers read the packages but do not change them
        self.package_generic.with_user(self.approver_1).read(["amount"])
        with self.assertRaises(AccessError):
            self.package_generic.with_user(self.approver_1).write({"amount": 1.0})

    def test_dispatcher_reads_only(self):
        payout = self.own.with_user(self.dispatcher)
        payout.read(["amount", "state"])
        self.package_generic.with_user(self.dispatcher).read(["amount"])
        with self.assertRaises(AccessError):
            payout.write({"amount": 1.0, "manual_reason": "x"})
        with self.assertRaises(AccessError):
            self.Payout.with_user(self.dispatcher).create({"job_id": self._make_job(self.expert_freelance).id})
        with self.assertRaises(AccessError):
            payout.action_approve()
        with self.assertRaises(AccessError):
            self.env["crowd.payout.bill.wizard"].with_user(self.dispatcher).create({})

    def test_manager_manages_packages(self):
        self.package_generic.with_user(self.approver_manager).write({"amount": 85.0})
        self.assertEqual(self.package_generic.amount, 85.0)

    def test_portal_expert_sees_own_payouts_only(self):
        Payout = self.Payout.with_user(self.portal_user)
        self.assertEqual(Payout.search([]), self.own)
        self.assertEqual(Payout.search_count([]), 1)
        self.own.with_user(self.portal_user).read(["amount", "state", "request_ref"])
        with self.assertRaises(AccessError):
            self.other.with_user(self.portal_user).read(["amount"])
        with self.assertRaises(AccessError):
            self.own.with_user(self.portal_user).write({"amount": 1000.0, "manual_reason": "more"})
        with self.assertRaises(AccessError):
            self.env["crowd.service.package"].with_user(self.portal_user).search([])

    def test_views_open_for_each_role(self):
        """The payout form and list load for a dispatcher (no accounting rights), an approver and
        a manager; the request form shows the payouts button."""
        self.own.with_user(self.approver_1).action_approve()
        self.assertTrue(self.own.with_user(self.approver_1)._create_bills())
        for user in (self.dispatcher, self.approver_1, self.approver_manager):
            payout = self.own.with_user(user)
            form = Form(payout)
            self.assertEqual(form.amount, 100.0)
            payout.get_views([(False, "list"), (False, "search"), (False, "pivot"), (False, "graph")])
            if user != self.dispatcher:
                self.env["crowd.payout"].with_user(user).web_search_read(
                    [], {"name": {}, "move_id": {"fields": {"display_name": {}}}, "state": {}}
                )
        request_form = Form(self.own.request_id.with_user(self.dispatcher))
        self.assertEqual(request_form.crowd_payout_count, 1)

    def test_workflow_fields_only_through_buttons(self):
        with self.assertRaisesRegex(UserError, "Use the buttons"):
            self.own.with_user(self.approver_manager).write({"state": "approved"})
        with self.assertRaisesRegex(UserError, "Use the buttons"):
            self.own.with_user(self.approver_1).write({"approver_id": self.approver_1.id})
        with self.assertRaisesRegex(UserError, "Use the buttons"):
            self.Payout.with_user(self.approver_1).create(
                {"job_id": self._make_job(self.expert_partner).id, "state": "approved"}
            )
        self.assertEqual(self.own.state, "to_approve")
