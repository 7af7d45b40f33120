from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from psycopg2 import IntegrityError

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import CrowdPayoutCommon


class CrowdInvoiceCommon(CrowdPayoutCommon):
    """A customer owning the test equipment, and packages with a customer price on a taxed service."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create({"name": "Hospital Nord", "is_company": True})
        cls.customer_contact = cls.env["res.partner"].create(
            {"name": "Nora Facility", "parent_id": cls.customer.id, "type": "contact"}
        )
        cls.other_customer = cls.env["res.partner"].create({"name": "Hotel Sud", "is_company": True})
        (cls.equipment_lift | cls.equipment_router).crowd_customer_id = cls.customer_contact
        cls.visit_product = cls.env["product.product"].create(
            {
                "name": "Service visit (tests)",
                "type": "service",
                "sale_ok": True,
                "list_price": 130.0,
                "taxes_id": [Command.set(cls.tax_sale_a.ids)],
            }
        )
        cls.package_generic.write({"customer_product_id": cls.visit_product.id, "customer_price": 120.0})
        cls.package_technician.write({"customer_product_id": cls.visit_product.id, "customer_price": 150.0})
        cls.package_specialist_lift.write({"customer_product_id": cls.visit_product.id, "customer_price": 400.0})
        cls.billing_user = new_test_user(
            cls.env,
            login="h13_billing",
            groups="account.group_account_invoice",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.Charge = cls.env["crowd.customer.charge"]
        cls.Contract = cls.env["crowd.service.contract"]
        cls.visit_day = fields.Date.today() - timedelta(days=3)

    @classmethod
    def _visit(cls, expert=None, equipment=None, day=None, company=None):
        """A visit by ``expert`` on ``equipment`` completed at noon on ``day``; returns its charge."""
        job = cls._make_job(expert or cls.expert_freelance, equipment=equipment, company=company)
        noon = datetime.combine(day or cls.visit_day, datetime.min.time()) + timedelta(hours=12)
        job.sudo().write({"state": "done", "done_at": noon})
        job.with_user(cls.dispatcher)._crowd_on_done()
        return job.sudo().charge_ids.with_env(cls.env)


@tagged("post_install", "-at_install")
class TestCustomerCharges(CrowdInvoiceCommon):
    def test_charge_at_package_price(self):
        charge = self._visit()
        self.assertRecordValues(
            charge,
            [
                {
                    "partner_id": self.customer.id,
                    "package_id": self.package_technician.id,
                    "product_id": self.visit_product.id,
                    "price_unit": 150.0,
                    "amount": 150.0,
                    "coverage": "none",
                    "no_charge_reason": False,
                    "state": "to_invoice",
                    "date": self.visit_day,
                    "company_id": self.company.id,
                }
            ],
        )
        self.assertEqual(charge.job_id.charge_count, 1)
        # once per job: a second completion hook creates nothing, a second charge is refused
        self.assertFalse(self.Charge._create_for_jobs(charge.job_id))
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.Charge.create(
                {
                    "job_id": charge.job_id.id,
                    "partner_id": self.customer.id,
                    "product_id": self.visit_product.id,
                    "currency_id": self.company.currency_id.id,
                    "price_unit": 1.0,
                    "date": self.visit_day,
                }
            )
            self.env.flush_all()

    def test_no_charge_without_customer_or_price(self):
        self.equipment_router.write({"crowd_customer_id": False, "crowd_site_id": False})
        self.assertFalse(self._visit(), "nobody to invoice")
        self.equipment_router.crowd_customer_id = self.customer
        self.package_technician.customer_product_id = False
        self.assertFalse(self._visit(), "a package without customer product is not invoiced")

    def test_warranty_boundary_day(self):
        """The warranty covers its last day: a visit on warranty_date is free, the day after is charged."""
        self.equipment_router.warranty_date = self.visit_day
        on_last_day = self._visit()
        self.assertRecordValues(on_last_day, [{"coverage": "warranty", "amount": 0.0, "price_unit": 150.0}])
        self.assertEqual(on_last_day.no_charge_reason, f"Under warranty until {fields.Date.to_string(self.visit_day)}")
        day_after = self._visit(day=self.visit_day + timedelta(days=1))
        self.assertRecordValues(day_after, [{"coverage": "none", "amount": 150.0}])
        day_before = self._visit(day=self.visit_day - timedelta(days=1))
        self.assertEqual(day_before.coverage, "warranty")

    def test_contract_on_equipment_and_category(self):
        start, end = self.visit_day - timedelta(days=10), self.visit_day
        on_category = self.Contract.create(
            {
                "name": "Routers full service",
                "partner_id": self.customer.id,
                "equipment_category_id": self.category_other.id,
                "date_start": start,
                "date_end": end,
            }
        )
        charge = self._visit()
        self.assertRecordValues(charge, [{"coverage": "contract", "contract_id": on_category.id, "amount": 0.0}])
        self.assertEqual(charge.no_charge_reason, "Covered by service contract Routers full service")
        self.assertEqual(on_category.charge_count, 1)
        # a contract on the equipment itself wins over the category's
        on_equipment = self.Contract.create(
            {
                "name": "Router 3 care",
                "partner_id": self.customer.id,
                "equipment_id": self.equipment_router.id,
                "date_start": start,
                "date_end": end,
            }
        )
        self.assertEqual(self._visit().contract_id, on_equipment)
        # the end day is covered, the day after is not
        self.assertEqual(self._visit(day=end + timedelta(days=1)).coverage, "none")
        self.assertEqual(self._visit(day=start).coverage, "contract")
        self.assertEqual(self._visit(day=start - timedelta(days=1)).coverage, "none")
        # only the covered packages: the lift specialist package is not in this contract
        on_equipment.package_ids = self.package_generic
        on_category.package_ids = self.package_generic
        self.assertEqual(self._visit().coverage, "none", "the technician package is not covered")
        lift_contract = self.Contract.create(
            {
                "name": "Lifts",
                "partner_id": self.customer.id,
                "equipment_category_id": self.category_lift.id,
                "package_ids": [Command.set(self.package_specialist_lift.ids)],
                "date_start": start,
                "date_end": end,
            }
        )
        lift_visit = self._visit(self.expert_partner, self.equipment_lift)
        self.assertRecordValues(lift_visit, [{"package_id": self.package_specialist_lift.id, "coverage": "contract"}])
        self.assertEqual(lift_visit.contract_id, lift_contract)
        # another customer's contract covers nothing here (on a category: on the equipment, refused)
        (on_category | lift_contract).partner_id = self.other_customer
        self.assertEqual(self._visit(self.expert_partner, self.equipment_lift).coverage, "none")

    def test_contract_bad_input(self):
        with self.assertRaises(ValidationError), mute_logger("odoo.sql_db"):
            self.Contract.create(
                {
                    "name": "Nothing",
                    "partner_id": self.customer.id,
                    "date_start": "2026-01-01",
                    "date_end": "2026-12-31",
                }
            )
        with self.assertRaises(ValidationError), mute_logger("odoo.sql_db"):
            self.Contract.create(
                {
                    "name": "Backwards",
                    "partner_id": self.customer.id,
                    "equipment_id": self.equipment_router.id,
                    "date_start": "2026-12-31",
                    "date_end": "2026-01-01",
                }
            )
        # another customer's contract on the equipment: refused, whoever's contact is named
        for partner in (
            self.other_customer,
            self.env["res.partner"].create({"name": "Sud desk", "parent_id": self.other_customer.id}),
        ):
            with self.assertRaisesRegex(ValidationError, "belongs to Hospital Nord"), mute_logger("odoo.sql_db"):
                self.Contract.create(
                    {
                        "name": "Not theirs",
                        "partner_id": partner.id,
                        "equipment_id": self.equipment_router.id,
                        "date_start": "2026-01-01",
                        "date_end": "2026-12-31",
                    }
                )
        contract = self.Contract.create(
            {
                "name": "Theirs",
                "partner_id": self.customer.id,
                "equipment_id": self.equipment_router.id,
                "date_start": "2026-01-01",
                "date_end": "2026-12-31",
            }
        )
        with self.assertRaisesRegex(ValidationError, "belongs to Hospital Nord"), mute_logger("odoo.sql_db"):
            contract.partner_id = self.other_customer
        form = Form(self.Contract)
        form.name = "From the equipment"
        form.equipment_id = self.equipment_router
        form.date_end = fields.Date.today()
        self.assertEqual(form.partner_id, self.customer, "the customer comes from the equipment")

    def test_price_from_customer_pricelist(self):
        pricelist = self.env["product.pricelist"].create(
            {
                "name": "Hospitals",
                "currency_id": self.company.currency_id.id,
                "item_ids": [
                    Command.create(
                        {
                            "applied_on": "0_product_variant",
                            "product_id": self.visit_product.id,
                            "compute_price": "fixed",
                            "fixed_price": 99.0,
                        }
                    )
                ],
            }
        )
        self.customer.property_product_pricelist = pricelist
        self.package_technician.customer_price_mode = "pricelist"
        charge = self._visit()
        self.assertRecordValues(charge, [{"price_unit": 99.0, "amount": 99.0, "pricelist_id": pricelist.id}])


@tagged("post_install", "-at_install")
class TestCustomerInvoices(CrowdInvoiceCommon):
    def _invoice(self, charges, post=False):
        return charges.with_user(self.billing_user)._create_invoices(post=post)

    def test_invoices_per_customer_and_month_with_product_taxes(self):
        self.equipment_lift.warranty_date = self.visit_day
        c1 = self._visit()
        c2 = self._visit(self.expert_employee)  # own technicians' visits are invoiced too
        covered = self._visit(self.expert_partner, self.equipment_lift)
        last_month = self._visit(day=self.visit_day - relativedelta(months=1))
        moves = self._invoice(c1 | c2 | covered | last_month, post=True)
        self.assertEqual(len(moves), 2)
        invoice = c1.move_id
        self.assertRecordValues(
            invoice,
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "state": "posted",
                    "amount_untaxed": 300.0,
                }
            ],
        )
        self.assertEqual(invoice.journal_id.type, "sale")
        self.assertEqual(c2.move_id, invoice)
        self.assertEqual(covered.move_id, invoice)
        self.assertNotEqual(last_month.move_id, invoice)
        self.assertEqual(invoice.crowd_charge_count, 3)
        # taxes from the product's customer taxes, on top of the price
        self.assertEqual(c1.move_line_id.tax_ids, self.tax_sale_a)
        self.assertEqual(c1.move_line_id.price_unit, 150.0)
        self.assertAlmostEqual(invoice.amount_tax, 300.0 * self.tax_sale_a.amount / 100.0)
        self.assertEqual(c1.move_line_id.account_id.account_type, "income")
        # the covered visit is a line at 0 that says why
        self.assertEqual(covered.move_line_id.price_unit, 0.0)
        self.assertIn("no charge: Under warranty until", covered.move_line_id.name)
        self.assertEqual((c1 | c2 | covered | last_month).mapped("state"), ["invoiced"] * 4)
        self.assertFalse(self._invoice(c1 | c2), "a second run invoices nothing")

    def _assert_lines_as_account_computes(self, invoice):
        """The stored amounts and tax tags of the product lines are those account.move computes
        (nothing left for its _sync_tax_lines to write)."""
        base_lines, _tax_lines = invoice._get_rounded_base_and_tax_lines(round_from_tax_lines=False)
        AccountTax = self.env["account.tax"]
        AccountTax._add_accounting_data_in_base_lines_tax_details(base_lines, invoice.company_id)
        to_update = AccountTax._prepare_tax_lines(base_lines, invoice.company_id)["base_lines_to_update"]
        self.assertEqual(len(to_update), len(invoice.invoice_line_ids))
        for base_line, values in to_update:
            line = base_line["record"]
            self.assertAlmostEqual(line.amount_currency, values["amount_currency"])
            self.assertAlmostEqual(line.balance, values["balance"])
            self.assertEqual(line.tax_tag_ids.ids, values["tax_tag_ids"][0][2])

    def test_prefilled_line_amounts_are_account_moves_own(self):
        country = self.company.account_fiscal_country_id or self.env.ref("base.us")
        tag = self.env["account.account.tag"].create(
            {"name": "crowd base tag", "applicability": "taxes", "country_id": country.id}
        )
        self.tax_sale_a.invoice_repartition_line_ids.filtered(lambda r: r.repartition_type == "base").tag_ids = tag
        self.package_technician.customer_price = 150.33
        charges = self._visit() | self._visit(self.expert_employee) | self._visit()
        charges = charges.sorted(lambda c: (c.date, c.id))
        hint = charges._prefill_line_amounts(charges._prepare_move(charges._move_journal(self.company)), self.company)[
            "invoice_line_ids"
        ]
        plain = self._invoice(charges)
        # what the run gave the lines beforehand is what account.move computes: nothing to rewrite
        self.assertEqual(len(hint), len(plain.invoice_line_ids))
        for _command, _id, vals in hint:
            line = self.Charge.browse(vals["crowd_charge_origin_ids"][0][2]).move_line_id
            self.assertEqual(len(line), 1, "the visits of a line are all on it")
            self.assertEqual(line.crowd_charge_origin_ids.ids, vals["crowd_charge_origin_ids"][0][2])
            self.assertAlmostEqual(vals["balance"], line.balance)
            self.assertAlmostEqual(vals["amount_currency"], line.amount_currency)
            self.assertEqual(vals["tax_tag_ids"][0][2], tag.ids)
        self.assertEqual(plain.invoice_line_ids.tax_ids, self.tax_sale_a)
        self.assertEqual(plain.invoice_line_ids.tax_tag_ids, tag, "the base tag of the tax is on the lines")
        # then the customer gets a fiscal position mapping the product's tax
        self.customer.property_account_position_id = self.fiscal_pos_a
        mapped = self._invoice(self._visit() | self._visit(self.expert_employee))
        self.assertEqual(mapped.fiscal_position_id, self.fiscal_pos_a)
        self.assertEqual(mapped.invoice_line_ids.tax_ids, self.tax_sale_b)
        for invoice in plain | mapped:
            self._assert_lines_as_account_computes(invoice)
            self.assertAlmostEqual(invoice.amount_untaxed, sum(invoice.invoice_line_ids.mapped("price_subtotal")))
            self.assertAlmostEqual(-invoice.amount_untaxed_signed, sum(invoice.invoice_line_ids.mapped("balance")))
        (plain | mapped).action_post()
        self.assertEqual((plain | mapped).mapped("state"), ["posted", "posted"])

    def test_amounts_frozen_once_invoiced(self):
        charge = self._visit()
        charge.with_user(self.billing_user).write({"price_unit": 140.0})
        self.assertEqual(charge.amount, 140.0, "a billing user corrects the price before invoicing")
        self._invoice(charge)
        for vals in ({"price_unit": 10.0}, {"amount": 0.0}, {"partner_id": self.other_customer.id}):
            with self.assertRaisesRegex(UserError, "once invoiced"):
                charge.with_user(self.billing_user).write(vals)
        with self.assertRaisesRegex(AccessError, "Use the buttons"):
            charge.with_user(self.billing_user).write({"state": "to_invoice"})
        with self.assertRaisesRegex(AccessError, "linked to crowd payouts and visits"):
            charge.move_line_id.with_user(self.billing_user).write({"crowd_charge_origin_ids": [Command.clear()]})
        with self.assertRaises(UserError):
            charge.with_user(self.billing_user).unlink()

    def test_only_billing_users_invoice(self):
        charge = self._visit()
        with self.assertRaises(AccessError):
            charge.with_user(self.dispatcher)._create_invoices()
        with self.assertRaises(AccessError):
            charge.with_user(self.dispatcher).write({"price_unit": 1.0})
        with self.assertRaises(AccessError):
            self.env["crowd.customer.invoice.wizard"].with_user(self.dispatcher).create({})
        self.assertEqual(charge.state, "to_invoice")
        self.assertTrue(self._invoice(charge))

    def test_foreign_company_never_invoiced(self):
        company_2 = self.setup_other_company(name="Crowd Invoices Company 2")["company"]
        self.dispatcher.write({"company_ids": [Command.link(company_2.id)]})
        self.Package.create(
            {
                "name": "Company 2 visits",
                "amount": 70.0,
                "company_id": company_2.id,
                "customer_product_id": self.visit_product.id,
                "customer_price": 90.0,
            }
        )
        equipment = self.env["maintenance.equipment"].create(
            {"name": "C2 router", "company_id": company_2.id, "crowd_customer_id": self.customer.id}
        )
        foreign = self._visit(equipment=equipment, company=company_2)
        local = self._visit()
        self.assertEqual(foreign.company_id, company_2)
        # a billing user of the first company neither sees nor invoices it
        self.assertFalse(self.Charge.with_user(self.billing_user).search([("id", "=", foreign.id)]))
        with self.assertRaises(AccessError):
            (foreign | local).with_user(self.billing_user)._create_invoices()
        self.assertEqual((foreign | local).mapped("state"), ["to_invoice", "to_invoice"])
        # the system run (cron) makes one invoice per company, each in the job's company
        moves = (foreign | local).sudo()._create_invoices()
        self.assertEqual(foreign.move_id.company_id, company_2)
        self.assertEqual(local.move_id.company_id, self.company)
        self.assertEqual(len(moves), 2)
        # a charge cannot be moved to another company than its job's
        other = self._visit()
        with self.assertRaises(UserError):
            other.company_id = company_2

    def test_credit_note_releases_the_visit(self):
        charge = self._visit()
        invoice = self._invoice(charge, post=True)
        invoice._reverse_moves([{"invoice_date": fields.Date.today()}], cancel=True)
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertRecordValues(charge, [{"state": "to_invoice", "move_line_id": False}])
        again = self._invoice(charge, post=True)
        self.assertTrue(again)
        self.assertNotEqual(again, invoice)
        self.assertEqual(charge.move_id, again)

    def test_like_visits_share_a_line(self):
        self.equipment_lift.warranty_date = self.visit_day
        c1, c2 = self._visit(day=fields.Date.start_of(self.visit_day, "month")), self._visit()
        dearer = self._visit()
        dearer.with_user(self.billing_user).price_unit = 170.0
        covered = self._visit(self.expert_partner, self.equipment_lift)
        invoice = self._invoice(c1 | c2 | dearer | covered, post=True)
        self.assertEqual(len(invoice.invoice_line_ids), 3)
        line = c1.move_line_id
        self.assertEqual(c2.move_line_id, line, "two visits of one package at one price: one line")
        self.assertRecordValues(line, [{"quantity": 2.0, "price_unit": 150.0, "price_subtotal": 300.0}])
        self.assertEqual(line.crowd_charge_ids, c1 | c2)
        self.assertEqual(line.crowd_charge_origin_ids, c1 | c2)
        self.assertEqual(line.tax_ids, self.tax_sale_a)
        # the label counts and names the visits, the older first
        self.assertIn("2 visits from", line.name)
        self.assertIn(f"{c1.job_id.name}, {c2.job_id.name}", line.name)
        # another price, or no charge: lines of their own; each visit keeps its own amount
        self.assertRecordValues(dearer.move_line_id, [{"quantity": 1.0, "price_unit": 170.0}])
        self.assertIn(dearer.job_id.name, dearer.move_line_id.name)
        self.assertRecordValues(covered.move_line_id, [{"quantity": 1.0, "price_unit": 0.0}])
        self.assertIn("no charge: Under warranty until", covered.move_line_id.name)
        self.assertEqual((c1 | c2 | dearer | covered).mapped("amount"), [150.0, 150.0, 170.0, 0.0])
        self.assertAlmostEqual(invoice.amount_untaxed, 470.0)
        # the margin per visit reads each visit's own revenue, not its share of a line
        self.env.flush_all()
        margin = self.env["crowd.margin.report"].search([("job_id", "in", (c1 | c2 | dearer | covered).job_id.ids)])
        self.assertEqual(
            {m.job_id: m.revenue for m in margin},
            {c1.job_id: 150.0, c2.job_id: 150.0, dearer.job_id: 170.0, covered.job_id: 0.0},
        )
        # a draft invoice releases the visits of its lines, and takes them back when posted again
        invoice.button_draft()
        self.assertFalse(line.crowd_charge_ids)
        invoice.action_post()
        self.assertEqual(line.crowd_charge_ids, c1 | c2)
        self.assertEqual((c1 | c2).mapped("state"), ["invoiced"] * 2)
        # in draft, the quantity of a line stays its number of visits (a price may change)
        invoice.button_draft()
        line.quantity = 1.0
        with self.assertRaisesRegex(UserError, "invoices 2 visits: its quantity must stay 2"):
            invoice.action_post()
        line.write({"quantity": 2.0, "price_unit": 140.0})
        invoice.action_post()
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(line.crowd_charge_ids, c1 | c2)

    def _credit_note(self, invoice, keep):
        """A posted credit note of ``invoice`` with only its lines ``keep``, which ``keep`` may edit."""
        refund = invoice._reverse_moves([{"invoice_date": fields.Date.today()}])
        kept = refund.invoice_line_ids.filtered(lambda line: keep(line))
        refund.write({"invoice_line_ids": [Command.unlink(line.id) for line in refund.invoice_line_ids - kept]})
        refund.action_post()
        return refund

    def test_credit_note_of_a_grouped_line_releases_its_visits(self):
        c1, c2 = self._visit(), self._visit()
        other = self._visit()
        other.with_user(self.billing_user).price_unit = 170.0
        invoice = self._invoice(c1 | c2 | other, post=True)
        line = c1.move_line_id
        refund = self._credit_note(invoice, lambda credit: credit.name == line.name)
        self.assertEqual(refund.amount_untaxed, 300.0)
        self.assertRecordValues(c1 | c2, [{"state": "to_invoice", "move_line_id": False}] * 2)
        self.assertEqual(other.move_line_id.move_id, invoice, "the line not credited stays invoiced")
        self.assertEqual(other.state, "invoiced")
        again = self._invoice(c1 | c2 | other, post=True)
        self.assertEqual((c1 | c2).move_id, again)
        self.assertEqual(len(again.invoice_line_ids), 1)
        self.assertEqual(other.move_id, invoice)

    def test_partial_credit_of_a_grouped_line_releases_nothing(self):
        c1, c2 = self._visit(), self._visit()
        invoice = self._invoice(c1 | c2, post=True)
        line = c1.move_line_id
        refund = invoice._reverse_moves([{"invoice_date": fields.Date.today()}])
        refund.invoice_line_ids.quantity = 1.0  # which visit? the credit note cannot say
        refund.action_post()
        self.assertEqual((c1 | c2).mapped("state"), ["invoiced"] * 2)
        self.assertEqual((c1 | c2).move_line_id, line)
        # a price reduction on the whole line neither
        self._credit_note(invoice, lambda credit: credit.write({"price_unit": 20.0}))
        self.assertEqual((c1 | c2).mapped("state"), ["invoiced"] * 2)
        self.assertFalse(self._invoice(c1 | c2))

    def test_draft_cancel_and_payment(self):
        c1, c2 = self._visit(), self._visit()
        invoice = self._invoice(c1 | c2, post=True)
        invoice.button_draft()
        self.assertEqual((c1 | c2).mapped("state"), ["to_invoice"] * 2)
        invoice.action_post()
        self.assertEqual((c1 | c2).mapped("state"), ["invoiced"] * 2)
        self.env["account.payment.register"].with_context(active_model="account.move", active_ids=invoice.ids).create(
            {"payment_date": fields.Date.today()}
        )._create_payments()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual((c1 | c2).mapped("state"), ["paid"] * 2)

    def test_wizard_and_cron(self):
        self.company.crowd_invoice_auto_post = True
        charge = self._visit()
        wizard = Form(
            self.env["crowd.customer.invoice.wizard"]
            .with_user(self.billing_user)
            .with_context(active_model="crowd.customer.charge", active_ids=charge.ids)
        ).save()
        self.assertTrue(wizard.post)
        self.assertEqual(wizard.record_count, 1)
        action = wizard.action_create_invoices()
        self.assertEqual(action["res_id"], charge.move_id.id)
        self.assertEqual(charge.move_id.state, "posted")
        with self.assertRaisesRegex(UserError, "None of the selected visits"):
            wizard.action_create_invoices()
        # the cron invoices the months that are over only
        old = self._visit(day=fields.Date.start_of(fields.Date.today(), "month") - timedelta(days=1))
        current = self._visit(day=fields.Date.today())
        self.Charge._cron_create_invoices()
        self.assertEqual(old.state, "invoiced")
        self.assertEqual(current.state, "to_invoice")
