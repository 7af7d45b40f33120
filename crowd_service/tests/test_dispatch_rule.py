from datetime import timedelta

import psycopg2

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common_dispatch import CrowdDispatchCase


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestDispatchRule(CrowdDispatchCase):
    def test_first_matching_rule_wins_by_sequence(self):
        Rule = self.env["crowd.dispatch.rule"]
        self.rule.sequence = 10
        pumps = Rule.create({"name": "Pumps", "sequence": 1, "category_ids": self.other_category.ids})
        urgent = Rule.create(
            {"name": "Urgent lifts", "sequence": 2, "category_ids": self.category.ids, "priority": "3"}
        )
        preventive = Rule.create({"name": "Preventive", "sequence": 3, "maintenance_type": "preventive"})
        acme = Rule.create({"name": "Acme", "sequence": 4, "customer_ids": self.customer.ids})
        other_site = self.env["res.partner"].create({"name": "Other customer"})
        pump = self.env["maintenance.equipment"].create({"name": "Pump 1", "category_id": self.other_category.id})

        self.assertEqual(self.make_job(priority="3").rule_id, urgent)
        self.assertEqual(self.make_job(priority="2").rule_id, acme)
        self.assertEqual(self.make_job(priority="2", maintenance_type="preventive").rule_id, preventive)
        self.assertEqual(self.make_job(priority="2", crowd_site_id=other_site.id).rule_id, self.rule)
        self.assertEqual(self.make_job(priority="2", equipment=pump).rule_id, pumps)
        # order is by sequence, not by creation: moving Acme first makes it win for urgent jobs too
        acme.sequence = 0
        self.assertEqual(self.make_job(priority="3").rule_id, acme)
        # archived rules never match
        acme.active = False
        self.assertEqual(self.make_job(priority="3").rule_id, urgent)

    def test_rule_of_another_company_never_matches(self):
        other_company = self.env["res.company"].create({"name": "Other Co (test)"})
        self.env["crowd.dispatch.rule"].create({"name": "Foreign", "sequence": -10, "company_id": other_company.id})
        job = self.make_job()
        self.assertEqual(job.rule_id, self.rule)

    def test_sla_minutes_per_priority_come_from_the_rule(self):
        self.rule.write({"sla_minutes_3": 45, "sla_minutes_2": 180, "sla_minutes_1": 0})
        self.company.crowd_sla_minutes_1 = 600
        urgent = self.make_job(priority="3")
        normal = self.make_job(priority="2")
        low = self.make_job(priority="1")
        self.assertEqual(urgent._crowd_sla_minutes(), 45)
        self.assertEqual(urgent.request_id.crowd_sla_deadline, urgent.create_date + timedelta(minutes=45))
        self.assertEqual(normal.request_id.crowd_sla_deadline, normal.create_date + timedelta(minutes=180))
        self.assertEqual(low._crowd_sla_minutes(), 600, "0 on the rule: the company's default")
        self.assertEqual(low.request_id.crowd_sla_deadline, low.create_date + timedelta(minutes=600))
        normal.request_id.priority = "3"
        self.assertEqual(normal.request_id.crowd_sla_deadline, normal.create_date + timedelta(minutes=45))

    @mute_logger("odoo.sql_db")
    def test_rule_limits_are_validated(self):
        with self.assertRaises(ValidationError):
            self.rule.write({"use_own": False, "use_partner": False, "use_crowd": False})
        with self.assertRaises(ValidationError):
            self.rule.write({"weight_travel": -1})
        with self.assertRaises(psycopg2.errors.CheckViolation), self.cr.savepoint():
            self.rule.write({"max_radius_km": 0})
            self.rule.flush_recordset()

    def test_policy_maps_rule_values(self):
        engine = self.env["crowd.dispatch.engine"]
        self.rule.write(
            {"use_own": True, "own_delay_min": 0, "use_partner": False, "crowd_delay_min": 20, "strategy": "sequential"}
        )
        policy = engine._policy(self.rule)
        self.assertEqual([(s.pool.value, s.delay_min) for s in policy.pools], [("own", 0.0), ("crowd", 20.0)])
        self.assertEqual(policy.strategy.value, "sequential")
        self.assertEqual(policy.top_n, 1)
        self.assertEqual(policy.tier_policy.value, "any")
