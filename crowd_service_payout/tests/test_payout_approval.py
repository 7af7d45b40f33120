from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import CrowdPayoutCommon

ACTIVITY = "crowd_service_payout.mail_activity_type_payout_approval"


@tagged("post_install", "-at_install")
class TestPayoutApproval(CrowdPayoutCommon):
    def _activity_users(self, payout):
        activity_type = self.env.ref(ACTIVITY)
        return payout.activity_ids.filtered(lambda a: a.activity_type_id == activity_type).user_id

    def test_completion_creates_one_payout_per_expert_idempotent(self):
        job = self._make_job(self.expert_freelance)
        payout = self._complete(job)
        self.assertRecordValues(
            payout,
            [
                {
                    "expert_id": self.expert_freelance.id,
                    "package_id": self.package_technician.id,
                    "amount": 100.0,
                    "state": "to_approve",
                    "is_auto": True,
                    "completed_by_id": self.dispatcher.id,
                    "create_uid": self.dispatcher.id,
                    "bill_partner_id": self.expert_freelance.id,
                }
            ],
        )
        self.assertTrue(payout.name.startswith("CPO/"))
        # a second run (retry, double click) creates nothing
        job.with_user(self.dispatcher)._crowd_on_done()
        self.env["crowd.payout"]._create_auto_payouts(job)
        self.assertEqual(len(job.payout_ids), 1)
        # activities for the approvers who may approve it, not for the completing dispatcher
        users = self._activity_users(payout)
        self.assertIn(self.approver_1, users)
        self.assertIn(self.approver_2, users)
        self.assertNotIn(self.dispatcher, users)

    def test_partner_technician_billed_to_partner_company(self):
        payout = self._complete(self._make_job(self.expert_partner))
        self.assertEqual(payout.bill_partner_id, self.partner_company)

    def test_no_package_stays_draft(self):
        self.Package.search([]).active = False
        payout = self._complete(self._make_job(self.expert_freelance))
        self.assertEqual(payout.state, "draft")
        self.assertEqual(payout.amount, 0.0)
        with self.assertRaises(UserError):
            payout.action_submit()

    def test_manual_amount_needs_reason(self):
        payout = self._complete(self._make_job(self.expert_freelance))
        with self.assertRaises(ValidationError):
            payout.with_user(self.approver_1).write({"amount": 140.0})
        payout.with_user(self.approver_1).write({"amount": 140.0, "manual_reason": "Two visits"})
        self.assertTrue(payout.is_manual)
        # unticking "manual" while the amount is not the package's rate is refused
        with self.assertRaises(ValidationError):
            payout.with_user(self.approver_1).write({"is_manual": False, "manual_reason": False})
        with self.assertRaises(ValidationError):  # saying "not manual" does not skip the reason
            self.Payout.create(
                {
                    "job_id": self._make_job(self.expert_freelance).id,
                    "expert_id": self.expert_freelance.id,
                    "amount": 999.0,
                    "is_manual": False,
                }
            )
        job = self._make_job(self.expert_freelance)
        with self.assertRaises(ValidationError):
            self.Payout.create({"job_id": job.id, "expert_id": self.expert_freelance.id, "amount": 55.0})
        # the same through the form
        with self.assertRaises(AssertionError):  # the form refuses to save without the required reason
            with Form(self.Payout) as form:
                form.job_id = job
                form.expert_id = self.expert_freelance
                form.amount = 55.0
                form.is_manual = True

    def test_self_approval_refused(self):
        job = self._make_job(self.expert_freelance)
        payout = self.Payout.with_user(self.approver_1).create(
            {"job_id": job.id, "expert_id": self.expert_freelance.id}
        )
        self.assertEqual(payout.amount, 100.0)  # from the package
        self.assertFalse(payout.is_manual)
        payout.action_submit()
        self.assertNotIn(self.approver_1, self._activity_users(payout))
        with self.assertRaisesRegex(UserError, "You created"):
            payout.with_user(self.approver_1).action_approve()
        self.assertEqual(payout.state, "to_approve")
        payout.with_user(self.approver_2).action_approve()
        self.assertRecordValues(payout, [{"state": "approved", "approver_id": self.approver_2.id}])
        self.assertFalse(self._activity_users(payout), "approval closes every approval activity")

    def test_completing_dispatcher_cannot_approve(self):
        payout = self._complete(self._make_job(self.expert_freelance), user=self.dispatcher_approver)
        self.assertEqual(payout.completed_by_id, self.dispatcher_approver)
        with self.assertRaisesRegex(UserError, "completed the job"):
            payout.with_user(self.dispatcher_approver).action_approve()
        # the completion hook was run by someone else, the dispatcher completed it: still refused
        payout2 = self._complete(self._make_job(self.expert_freelance))
        payout2._write_workflow({"completed_by_id": self.approver_2.id})
        with self.assertRaisesRegex(UserError, "completed the job"):
            payout2.with_user(self.approver_2).action_approve()

    def test_expert_never_approves(self):
        self.portal_user.write({"groups_id": [(6, 0, [self.env.ref("base.group_user").id])]})
        self.portal_user.write({"groups_id": [(4, self.env.ref("crowd_service_payout.group_payout_approver").id)]})
        payout = self._complete(self._make_job(self.expert_freelance))
        with self.assertRaisesRegex(UserError, "your own payout"):
            payout.with_user(self.portal_user).action_approve()

    def test_non_approver_refused(self):
        payout = self._complete(self._make_job(self.expert_freelance))
        with self.assertRaises(AccessError):
            payout.with_user(self.dispatcher).action_approve()

    def test_batch_is_all_or_nothing(self):
        mine = self.Payout.with_user(self.approver_1).create(
            {"job_id": self._make_job(self.expert_freelance).id, "expert_id": self.expert_freelance.id}
        )
        mine.action_submit()
        other = self._complete(self._make_job(self.expert_freelance))
        batch = (mine | other).with_user(self.approver_1)
        with self.assertRaises(UserError):
            batch.action_approve()
        self.assertEqual(other.state, "to_approve")
        # the server action of the list approves a batch
        action = self.env.ref("crowd_service_payout.action_server_crowd_payout_approve")
        other2 = self._complete(self._make_job(self.expert_freelance))
        action.with_user(self.approver_2).with_context(
            active_model="crowd.payout", active_ids=(other | other2).ids
        ).run()
        self.assertEqual((other | other2).mapped("state"), ["approved", "approved"])

    def test_second_approval_above_threshold(self):
        self.company.crowd_payout_double_threshold = 200.0
        small = self._complete(self._make_job(self.expert_freelance))
        big = self._complete(self._make_job(self.expert_partner, equipment=self.equipment_lift))
        self.assertFalse(small.needs_second_approval)
        self.assertTrue(big.needs_second_approval)
        (small | big).with_user(self.approver_1).action_approve()
        self.assertEqual(small.state, "approved")
        self.assertRecordValues(big, [{"state": "to_approve", "first_approver_id": self.approver_1.id}])
        self.assertNotIn(self.approver_1, self._activity_users(big))
        self.assertIn(self.approver_2, self._activity_users(big))
        with self.assertRaisesRegex(UserError, "already approved"):
            big.with_user(self.approver_1).action_approve()
        big.with_user(self.approver_2).action_approve()
        self.assertRecordValues(big, [{"state": "approved", "approver_id": self.approver_2.id}])
        self.assertFalse(self._activity_users(big))

    def test_amount_change_voids_first_approval(self):
        self.company.crowd_payout_double_threshold = 50.0
        payout = self._complete(self._make_job(self.expert_freelance))
        payout.with_user(self.approver_1).action_approve()
        self.assertEqual(payout.first_approver_id, self.approver_1)
        payout.with_user(self.approver_2).write({"amount": 95.0, "manual_reason": "Shorter job"})
        self.assertFalse(payout.first_approver_id)

    def test_cost_ceiling(self):
        job = self._make_job(self.expert_freelance, cost_ceiling=90.0)
        payout = self._complete(job)
        self.assertTrue(payout.above_ceiling)
        self.assertEqual(self._activity_users(payout), self.approver_manager)
        with self.assertRaisesRegex(UserError, "cost ceiling"):
            payout.with_user(self.approver_1).action_approve()
        payout.with_user(self.approver_manager).action_approve()
        self.assertEqual(payout.state, "approved")
        within = self._complete(self._make_job(self.expert_freelance, cost_ceiling=150.0))
        self.assertFalse(within.above_ceiling)
        within.with_user(self.approver_1).action_approve()
        self.assertEqual(within.state, "approved")

    def test_reject_and_cancel_need_reason(self):
        payout = self._complete(self._make_job(self.expert_freelance))
        action = payout.with_user(self.approver_1).action_reject()
        wizard = Form(
            self.env["crowd.payout.reason.wizard"].with_user(self.approver_1).with_context(**action["context"])
        )
        with self.assertRaises(AssertionError):
            wizard.save()
        wizard.reason = "Job not done"
        wizard.save().action_confirm()
        self.assertRecordValues(payout, [{"state": "rejected", "reject_reason": "Job not done"}])
        self.assertFalse(payout.activity_ids)
        with self.assertRaises(UserError):
            payout._action_cancel("")
        payout.with_user(self.approver_1).action_reset_draft()
        payout.with_user(self.approver_1)._action_cancel("Duplicate")
        self.assertEqual(payout.state, "cancelled")

    def test_approved_payout_is_frozen(self):
        payout = self._complete(self._make_job(self.expert_freelance))
        payout.with_user(self.approver_1).action_approve()
        with self.assertRaises(UserError):
            payout.with_user(self.approver_1).write({"amount": 1.0, "manual_reason": "x"})
        with self.assertRaises(UserError):
            payout.with_user(self.approver_1).unlink()

    def test_visit_completion_flow(self):
        """The real completion (crowd.job's action_complete) creates the payout once."""
        job = self._make_job(self.expert_freelance, state="on_site")
        job.with_user(self.dispatcher).action_complete("Replaced the sensor")
        payout = job.payout_ids
        self.assertRecordValues(
            payout,
            [{"state": "to_approve", "amount": 100.0, "completed_by_id": self.dispatcher.id, "is_auto": True}],
        )
        self.assertEqual(payout.date, job.done_at.date())
        with self.assertRaises(UserError):  # done -> done is refused by crowd_service; no second payout anyway
            job.with_user(self.dispatcher).action_complete("again")
        self.assertEqual(len(job.payout_ids), 1)

    def test_expert_completes_own_visit(self):
        job = self._make_job(self.expert_freelance, state="on_site")
        # as the expert portal (or an RPC client) does: the job checks that its expert completes it
        job.with_user(self.portal_user).action_complete("Done by the expert")
        payout = job.payout_ids
        self.assertEqual(payout.completed_by_id, self.portal_user)
        self.assertEqual(payout.state, "to_approve")
        # the expert can see it, but neither approve nor change it
        payout.with_user(self.portal_user).read(["amount"])
        with self.assertRaises(AccessError):
            payout.with_user(self.portal_user).action_approve()

    def test_unique_automatic_payout_under_race(self):
        """Two completions racing both miss each other's payout in their search; the unique
        constraint lets only one through and the loser skips quietly."""
        job = self._make_job(self.expert_freelance)
        first = self._complete(job)
        Payout = type(self.env["crowd.payout"])
        with patch.object(Payout, "search", lambda self, *args, **kwargs: self.browse()):
            again = self.env["crowd.payout"]._create_auto_payouts(job)
        self.assertFalse(again)
        self.assertEqual(job.payout_ids, first)
        # one payout per job, manual or not (a second visit is a job of its own)
        for vals in ({"is_auto": True, "amount": 1.0}, {"amount": 30.0, "manual_reason": "Revisit"}):
            with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                self.Payout.sudo().create({"job_id": job.id, "expert_id": self.expert_freelance.id, **vals})
        self.assertEqual(job.payout_ids, first)

    def test_own_technicians_are_not_paid_per_job(self):
        job = self._make_job(self.expert_employee)
        self.assertEqual(job._crowd_expected_pay(self.expert_employee), 0.0)
        self.assertFalse(self._complete(job))
        with self.assertRaises(ValidationError):
            self.Payout.create(
                {"job_id": job.id, "expert_id": self.expert_employee.id, "amount": 10.0, "manual_reason": "x"}
            )
