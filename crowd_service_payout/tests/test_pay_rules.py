"""Pay rules: windows (night, weekend), public holidays, urgency, shortage pay after N rounds, the stacking
order and the cap, the cost ceiling's approval, and the multiplier on the offer and on the payout."""

from datetime import datetime, timedelta

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.crowd_service.tests.common_dispatch import T0, CrowdDispatchCase

from crowd_dispatch import OfferRecord


@tagged("post_install", "-at_install")
class TestPayRules(CrowdDispatchCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.resource_calendar_id.tz = "Europe/Zurich"  # T0 (09:00 UTC, a Monday) is 10:00 there
        cls.env["crowd.service.package"].search([]).active = False
        cls.package = cls.env["crowd.service.package"].create({"name": "Any job (test)", "amount": 100.0})
        cls.company.crowd_pay_max_multiplier = 2.0
        Rule = cls.env["crowd.pay.rule"]
        cls.night = Rule.create(
            {"name": "Night", "label": "night", "sequence": 1, "percent": 30.0, "hour_from": 22.0, "hour_to": 6.0}
        )
        cls.weekend = Rule.create(
            {
                "name": "Weekend",
                "label": "weekend",
                "sequence": 2,
                "percent": 20.0,
                **dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), False),
            }
        )
        cls.holiday = Rule.create(
            {"name": "Holiday", "label": "public holiday", "sequence": 3, "kind": "holiday", "percent": 50.0}
        )
        cls.urgent = Rule.create(
            {
                "name": "Urgent",
                "label": "urgent",
                "sequence": 4,
                "kind": "urgency",
                "min_priority": "3",
                "percent": 25.0,
            }
        )
        cls.rule.write({"strategy": "sequential", "top_n": 1, "max_rounds": 8})
        cls.experts = [cls.make_expert(f"Pay Expert {i}", km=1.0 + i) for i in range(6)]
        cls.manager = new_test_user(
            cls.env, login="pay_rule_manager", groups="base.group_user,crowd_service.group_crowd_manager"
        )

    def quote(self, job, at, history=None):
        return job._crowd_pay_quote(self.experts[0], at=at, history=history)

    def utc(self, *args):
        return datetime(*args)

    # ------------------------------------------------------------------ windows and holidays
    def test_night_window_spans_midnight_in_the_company_time_zone(self):
        job = self.make_job(priority="1")
        Rule = self.env["crowd.pay.rule"]
        # Monday 2 March 2026; Zurich is UTC+1 in March
        self.assertIn(self.night, Rule._matching(job, self.utc(2026, 3, 2, 21, 30)))  # 22:30 local
        self.assertNotIn(self.night, Rule._matching(job, self.utc(2026, 3, 2, 20, 30)))  # 21:30 local
        self.assertIn(self.night, Rule._matching(job, self.utc(2026, 3, 3, 4, 30)))  # 05:30 local
        self.assertNotIn(self.night, Rule._matching(job, self.utc(2026, 3, 3, 5, 0)))  # 06:00 local: over
        self.assertFalse(Rule._matching(job, T0), "a Monday morning pays the plain rate")

    def test_weekend_window_and_public_holidays_from_the_company_calendar(self):
        job = self.make_job(priority="1")
        Rule = self.env["crowd.pay.rule"]
        self.assertEqual(Rule._matching(job, self.utc(2026, 3, 7, 12, 0)), self.weekend)  # Saturday
        self.assertIn(self.weekend, Rule._matching(job, self.utc(2026, 3, 1, 22, 30)))  # Sunday 23:30 local
        self.assertFalse(Rule._matching(job, self.utc(2026, 3, 4, 12, 0)))
        calendar = self.company.resource_calendar_id
        Leave = self.env["resource.calendar.leaves"]
        # a global time off of the company's working hours is a public holiday...
        Leave.create(
            {
                "name": "Holiday (test)",
                "calendar_id": calendar.id,
                "date_from": self.utc(2026, 3, 3, 23, 0),
                "date_to": self.utc(2026, 3, 4, 23, 0),
            }
        )
        self.assertEqual(Rule._matching(job, self.utc(2026, 3, 4, 12, 0)), self.holiday)
        self.assertFalse(Rule._matching(job, self.utc(2026, 3, 5, 12, 0)))
        # ...a person's time off is not
        resource = self.env["resource.resource"].create({"name": "Someone", "calendar_id": calendar.id})
        Leave.create(
            {
                "name": "Personal leave",
                "calendar_id": calendar.id,
                "resource_id": resource.id,
                "date_from": self.utc(2026, 3, 5, 0, 0),
                "date_to": self.utc(2026, 3, 6, 0, 0),
            }
        )
        self.assertFalse(Rule._matching(job, self.utc(2026, 3, 5, 12, 0)))

    def test_urgency_and_bad_rules(self):
        urgent_job, normal_job = self.make_job(priority="3"), self.make_job(priority="2")
        self.assertEqual(self.env["crowd.pay.rule"]._matching(urgent_job, T0), self.urgent)
        self.assertFalse(self.env["crowd.pay.rule"]._matching(normal_job, T0))
        Rule = self.env["crowd.pay.rule"]
        for vals, error in (
            ({"percent": 0.0}, IntegrityError),
            ({"percent": -10.0}, IntegrityError),
            ({"percent": 600.0}, IntegrityError),
            ({"kind": "urgency", "min_priority": False}, ValidationError),
            ({"hour_from": 25.0}, IntegrityError),
            (dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), False), ValidationError),
        ):
            with (
                self.subTest(vals=vals),
                self.assertRaises(error),
                mute_logger("odoo.sql_db"),
                self.env.cr.savepoint(),
            ):
                Rule.create(dict({"name": "Bad", "label": "bad", "percent": 10.0}, **vals))
        # dispatchers read pay rules, only crowd managers change them
        with self.assertRaises(AccessError):
            self.night.with_user(self.dispatcher).write({"percent": 90.0})
        self.night.with_user(self.manager).write({"percent": 35.0})
        self.assertEqual(self.night.percent, 35.0)

    # ------------------------------------------------------------------ stacking
    def test_stacking_order_multiply_then_shortage_then_cap(self):
        job = self.make_job(priority="3")
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Holiday (test)",
                "calendar_id": self.company.resource_calendar_id.id,
                "date_from": self.utc(2026, 3, 2, 0, 0),
                "date_to": self.utc(2026, 3, 3, 0, 0),
            }
        )
        at = self.utc(2026, 3, 2, 22, 0)  # 23:00 local: night, holiday, and the job is urgent
        self.company.crowd_pay_max_multiplier = 0.0  # no cap: 1.30 x 1.50 x 1.25
        quote = self.quote(job, at, history=())
        self.assertAlmostEqual(quote["multiplier"], 2.4375)
        self.assertEqual((quote["base_amount"], quote["peak_amount"], quote["amount"]), (100.0, 143.75, 243.75))
        self.assertEqual([line["code"] for line in quote["lines"]], ["rule", "rule", "rule"])
        # shortage pay stacks after the rules, then the company's cap holds the product
        self.rule.write({"shortage_pay_after_rounds": 1, "shortage_pay_step": 0.2, "shortage_pay_cap": 0.5})
        history = job.env["crowd.dispatch.engine"]._history(job)  # no offers: no shortage yet
        self.assertAlmostEqual(self.quote(job, at, history)["multiplier"], 2.4375)
        failed = (OfferRecord(self.experts[1].id, 1, "declined", T0),)
        self.assertAlmostEqual(self.quote(job, at, failed)["multiplier"], 2.925)  # x 1.2
        self.company.crowd_pay_max_multiplier = 2.0
        quote = self.quote(job, at, failed)
        self.assertEqual((quote["multiplier"], quote["amount"]), (2.0, 200.0))
        self.assertEqual(quote["lines"][-1], {"code": "cap", "multiplier": 2.0})
        label = self.env["crowd.dispatch.engine"]._pay_lines_text(quote["lines"])
        self.assertEqual(label, "+30% night, +50% public holiday, +25% urgent, +20% after 1 round, capped at ×2.00")
        # the travel allowance is not multiplied
        self.package.write({"travel_per_km": 1.0, "travel_threshold_km": 0.0})
        quote = job._crowd_pay_quote(self.experts[0], distance_km=10.0, at=at, history=failed)
        self.assertEqual((quote["travel_amount"], quote["amount"]), (10.0, 210.0))

    # ------------------------------------------------------------------ shortage pay in the dispatch
    def test_shortage_steps_after_n_rounds_up_to_the_cap(self):
        self.rule.write({"shortage_pay_after_rounds": 2, "shortage_pay_step": 0.1, "shortage_pay_cap": 0.25})
        job = self.make_job(priority="1")
        for minutes in range(1, 6):
            pending = job.offer_ids.filtered(lambda o: o.state == "pending")
            self.assertEqual(len(pending), 1)
            pending.with_user(self.dispatcher).action_decline("busy")
            with self.at(minutes):
                self.run_cron()
        offers = job.offer_ids.sorted("round")
        self.assertEqual(offers.mapped("round"), [1, 2, 3, 4, 5, 6])
        self.assertEqual(offers.mapped("pay_multiplier"), [1.0, 1.0, 1.1, 1.2, 1.25, 1.25])
        self.assertEqual(offers.mapped("expected_pay"), [100.0, 100.0, 110.0, 120.0, 125.0, 125.0])
        self.assertEqual(
            [label or "" for label in offers.mapped("pay_label")],
            ["", "", "+10% after 2 rounds", "+20% after 3 rounds", "+25% after 4 rounds", "+25% after 5 rounds"],
        )

    # ------------------------------------------------------------------ the cost ceiling
    def test_boosted_pay_above_the_ceiling_waits_for_a_dispatchers_approval(self):
        job = self.make_job(priority="3", crowd_cost_ceiling=110.0)  # urgent: 125 > 110
        self.assertFalse(job.offer_ids, "no offer above the ceiling goes out by itself")
        self.assertRecordValues(
            job,
            [{"state": "dispatching", "wait_code": "pay_approval", "pay_approval_state": "needed"}],
        )
        self.assertEqual(job.pay_approval_amount, 125.0)
        self.assertIn("above the cost ceiling", job.wait_reason)
        self.assertTrue(
            job.message_ids.filtered(lambda m: "held until a dispatcher approves" in (m.body or "")),
            "the chatter says why",
        )
        # the cron does not send it either, nor ask twice
        with self.at(1):
            self.run_cron()
        self.assertFalse(job.offer_ids)
        self.assertEqual(len(job.message_ids.filtered(lambda m: "held until" in (m.body or ""))), 1)
        # only a dispatcher approves; the approval fields are not writable
        expert_user = new_test_user(self.env, login="pay_expert_portal", groups="base.group_portal")
        for user in (expert_user, new_test_user(self.env, login="pay_employee", groups="base.group_user")):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                job.with_user(user).action_approve_pay()
        with self.assertRaises(AccessError):
            job.with_user(self.dispatcher).write({"pay_approval_state": "approved"})
        self.assertEqual(job.pay_approval_state, "needed")
        job.with_user(self.dispatcher).action_approve_pay()
        self.assertRecordValues(
            job, [{"state": "offered", "pay_approval_state": "approved", "pay_approved_by_id": self.dispatcher.id}]
        )
        self.assertEqual(job.offer_ids.expected_pay, 125.0)
        self.assertEqual(job.offer_ids.pay_label, "+25% urgent")
        self.assertTrue(job.message_ids.filtered(lambda m: "approved a pay of up to" in (m.body or "")))
        with self.assertRaises(UserError):
            job.with_user(self.dispatcher).action_approve_pay()

    def test_broadcast_offer_above_the_ceiling_is_held_visibly(self):
        """A broadcast round where one expert's pay passes the ceiling: the others' offers go out, and the
        held one is said in the chatter and goes to the dispatcher's approval, as a single offer would."""
        self.rule.write({"strategy": "broadcast", "top_n": 3})
        specialist = self.make_expert("Pay Specialist", km=0.5, tier="specialist")
        self.env["crowd.service.package"].create(
            {"name": "Specialist (test)", "amount": 200.0, "crowd_tier": "specialist"}
        )
        job = self.make_job(priority="3", crowd_cost_ceiling=130.0)  # urgent: 125 for technicians, 250 for him
        self.assertTrue(job.offer_ids, "the offers within the ceiling go out")
        self.assertEqual(set(job.offer_ids.mapped("expected_pay")), {125.0})
        self.assertNotIn(specialist, job.offer_ids.expert_id)
        self.assertRecordValues(
            job, [{"state": "offered", "pay_approval_state": "needed", "pay_approval_amount": 250.0}]
        )
        self.assertFalse(job.wait_code, "the job does not wait: offers are out")
        held_note = job.message_ids.filtered(lambda m: "were not sent" in (m.body or ""))
        self.assertEqual(len(held_note), 1, "the chatter says which offer was held and why")
        self.assertIn("Pay Specialist", held_note.body)
        self.assertIn("cost ceiling", held_note.body)
        # the dispatcher approves from the offered job; the next round may offer him that pay
        job.with_user(self.dispatcher).action_approve_pay()
        self.assertEqual(job.pay_approval_state, "approved")
        with self.at(30):
            self.run_cron()
        self.assertEqual(job.offer_ids.filtered(lambda o: o.expert_id == specialist).expected_pay, 250.0)

    def test_pay_within_the_ceiling_or_unboosted_goes_out(self):
        within = self.make_job(priority="3", crowd_cost_ceiling=125.0)
        self.assertEqual(within.offer_ids.expected_pay, 125.0)
        plain = self.make_job(priority="1", crowd_cost_ceiling=90.0)  # the plain rate: the payout's own check
        self.assertEqual(plain.offer_ids.expected_pay, 100.0)
        self.assertFalse(plain.pay_approval_state)

    # ------------------------------------------------------------------ offer -> payout
    def test_multiplier_shown_on_the_offer_and_kept_on_the_payout(self):
        self.set_clock(13 * 60)  # 22:00 UTC, 23:00 in Zurich: night
        job = self.make_job(priority="1")
        offer = job.offer_ids
        self.assertEqual((offer.pay_multiplier, offer.expected_pay, offer.pay_label), (1.3, 130.0, "+30% night"))
        self.assertEqual(offer._crowd_bus_payload()["pay_label"], "+30% night")
        offer.with_user(self.dispatcher).action_accept()
        # the rule changes afterwards: the payout keeps what the expert accepted
        self.night.percent = 80.0
        job.sudo().write({"state": "done", "done_at": fields.Datetime.now()})
        job._crowd_on_done()
        payout = job.sudo().payout_ids
        self.assertRecordValues(
            payout,
            [
                {
                    "pay_multiplier": 1.3,
                    "base_amount": 100.0,
                    "peak_amount": 30.0,
                    "amount": 130.0,
                    "is_manual": False,
                    "state": "to_approve",
                }
            ],
        )
        self.assertEqual(payout.pay_label, "+30% night")
        self.assertIn("+30% night", payout._prepare_account_move_line()["name"])
        payout._write_workflow({"state": "approved"})
        with self.assertRaises(UserError):
            payout.write({"pay_multiplier": 2.0})

    # ------------------------------------------------------------------ standby premium
    def complete(self, job):
        job.sudo().write({"state": "done", "done_at": fields.Datetime.now()})
        job._crowd_on_done()
        return job.sudo().payout_ids

    def test_standby_premium_paid_once_on_the_first_job_accepted_after_coming_online(self):
        """A standby call's premium, earned by coming online within the hour, is paid on the payout of the first
        job the expert accepts after that the same day (hours of that job's pay: package rate per planned hour),
        once; a payout above the job's cost ceiling then needs a Crowd manager like other extra pay."""
        olaf = self.make_expert("Standby Olaf", km=0.5, crowd_online=False)
        olaf.write({"crowd_standby_called_at": T0, "crowd_standby_premium_hours": 1.5})  # the call (system)
        self.set_clock(20)
        olaf.crowd_set_online(True)
        self.assertEqual(olaf.crowd_standby_earned_at, self.now)
        first = self.make_job(name="First lift", priority="1")
        self.assertEqual(first.offer_ids.expert_id, olaf, "the nearest expert, online again")
        first.with_user(self.dispatcher).write({"planned_duration_min": 120.0, "cost_ceiling": 150.0})
        self.set_clock(22)
        first.offer_ids.with_user(self.dispatcher).action_accept()
        self.set_clock(23)
        second = self.make_job(name="Second lift", priority="1")
        second.with_user(self.dispatcher)._crowd_assign_manual(olaf)  # she is on the first one: assigned by hand
        # the second job ends first: the premium waits for the first one accepted
        payout = self.complete(second)
        self.assertRecordValues(
            payout, [{"expert_id": olaf.id, "peak_amount": 0.0, "amount": 100.0, "pay_lines": False}]
        )
        self.assertEqual(olaf.crowd_standby_earned_at, T0 + timedelta(minutes=20), "not consumed")
        payout = self.complete(first)
        # 1.5 hours of a 100.00 job planned for 2 hours: 75.00 on top
        self.assertRecordValues(
            payout,
            [{"base_amount": 100.0, "peak_amount": 75.0, "amount": 175.0, "is_manual": False, "above_ceiling": True}],
        )
        self.assertEqual(payout.pay_lines, [{"code": "standby", "hours": 1.5, "amount": 75.0}])
        self.assertEqual(payout.pay_label, "+1.5 h standby premium")
        self.assertIn("+1.5 h standby premium", payout._prepare_account_move_line()["name"])
        self.assertEqual(payout._prepare_account_move_line()["price_unit"], 175.0)
        self.assertFalse(olaf.crowd_standby_earned_at, "consumed")
        self.assertEqual(payout.state, "to_approve")
        approver = new_test_user(
            self.env, login="standby_approver", groups="base.group_user,crowd_service_payout.group_payout_approver"
        )
        self.assertIn("only a Crowd manager can approve it", payout._approval_refusal(approver))
        # a third job the same day: nothing left
        third = self.make_job(name="Third lift", priority="1")
        third.with_user(self.dispatcher)._crowd_assign_manual(olaf)
        self.assertRecordValues(self.complete(third), [{"expert_id": olaf.id, "peak_amount": 0.0, "amount": 100.0}])

    def test_standby_premium_not_paid_on_a_job_accepted_before_or_the_next_day(self):
        olaf = self.make_expert("Standby Olaf", km=0.5, crowd_max_jobs=3)
        before = self.make_job(name="Before", priority="1")
        self.assertEqual(before.offer_ids.expert_id, olaf)
        before.offer_ids.with_user(self.dispatcher).action_accept()
        olaf.crowd_set_online(False)
        olaf.write({"crowd_standby_called_at": T0, "crowd_standby_premium_hours": 1.0})
        self.set_clock(30)
        olaf.crowd_set_online(True)
        self.assertTrue(olaf.crowd_standby_earned_at)
        self.assertRecordValues(self.complete(before), [{"peak_amount": 0.0, "amount": 100.0}])
        self.set_clock(24 * 60)  # the next day
        nextday = self.make_job(name="Next day", priority="1")
        nextday.with_user(self.dispatcher)._crowd_assign_manual(olaf)
        self.assertEqual(nextday.expert_id, olaf)
        self.assertRecordValues(self.complete(nextday), [{"peak_amount": 0.0, "amount": 100.0}])
        self.assertTrue(olaf.crowd_standby_earned_at, "not taken, and of no use past its day")
        # two payouts at once cannot both take it: another transaction took it meanwhile (committed before
        # ours), this one still sees it earned: the conditional UPDATE finds nothing to take
        olaf.write({"crowd_standby_earned_at": self.now - timedelta(minutes=5)})
        self.assertTrue(olaf.crowd_standby_earned_at)
        olaf.flush_recordset()
        self.cr.execute("UPDATE res_partner SET crowd_standby_earned_at = NULL WHERE id = %s", [olaf.id])
        self.assertTrue(olaf.crowd_standby_earned_at, "the stale view of this transaction")
        Payout = self.env["crowd.payout"]
        self.assertIsNone(Payout._crowd_take_standby_premium(nextday, olaf, 100.0, self.package.currency_id))
        self.assertFalse(olaf.crowd_standby_earned_at)
        olaf.write({"crowd_standby_earned_at": self.now - timedelta(minutes=5)})
        line = Payout._crowd_take_standby_premium(nextday, olaf, 100.0, self.package.currency_id)
        self.assertEqual(line, {"code": "standby", "hours": 1.0, "amount": 100.0}, "1 hour of a 1-hour job")
        self.assertIsNone(Payout._crowd_take_standby_premium(nextday, olaf, 100.0, self.package.currency_id))
