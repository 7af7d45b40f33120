from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import CrowdPayoutCommon


@tagged("post_install", "-at_install")
class TestPayoutBills(CrowdPayoutCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.today()
        cls.last_month = cls.today - relativedelta(months=1)

    def _bill(self, payouts, post=False):
        return payouts.with_user(self.approver_1)._create_bills(post=post)

    def test_bills_grouped_per_vendor_and_month(self):
        f1 = self._approved_payout(self.expert_freelance, 100.0)
        f2 = self._approved_payout(self.expert_freelance, 120.0)
        f_old = self._approved_payout(self.expert_freelance, 90.0, date=self.last_month)
        p1 = self._approved_payout(self.expert_partner, 250.0)
        moves = self._bill(f1 | f2 | f_old | p1)
        self.assertEqual(len(moves), 3)
        self.assertEqual(set(moves.mapped("move_type")), {"in_invoice"})
        bill = f1.move_id
        self.assertEqual(bill, f2.move_id)
        self.assertNotEqual(bill, f_old.move_id)
        self.assertEqual(bill.partner_id, self.expert_freelance)
        self.assertEqual(p1.move_id.partner_id, self.partner_company)
        self.assertEqual(bill.amount_total, 220.0)
        self.assertEqual(f_old.move_id.invoice_date, fields.Date.end_of(self.last_month, "month"))
        self.assertRecordValues(
            f1.move_line_id,
            [
                {
                    "product_id": self.env.ref("crowd_service_payout.product_crowd_service_job").id,
                    "price_unit": 100.0,
                    "name": " – ".join(
                        (f1.request_id.name, f1.job_id.name, "Fiona Freelance", fields.Date.to_string(f1.date))
                    ),
                }
            ],
        )
        self.assertEqual((f1 | f2 | f_old | p1).mapped("state"), ["billed"] * 4)
        self.assertEqual(bill.state, "draft")
        self.assertEqual(bill.crowd_payout_count, 2)

    def test_analytic_distribution_from_equipment_or_company(self):
        lift_payout = self._approved_payout(self.expert_freelance)
        lift_payout.request_id.equipment_id = self.equipment_lift
        other = self._approved_payout(self.expert_freelance)
        self._bill(lift_payout | other)
        self.assertEqual(lift_payout.move_line_id.analytic_distribution, {str(self.analytic_lift.id): 100.0})
        self.assertFalse(other.move_line_id.analytic_distribution)
        default = self.env["account.analytic.account"].create(
            {"name": "Crowd", "plan_id": self.analytic_plan.id, "company_id": self.company.id}
        )
        self.company.crowd_payout_analytic_account_id = default
        third = self._approved_payout(self.expert_freelance)
        self._bill(third)
        self.assertEqual(third.move_line_id.analytic_distribution, {str(default.id): 100.0})

    def test_never_billed_twice_sequentially(self):
        payouts = self._approved_payout(self.expert_freelance) | self._approved_payout(self.expert_partner)
        self.assertEqual(len(self._bill(payouts)), 2)
        self.assertFalse(self._bill(payouts), "a second run (double click, retry) bills nothing")
        wizard = Form(
            self.env["crowd.payout.bill.wizard"]
            .with_user(self.approver_1)
            .with_context(active_model="crowd.payout", active_ids=payouts.ids)
        ).save()
        with self.assertRaises(UserError):
            wizard.action_create_bills()

    def test_wizard_posts_when_configured(self):
        self.company.crowd_payout_auto_post = True
        payout = self._approved_payout(self.expert_freelance)
        wizard = Form(
            self.env["crowd.payout.bill.wizard"]
            .with_user(self.approver_1)
            .with_context(active_model="crowd.payout", active_ids=payout.ids)
        ).save()
        self.assertTrue(wizard.post)
        self.assertEqual(wizard.record_count, 1)
        action = wizard.action_create_bills()
        self.assertEqual(action["res_id"], payout.move_id.id)
        self.assertEqual(payout.move_id.state, "posted")
        # cron bills past months only
        old = self._approved_payout(self.expert_freelance, date=self.last_month)
        current = self._approved_payout(self.expert_freelance)
        self.env["crowd.payout"]._cron_create_bills()
        self.assertEqual(old.state, "billed")
        self.assertEqual(current.state, "approved")

    def test_cron_chunks_never_split_a_bill(self):
        f1 = self._approved_payout(self.expert_freelance, 100.0, date=self.last_month)
        f2 = self._approved_payout(self.expert_freelance, 120.0, date=self.last_month)
        p1 = self._approved_payout(self.expert_partner, 250.0, date=self.last_month)
        payouts = f1 | f2 | p1
        # a chunk of one payout still takes the vendor's payouts whole
        chunks = payouts._split_by_partner(1)
        self.assertEqual(sorted(len(chunk) for chunk in chunks), [1, 2])
        self.assertEqual(sorted(chunk.ids for chunk in chunks), sorted([(f1 | f2).ids, p1.ids]))
        self.env["crowd.payout"]._cron_create_bills(chunk_size=1)
        self.assertEqual(payouts.mapped("state"), ["billed"] * 3)
        self.assertEqual(f1.move_id, f2.move_id)
        self.assertNotEqual(f1.move_id, p1.move_id)
        self.assertEqual(f1.move_id.invoice_line_ids.crowd_payout_origin_id & payouts, f1 | f2)
        self.assertTrue(
            any("Self-billing of 2 crowd payouts." in body for body in f1.move_id.message_ids.mapped("body"))
        )

    def test_cancel_and_reset_release_payouts(self):
        p1 = self._approved_payout(self.expert_freelance)
        p2 = self._approved_payout(self.expert_freelance)
        bill = self._bill(p1 | p2, post=True)
        self.assertEqual(bill.state, "posted")
        bill.button_draft()
        self.assertEqual((p1 | p2).mapped("state"), ["approved", "approved"])
        self.assertFalse((p1 | p2).move_line_id)
        # re-posting the same draft bill takes its payouts back, so they cannot be billed elsewhere
        bill.action_post()
        self.assertEqual((p1 | p2).mapped("state"), ["billed", "billed"])
        self.assertEqual(p1.move_id, bill)
        bill.button_cancel()
        self.assertEqual((p1 | p2).mapped("state"), ["approved", "approved"])
        new_bill = self._bill(p1 | p2)
        self.assertNotEqual(new_bill, bill)
        self.assertEqual(p1.move_id, new_bill)

    def test_draft_bill_repost_refused_when_rebilled(self):
        payout = self._approved_payout(self.expert_freelance)
        bill = self._bill(payout, post=True)
        bill.button_draft()
        self._bill(payout, post=True)
        with self.assertRaisesRegex(UserError, "elsewhere"):
            bill.action_post()

    def test_deleting_draft_bill_or_line_releases(self):
        p1 = self._approved_payout(self.expert_freelance)
        p2 = self._approved_payout(self.expert_freelance)
        bill = self._bill(p1 | p2)
        bill.write({"invoice_line_ids": [(2, p1.move_line_id.id)]})
        self.assertEqual(p1.state, "approved")
        self.assertEqual(p2.state, "billed")
        bill.unlink()
        self.assertEqual(p2.state, "approved")

    def test_payment_marks_payouts_paid(self):
        payouts = self._approved_payout(self.expert_freelance) | self._approved_payout(self.expert_freelance)
        bill = self._bill(payouts, post=True)
        self.assertEqual(payouts.mapped("state"), ["billed", "billed"])
        payment = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=bill.ids)
            .create({"payment_date": fields.Date.today()})
            ._create_payments()
        )
        self.assertIn(bill.payment_state, ("paid", "in_payment"))
        self.assertEqual(payouts.mapped("state"), ["paid", "paid"])
        with self.assertRaises(UserError):
            payouts[0].with_user(self.approver_1)._action_cancel("too late")
        # undoing the payment brings them back to billed
        payment.action_draft()
        self.assertEqual(bill.payment_state, "not_paid")
        self.assertEqual(payouts.mapped("state"), ["billed", "billed"])

    def test_other_currency(self):
        eur = self.setup_other_currency("EUR")
        self.package_technician.currency_id = eur
        payout = self._complete(self._make_job(self.expert_freelance))
        self.assertEqual(payout.currency_id, eur)
        self.assertEqual(payout.amount, 100.0)
        self.assertAlmostEqual(payout.amount_company, 50.0)  # rate 2.0 in the test setup
        # expected pay shown on offers is in the company currency
        self.assertAlmostEqual(self._make_job(self.expert_freelance)._crowd_expected_pay(self.expert_freelance), 50.0)
        payout.with_user(self.approver_1).action_approve()
        bill = self._bill(payout)
        self.assertEqual(bill.currency_id, eur)
        self.assertEqual(bill.amount_total, 100.0)
        self.assertAlmostEqual(-bill.amount_total_signed, 50.0)

    def test_other_company(self):
        company_2 = self.setup_other_company(name="Crowd Company 2")["company"]
        (self.approver_1 | self.dispatcher).write({"company_ids": [(4, company_2.id)]})
        self.company_2_package = self.Package.create(
            {"name": "Company 2 rate", "amount": 70.0, "company_id": company_2.id, "crowd_tier": "technician"}
        )
        equipment = self.env["maintenance.equipment"].create({"name": "C2 lift", "company_id": company_2.id})
        job = self._make_job(self.expert_freelance, equipment=equipment, company=company_2)
        payout = self._complete(job)
        self.assertRecordValues(payout, [{"company_id": company_2.id, "package_id": self.company_2_package.id}])
        payout.with_user(self.approver_1).with_company(company_2).action_approve()
        bill = payout.with_user(self.approver_1).with_context(allowed_company_ids=[company_2.id])._create_bills()
        self.assertEqual(bill.company_id, company_2)
        self.assertEqual(bill.journal_id.company_id, company_2)
        # a user of the first company only does not see it
        self.assertFalse(self.Payout.with_user(self.approver_2).search([("id", "=", payout.id)]))

    def test_taxed_product(self):
        """With purchase taxes on the product, the line keeps the payout as price and taxes come on top."""
        product = self.env.ref("crowd_service_payout.product_crowd_service_job")
        product.supplier_taxes_id = [(6, 0, self.tax_purchase_a.ids)]
        payout = self._approved_payout(self.expert_freelance, 200.0)
        bill = self._bill(payout, post=True)
        self.assertEqual(payout.move_line_id.price_unit, 200.0)
        self.assertEqual(payout.move_line_id.tax_ids, self.tax_purchase_a)
        self.assertEqual(bill.amount_untaxed, 200.0)
        self.assertGreater(bill.amount_total, 200.0)

    def test_payout_form_as_approver(self):
        payout = self._approved_payout(self.expert_freelance)
        form = Form(payout.with_user(self.approver_1))
        self.assertEqual(form.state, "approved")
        self._bill(payout)
        action = payout.with_user(self.approver_1).action_open_bill()
        self.assertEqual(action["res_id"], payout.move_id.id)
        action = payout.move_id.with_user(self.approver_1).action_view_crowd_payouts()
        self.assertEqual(self.env["crowd.payout"].search(action["domain"]), payout)

    def test_credit_note_releases_payouts(self):
        payout = self._approved_payout(self.expert_freelance)
        bill = self._bill(payout, post=True)
        bill._reverse_moves([{"invoice_date": fields.Date.today()}], cancel=True)
        self.assertEqual(bill.payment_state, "reversed")
        self.assertEqual(payout.state, "approved")
        self.assertFalse(payout.move_line_id)
        self.assertTrue(self._bill(payout), "the payout can be billed again")
