from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CrowdPayoutCommon


@tagged("post_install", "-at_install")
class TestServicePackage(CrowdPayoutCommon):
    def test_most_specific_package_wins(self):
        lift_job = self._make_job(self.expert_partner, equipment=self.equipment_lift)
        router_job = self._make_job(self.expert_partner, equipment=self.equipment_router)
        tech_job = self._make_job(self.expert_freelance)
        # specialist + lift category (2 criteria) beats the generic package
        self.assertEqual(self.Package._find_best(lift_job, self.expert_partner), self.package_specialist_lift)
        # the lift package does not match a router; the specialist has no tier package: generic
        self.assertEqual(self.Package._find_best(router_job, self.expert_partner), self.package_generic)
        # 1 criterion (tier) beats 0 criteria even with a higher sequence number
        self.assertEqual(self.Package._find_best(tech_job, self.expert_freelance), self.package_technician)

    def test_sequence_breaks_ties(self):
        job = self._make_job(self.expert_freelance)
        corrective = self.Package.create(
            {"name": "Corrective", "amount": 90.0, "maintenance_type": "corrective", "sequence": 10}
        )
        # same number of criteria (1) as the technician package (sequence 20): lower sequence wins
        self.assertEqual(self.Package._find_best(job, self.expert_freelance), corrective)
        corrective.sequence = 25
        self.assertEqual(self.Package._find_best(job, self.expert_freelance), self.package_technician)
        # a skill required by the request adds a criterion
        skill_package = self.Package.create(
            {
                "name": "Lift skill technician",
                "amount": 120.0,
                "crowd_tier": "technician",
                "skill_id": self.skill_lift.id,
                "sequence": 99,
            }
        )
        self.assertEqual(self.Package._find_best(job, self.expert_freelance), self.package_technician)
        job.sudo().required_skill_ids = [Command.create({"skill_id": self.skill_lift.id})]
        self.assertEqual(self.Package._find_best(job, self.expert_freelance), skill_package)

    def test_company_criterion_and_archived(self):
        job = self._make_job(self.expert_freelance)
        own = self.Package.create(
            {"name": "Company tech", "amount": 110.0, "crowd_tier": "technician", "company_id": self.company.id}
        )
        self.assertEqual(self.Package._find_best(job, self.expert_freelance), own)
        own.active = False
        self.assertEqual(self.Package._find_best(job, self.expert_freelance), self.package_technician)

    def test_travel_allowance_and_expected_pay(self):
        job = self._make_job(self.expert_partner, equipment=self.equipment_lift)
        self.assertEqual(job._crowd_expected_pay(self.expert_partner), 250.0)
        offer = self.env["crowd.dispatch.offer"].create(
            {
                "job_id": job.id,
                "expert_id": self.expert_partner.id,
                "distance_km": 50.0,
                "expected_pay": job._crowd_expected_pay(self.expert_partner),
            }
        )
        # 30 km beyond the 20 free km at 0.5 per km, on the offer as well
        self.assertEqual(job._crowd_expected_pay(self.expert_partner), 265.0)
        self.assertEqual(offer.expected_pay, 265.0)
        payouts = self._complete(job)
        self.assertRecordValues(
            payouts,
            [{"base_amount": 250.0, "travel_amount": 15.0, "amount": 265.0, "distance_km": 50.0, "is_manual": False}],
        )

    def test_expected_pay_without_package(self):
        self.Package.search([]).active = False
        job = self._make_job(self.expert_freelance)
        self.assertEqual(job._crowd_expected_pay(self.expert_freelance), 0.0)

    def test_negative_rate_refused(self):
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.Package.create({"name": "Bad", "amount": -1.0})
            self.env.flush_all()

    def test_product_must_be_service(self):
        goods = self.env["product.product"].create({"name": "Spare part", "type": "consu"})
        with self.assertRaises(ValidationError):
            self.Package.create({"name": "Goods", "amount": 1.0, "product_id": goods.id})
