"""The RPC suite (issue 9): every public crowd method and every writable crowd field, called over
``/web/dataset/call_kw`` by each role, with and without forged context keys.

Methods and fields are enumerated from the model classes, so a new method or field is probed without
touching this file (a method whose parameter has no probe value makes the suite fail and say so).
What a role may legitimately do is the short allow-list ``ALLOWED`` below; everything else must be
refused with a clean Odoo error (AccessError, MissingError, UserError, ValidationError, or the
"private method" AccessError) and leave the database unchanged: PostgreSQL's row counters of the
transaction show whether the call touched any row of any table; when it did, every crowd table and the
core tables they touch are hashed row by row and compared with the state before the call.

Each call runs inside a savepoint that is rolled back, so every call starts from the same records.
The counts are logged at the end ("RPC suite TestRpcSecurity: N calls tried, ...").
"""

import math
from datetime import timedelta

from odoo import Command
from odoo.tests import tagged

from .common_dispatch import CrowdDispatchCase
from .common_rpc import CrowdRpcCase

SITE = (47.3779, 8.5403)
NEAR = (47.3869, 8.5403)  # 1 km north of the site

PORTAL_ROLES = ("expert", "other_expert", "customer", "other_customer")
INTERNAL_ROLES = ("employee", "employee_contacts", "dispatcher", "manager", "foreign_dispatcher")
ROLES = PORTAL_ROLES + INTERNAL_ROLES
DISPATCHERS = {"dispatcher", "manager"}
EMPLOYEES = {"employee", "employee_contacts"} | DISPATCHERS

# (roles, model glob, name globs, target globs): what a role may legitimately do. A name is a method,
# "write:<field>", "create", "copy" or "unlink"; a target is the label of the record called.
ALLOWED = [
    # navigation: an act_window with a domain, no data and no write
    ("*", "*", ("action_view_*", "action_crowd_view_certificates"), "*"),
    # the job's expert drives their own visit; the customer rates the done visit
    (
        {"expert"},
        "crowd.job",
        ("action_en_route", "action_check_in", "action_report", "action_complete"),
        ("job_assigned", "job_en_route", "job_on_site", "job_done"),
    ),
    ({"customer"}, "crowd.job", ("action_rate",), ("job_done",)),
    # the expert's phone: the position on the way, the actions made offline, the consent to share the position
    ({"expert"}, "crowd.job", ("action_report_position", "action_replay_offline"), "*"),
    ({"expert"}, "res.partner", ("crowd_set_location_consent", "crowd_report_position"), ("expert_partner",)),
    # each expert answers their own offer; a dispatcher records an answer given on the phone
    ({"expert"}, "crowd.dispatch.offer", ("action_accept", "action_decline"), ("offer_expert",)),
    ({"other_expert"}, "crowd.dispatch.offer", ("action_accept", "action_decline"), ("offer_other_expert",)),
    (DISPATCHERS, "crowd.dispatch.offer", ("action_accept", "action_decline"), "*"),
    # dispatchers run the dispatch; only what _crowd_user_writable_fields lists is written directly
    (
        DISPATCHERS,
        "crowd.job",
        (
            "action_*",
            "create",
            "copy",
            "write:cost_ceiling",
            "write:planned_duration_min",
            "write:visit_window_start",
            "write:visit_window_end",
            "write:activity_ids",
            "write:message_follower_ids",
        ),
        "*",
    ),
    ({"manager"}, "crowd.job", ("unlink",), "*"),
    ({"manager"}, "maintenance.request", ("unlink",), "*"),  # deletes its visits: the manager may
    ({"manager"}, "crowd.dispatch.offer", ("unlink", "create", "copy"), "*"),  # a pending offer, by hand
    # maintenance: every employee manages requests (Odoo's access rights); dispatchers manage assets
    (EMPLOYEES, "maintenance.request", ("create", "copy", "write:crowd_*"), "*"),
    (EMPLOYEES, "crowd.required.skill", ("*",), ("required_skill_request",)),
    (DISPATCHERS, "maintenance.request", ("action_crowd_new_job",), "*"),
    (DISPATCHERS, "maintenance.equipment*", ("*",), "*"),
    (DISPATCHERS, "crowd.required.skill", ("*",), ("required_skill_equipment", "required_skill_category")),
    # the expert pool: dispatchers onboard, suspend and update experts
    (DISPATCHERS, "res.partner", ("action_crowd_*", "crowd_set_online", "write:*", "create", "copy"), "*"),
    ({"manager"}, "res.partner", ("unlink",), "*"),
    (DISPATCHERS, "crowd.expert.certificate", ("action_*", "create", "copy", "write:*"), "*"),
    ({"manager"}, "crowd.expert.certificate", ("unlink",), "*"),
    (DISPATCHERS, "crowd.expert.skill", ("*",), "*"),
    (DISPATCHERS, "crowd.expert.blackout", ("*",), "*"),
    # wizards are transient UI records of the crowd users (Odoo 18 does not scope them to their creator);
    # what they do goes through the checked job/partner actions. The expert state wizard's default_get
    # echoes the context's active_ids; a foreign dispatcher's state wizard sees none of our experts (no-op).
    (DISPATCHERS, "crowd.assign.wizard*", ("*",), "*"),
    ({"foreign_dispatcher"}, "crowd.assign.wizard*", ("create", "copy", "unlink", "write:*"), "*"),
    (DISPATCHERS | {"foreign_dispatcher"}, "crowd.expert.state.wizard", ("*",), "*"),
    # a batch assignment is its dispatcher's own (record rule on the creator): the manager and a foreign
    # dispatcher neither read nor confirm it; confirming re-checks every line in the model
    (DISPATCHERS, "crowd.batch.assign.*", ("*",), "*"),
    ("*", "crowd.expert.state.wizard", ("default_get",), "*"),
    # dispatchers retry and cancel webhook deliveries; the manager deletes those not queued
    (DISPATCHERS, "crowd.webhook.delivery", ("action_retry", "action_cancel"), "*"),
    ({"manager"}, "crowd.webhook.delivery", ("unlink",), "*"),
    # the dispatch map reads with the caller's rights (a foreign dispatcher gets their own company's map);
    # recruiting suggestions are a dispatcher's wizard in their own company
    (DISPATCHERS | {"foreign_dispatcher"}, "crowd.job", ("crowd_map_data",), "*"),
    (DISPATCHERS, "crowd.recruit.wizard*", ("*",), "*"),
    # Plan day (issue 11): dispatchers plan a day of their company (the model method, or its wizard), lock
    # stops and write a note on a route; the planner writes everything else
    (DISPATCHERS, "crowd.route", ("action_plan_day", "write:note"), "*"),
    # a dispatcher of another company plans that company's day (nothing of ours is read or written)
    ({"foreign_dispatcher"}, "crowd.route", ("action_plan_day",), "*"),
    (DISPATCHERS, "crowd.route.stop", ("write:locked",), "*"),
    (DISPATCHERS, "crowd.plan.wizard", ("*",), "*"),
    ({"foreign_dispatcher"}, "crowd.plan.wizard", ("create", "copy", "unlink", "write:*"), "*"),
    # configuration is the crowd manager's
    ({"manager"}, "crowd.dispatch.rule", ("*",), "*"),
    ({"manager"}, "crowd.skill*", ("*",), "*"),
    ({"manager"}, "crowd.certificate.type", ("*",), "*"),
]
# Fields nobody writes directly, whatever their access rights: the system writes them (with sudo) in
# the actions that check who acts. They win over ALLOWED.
SYSTEM_ONLY = [
    # the expert's own decision and their phone's reports, never a dispatcher's (who may call every job action
    # and write every expert field otherwise)
    (DISPATCHERS, "crowd.job", ("action_report_position", "action_replay_offline"), "*"),
    (
        DISPATCHERS,
        "res.partner",
        ("write:crowd_location_consent", "write:crowd_location_consent_at", "write:crowd_position_at"),
        "*",
    ),
    (DISPATCHERS, "crowd.expert.certificate", ("write:state", "write:verified_by_id", "write:verified_on"), "*"),
    (DISPATCHERS, "crowd.expert.skill", ("write:verified_by_id", "write:verified_on"), "*"),
]


@tagged("post_install", "-at_install", "crowd_rpc")
class TestRpcSecurity(CrowdRpcCase):
    ROLES = ROLES
    ALLOWED = ALLOWED
    SYSTEM_ONLY = SYSTEM_ONLY
    CREATE_EXTENDED = ("maintenance.request",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_notrack=True))
        env = cls.env
        cls.company = env.company
        cls.other_company = env["res.company"].create({"name": "RPC Other Company"})
        # a clean slate: only this class' rule and experts take part in dispatch
        env["crowd.dispatch.rule"].search([]).active = False
        env["res.partner"].search([("is_crowd_expert", "=", True)]).write({"crowd_online": False})
        cls.rule = env["crowd.dispatch.rule"].create(
            {
                "name": "RPC rule",
                "sequence": 1,
                "company_id": cls.company.id,
                "tier_policy": "any",
                "strategy": "broadcast",
                "top_n": 3,
                "offer_timeout_min": 600,
                "max_rounds": 2,
                "max_radius_km": 50,
                "own_delay_min": 0,
                "partner_delay_min": 0,
                "crowd_delay_min": 0,
                "auto_dispatch": False,
            }
        )
        # customers: a site of Acme, and a contact of another customer in another company
        cls.acme = env["res.partner"].create({"name": "Acme RPC", "is_company": True})
        cls.site = env["res.partner"].create(
            {
                "name": "Acme RPC, plant",
                "parent_id": cls.acme.id,
                "type": "other",
                "partner_latitude": SITE[0],
                "partner_longitude": SITE[1],
            }
        )
        cls.globex = env["res.partner"].create({"name": "Globex RPC", "is_company": True})
        # users
        for role in ("expert", "other_expert", "customer"):
            cls.make_user(role, "base.group_portal")
        cls.make_user(
            "other_customer",
            "base.group_portal",
            company_id=cls.other_company.id,
            company_ids=[Command.set(cls.other_company.ids)],
        )
        cls.make_user("employee", "base.group_user")
        cls.make_user("employee_contacts", "base.group_user,base.group_partner_manager")
        cls.make_user("dispatcher", "crowd_service.group_crowd_user")
        cls.make_user("manager", "crowd_service.group_crowd_manager")
        cls.make_user(
            "foreign_dispatcher",
            "crowd_service.group_crowd_user",
            company_id=cls.other_company.id,
            company_ids=[Command.set(cls.other_company.ids)],
        )
        cls.users["customer"].partner_id.parent_id = cls.acme
        cls.users["other_customer"].partner_id.parent_id = cls.globex
        for role, tier in (("expert", "specialist"), ("other_expert", "first_responder")):
            cls.users[role].partner_id.write(
                {
                    "is_crowd_expert": True,
                    "crowd_kind": "freelance",
                    "crowd_tier": tier,
                    "crowd_state": "active",
                    "crowd_online": True,
                    "partner_latitude": NEAR[0],
                    "partner_longitude": NEAR[1],
                    "crowd_radius_km": 60,
                    "crowd_max_jobs": 20,
                    "crowd_rating": 4.0,
                    "crowd_company_id": cls.company.id,
                }
            )
        cls.expert = cls.users["expert"].partner_id
        cls.other_expert = cls.users["other_expert"].partner_id
        cls.customer = cls.users["customer"].partner_id
        # skills, certificates and assets (the assets' requirements are not the jobs')
        cls.skill_type = env["crowd.skill.type"].create({"name": "RPC electrics"})
        cls.level = env["crowd.skill.level"].create(
            {"name": "RPC basic", "level_progress": 30, "skill_type_id": cls.skill_type.id}
        )
        cls.skill = env["crowd.skill"].create(
            {"name": "RPC wiring", "code": "RPC_WIRING", "skill_type_id": cls.skill_type.id}
        )
        cls.cert_type = env["crowd.certificate.type"].create({"name": "RPC safety", "code": "RPC_SAFE"})
        cls.certificate = env["crowd.expert.certificate"].create(
            {"partner_id": cls.expert.id, "type_id": cls.cert_type.id, "number": "RPC-1"}
        )
        cls.expert_skill = env["crowd.expert.skill"].create(
            {"partner_id": cls.expert.id, "skill_id": cls.skill.id, "level_id": cls.level.id}
        )
        cls.blackout = env["crowd.expert.blackout"].create(
            {"partner_id": cls.expert.id, "date_from": "2035-01-01 08:00:00", "date_to": "2035-01-02 08:00:00"}
        )
        cls.category = env["maintenance.equipment.category"].create({"name": "RPC lifts"})
        cls.equipment = env["maintenance.equipment"].create({"name": "RPC lift", "category_id": cls.category.id})
        cls.other_category = env["maintenance.equipment.category"].create(
            {
                "name": "RPC pumps",
                "crowd_required_skill_ids": [Command.create({"skill_id": cls.skill.id})],
            }
        )
        cls.other_equipment = env["maintenance.equipment"].create(
            {
                "name": "RPC pump",
                "category_id": cls.other_category.id,
                "crowd_required_skill_ids": [Command.create({"skill_id": cls.skill.id})],
            }
        )
        # the offer rounds alone (no dispatch policy levers), dispatched by hand: both experts get each job
        env["crowd.dispatch.rule"].create(
            {
                "name": "RPC rule",
                "sequence": -100,
                "auto_dispatch": False,
                "partner_delay_min": 0,
                "crowd_delay_min": 0,
                "tier_policy": "any",
                "withdraw_on_accept": False,  # the expert accepts several of these jobs
                **CrowdDispatchCase.LEVERS_OFF,
            }
        )
        # one job per state, all the expert's (but the new and the offered one)
        cls.jobs = {}
        for state in ("new", "offered", "assigned", "en_route", "on_site", "done"):
            request = cls.make_request(f"RPC {state}")
            cls.jobs[state] = request.crowd_job_ids
            assert len(cls.jobs[state]) == 1, "creating a request creates its first job"
        dispatcher_env = env(user=cls.users["dispatcher"])
        for state in ("offered", "assigned", "en_route", "on_site", "done"):
            cls.jobs[state].with_env(dispatcher_env).action_dispatch()
            assert cls.jobs[state].offer_ids.expert_id == cls.expert | cls.other_expert, "both experts get an offer"
        expert_env = env(user=cls.users["expert"])
        for state in ("assigned", "en_route", "on_site", "done"):
            job = cls.jobs[state]
            job.offer_ids.filtered(lambda o: o.expert_id == cls.expert).with_env(expert_env).action_accept()
            job = job.with_env(expert_env)
            if state != "assigned":
                job.action_en_route(20)
            if state in ("on_site", "done"):
                job.action_check_in(*SITE)
            if state == "done":
                job.action_report("<p>Replaced the contactor.</p>")
                job.action_complete("Replaced the contactor.")
        cls.jobs["done"].with_user(cls.users["customer"]).action_rate(4, "Quick and clean.")
        cls.rating = cls.jobs["done"].rating_ids
        assert cls.rating.consumed, "the customer's rating is applied"
        for state, job in cls.jobs.items():
            assert job.state == state, f"job {job.name} is {job.state}, not {state}"
        cls.offers = {
            "offer_expert": cls.jobs["offered"].offer_ids.filtered(lambda o: o.expert_id == cls.expert),
            "offer_other_expert": cls.jobs["offered"].offer_ids.filtered(lambda o: o.expert_id == cls.other_expert),
        }
        new_job = cls.jobs["new"]
        cls.required_skills = {
            "required_skill_job": env["crowd.required.skill"].create({"job_id": new_job.id, "skill_id": cls.skill.id}),
            "required_skill_request": env["crowd.required.skill"].create(
                {"request_id": new_job.request_id.id, "skill_id": cls.skill.id}
            ),
            "required_skill_equipment": cls.other_equipment.crowd_required_skill_ids,
            "required_skill_category": cls.other_category.crowd_required_skill_ids,
        }
        # wizards belong to the dispatcher who opened them
        cls.assign_wizard = (
            env["crowd.assign.wizard"]
            .with_user(cls.users["dispatcher"])
            .create(
                {
                    "job_id": cls.jobs["offered"].id,
                    "expert_id": cls.expert.id,
                    "line_ids": [Command.create({"expert_id": cls.expert.id, "sequence": 1})],
                }
            )
        )
        cls.state_wizard = (
            env["crowd.expert.state.wizard"]
            .with_user(cls.users["dispatcher"])
            .create({"partner_ids": [Command.set(cls.expert.ids)], "transition": "suspend", "reason": "RPC"})
        )
        # a batch assignment of the new job, by the dispatcher: the expert holds open offers (the offered job), so
        # confirming it is refused by the capacity check; the forged one proposes an expert without the skill
        batch_env = env(user=cls.users["dispatcher"])
        cls.batch_wizard = batch_env["crowd.batch.assign.wizard"].create(
            {"line_ids": [Command.create({"job_id": new_job.id, "expert_id": cls.expert.id, "sequence": 1})]}
        )
        cls.forged_batch_wizard = batch_env["crowd.batch.assign.wizard"].create(
            {"line_ids": [Command.create({"job_id": new_job.id, "expert_id": cls.other_expert.id, "sequence": 1})]}
        )
        cls.report_line = env["crowd.dispatch.report"].search([("job_id", "=", cls.jobs["done"].id)], limit=1)
        cls.coverage_line = env["crowd.coverage.report"].search([("job_id", "=", cls.jobs["done"].id)], limit=1)
        cls.recruit_wizard = env["crowd.recruit.wizard"].with_user(cls.users["dispatcher"]).create({"days": 7})
        cls.recruit_line = (
            env["crowd.recruit.wizard.line"]
            .with_user(cls.users["dispatcher"])
            .create({"wizard_id": cls.recruit_wizard.id, "skill_id": cls.skill.id, "gain_points": 5.0})
        )
        cls.settings = env["res.config.settings"].create({})
        # live tracking and the offline replay: the expert shares their position on the way, and an action made
        # offline on a job that changed meanwhile was refused
        cls.expert.sudo().write({"crowd_location_consent": True})
        cls.jobs["en_route"].with_env(expert_env).action_report_position(*NEAR)
        cls.tracking = cls.jobs["en_route"].tracking_ids
        cls.jobs["on_site"].with_env(expert_env).action_replay_offline(
            "rpc-setup-0001", "report", {"notes": "Offline"}, "en_route", ""
        )
        cls.replay = env["crowd.job.replay"].search([("key", "=", "rpc-setup-0001")])
        assert cls.tracking and cls.replay.result == "refused", "a live tracking and a refused offline action"
        # a day route of the expert's (written by the planner) with the assigned job as its stop
        Route = env["crowd.route"]
        today = Route._crowd_today(cls.company)
        cls.route = Route.sudo().create(
            {"technician_id": cls.expert.id, "date": today, "company_id": cls.company.id,
             "home_latitude": NEAR[0], "home_longitude": NEAR[1]}
        )  # fmt: skip
        start = cls.jobs["assigned"]._crowd_now()
        cls.route_stop = (
            env["crowd.route.stop"]
            .sudo()
            .create(
                {"route_id": cls.route.id, "job_id": cls.jobs["assigned"].id, "sequence": 1, "arrival_at": start,
                 "planned_start": start, "planned_end": start, "travel_min": 3, "travel_km": 1}
            )
        )  # fmt: skip
        cls.unplanned = (
            env["crowd.route.unplanned"]
            .sudo()
            .create({"date": today, "company_id": cls.company.id, "job_id": cls.jobs["new"].id, "reason": "no_room"})
        )
        cls.plan_wizard = env["crowd.plan.wizard"].with_user(cls.users["dispatcher"]).create({})
        cls.delivery = env["crowd.webhook.delivery"].create(
            {
                "company_id": cls.company.id,
                "event": "offer.created",
                "url": "https://hooks.example.com/crowd",
                "payload": "{}",
                "state": "failed",
            }
        )

    @classmethod
    def make_request(cls, name, **vals):
        return cls.env["maintenance.request"].create(
            dict(
                {
                    "name": name,
                    "priority": "2",
                    "equipment_id": cls.equipment.id,
                    "crowd_site_id": cls.site.id,
                    "crowd_latitude": SITE[0],
                    "crowd_longitude": SITE[1],
                },
                **vals,
            )
        )

    # ------------------------------------------------------------------ what is probed
    def targets(self):
        """model -> [(label, record)]: the records each method is called on."""
        # the new job carries a job requirement line; dispatching is probed on the offered job
        jobs = [(f"job_{state}", job) for state, job in self.jobs.items() if state != "new"]
        return {
            "crowd.job": jobs,
            "crowd.dispatch.offer": list(self.offers.items()),
            "crowd.dispatch.rule": [("rule", self.rule)],
            "crowd.expert.certificate": [("certificate", self.certificate)],
            "crowd.expert.skill": [("expert_skill", self.expert_skill)],
            "crowd.expert.blackout": [("blackout", self.blackout)],
            "crowd.required.skill": list(self.required_skills.items()),
            "crowd.skill": [("skill", self.skill)],
            "crowd.skill.level": [("level", self.level)],
            "crowd.skill.type": [("skill_type", self.skill_type)],
            "crowd.certificate.type": [("cert_type", self.cert_type)],
            "crowd.assign.wizard": [("assign_wizard", self.assign_wizard)],
            "crowd.assign.wizard.line": [("assign_wizard_line", self.assign_wizard.line_ids)],
            "crowd.expert.state.wizard": [("state_wizard", self.state_wizard)],
            "crowd.batch.assign.wizard": [("batch_wizard", self.batch_wizard)],
            "crowd.batch.assign.line": [("batch_line", self.batch_wizard.line_ids)],
            "crowd.dispatch.report": [("report_line", self.report_line)],
            "crowd.coverage.report": [("coverage_line", self.coverage_line)],
            "crowd.recruit.wizard": [("recruit_wizard", self.recruit_wizard)],
            "crowd.recruit.wizard.line": [("recruit_wizard_line", self.recruit_line)],
            "maintenance.request": [("request_assigned", self.jobs["assigned"].request_id)],
            "maintenance.equipment": [("equipment", self.equipment)],
            "maintenance.equipment.category": [("category", self.category)],
            "res.partner": [("expert_partner", self.expert)],
            "res.company": [("company", self.company)],
            "res.config.settings": [("settings", self.settings)],
            "crowd.webhook.delivery": [("webhook_delivery", self.delivery)],
            "crowd.job.tracking": [("tracking", self.tracking)],
            "crowd.job.replay": [("replay", self.replay)],
            "crowd.route": [("route", self.route)],
            "crowd.route.stop": [("route_stop", self.route_stop)],
            "crowd.route.unplanned": [("unplanned", self.unplanned)],
            "crowd.plan.wizard": [("plan_wizard", self.plan_wizard)],
        }

    def param_values(self, model, record):
        """Values of the methods' parameters, by name: valid input, so that only WHO is refused."""
        return {
            "eta_minutes": 20,
            "lat": SITE[0],
            "lon": SITE[1],
            "notes": "<p>RPC probe report</p>",
            "attachment_ids": [],
            "resolution": "RPC probe",
            "reason": "RPC probe",
            "diagnosis": "RPC probe diagnosis",
            "rate": 5,
            "feedback": "RPC probe",
            "token": self.rating.sudo().access_token,
            "online": True,
            "latitude": NEAR[0],
            "longitude": NEAR[1],
            "consent": True,
            "key": "rpc-probe-0001",
            "action": "report",
            "values": {"notes": "RPC probe report"},
            "seen_state": record.state if record._name == "crowd.job" else "on_site",
            "seen_version": record.sudo()._crowd_version() if record._name == "crowd.job" else "",
            "fields_list": list(self.env[model]._fields),
            "day": str(self.env["crowd.route"]._crowd_today(self.company) + timedelta(days=1)),
        }

    def forged_context(self, role):
        """Every flag the crowd addons read, and a few that Odoo or a careless override might, at once."""
        return {
            "crowd_payout_system": True,
            "crowd_payout_auto": True,
            "crowd_payout_no_commit": True,
            "crowd_no_auto_dispatch": True,
            "active_test": False,
            "bin_size": True,
            "sudo": True,
            "su": True,
            "superuser": True,
            "force_company": self.elsewhere(role).id,
            "install_mode": True,
            "tracking_disable": True,
        }

    def elsewhere(self, role):
        """A company the role's user does not belong to."""
        return self.other_company if self.users[role].company_id == self.company else self.company

    def company_context(self, role):
        """A forged company: the user's own and one they do not belong to."""
        return {"allowed_company_ids": [self.elsewhere(role).id, self.users[role].company_id.id]}

    def extra_context(self, model, method):
        if method == "default_get":
            return {
                "default_job_id": self.jobs["offered"].id,
                "active_model": "res.partner",
                "active_ids": self.expert.ids,
            }
        return {}

    def field_targets(self, model, targets):
        if model == "crowd.required.skill":
            return [target for target in targets if target[0] != "required_skill_equipment"]
        return targets[:1]

    # ------------------------------------------------------------------ tests
    def test_10_methods(self):
        self.check_methods()

    def test_20_fields(self):
        self.check_fields()

    def test_25_forged_company(self):
        self.check_forged_company()

    def test_30_create(self):
        self.check_create()

    def test_40_private_methods(self):
        """System methods start with ``_``: Odoo refuses them over RPC, whatever the context."""
        for model in ("crowd.job", "crowd.dispatch.offer", "res.partner", "maintenance.request"):
            for name in sorted(n for n in dir(type(self.env[model])) if n.startswith("_crowd")):
                for role in ("expert", "dispatcher", "manager"):
                    _result, error = self.probe(
                        role, model, name, [self.jobs["assigned"].ids], context={"sudo": True}, label=f"{role}: {name}"
                    )
                    if error:
                        self.assertIn("Private methods", error["data"]["message"])
        self.assertNoProblems()

    def test_45_unknown_ids(self):
        self.check_unknown_ids()
        huge = 2**40
        for method, args in (
            ("action_report", [self.jobs["on_site"].ids, "<p>ok</p>", [huge]]),
            ("action_escalate_specialist", [self.jobs["on_site"].ids, "diagnosis", {str(huge): huge}]),
        ):
            self.probe("dispatcher", "crowd.job", method, args, label=f"dispatcher: {method} with id {huge}")
        self.assertNoProblems()

    def test_50_bad_input_by_allowed_roles(self):
        """Allowed roles with bad input: a clear error, nothing changed."""
        job = self.jobs
        for eta in (-1, 1441, 6e9, "abc", None, math.inf):
            self.probe("expert", "crowd.job", "action_en_route", [job["assigned"].ids, eta], label=f"eta {eta!r}")
        for lat, lon in ((91, 8.5), (47.3, 181), ("x", 8.5), (None, None), (math.nan, 8.5)):
            self.probe(
                "expert", "crowd.job", "action_check_in", [job["en_route"].ids, lat, lon], label=f"check-in {lat},{lon}"
            )
        for notes in ("", "   ", 42, "x" * 10001):
            self.probe("expert", "crowd.job", "action_report", [job["on_site"].ids, notes], label="report")
        self.probe("expert", "crowd.job", "action_report", [job["on_site"].ids, "ok", [self.rating.id]])
        self.probe("expert", "crowd.job", "action_complete", [job["on_site"].ids, 42], label="resolution 42")
        self.probe("expert", "crowd.job", "action_complete", [job["assigned"].ids], label="complete from assigned")
        for lat, lon in ((91, 8.5), ("x", 8.5), (None, None), (math.nan, 8.5)):
            args = [job["en_route"].ids, lat, lon]
            self.probe("expert", "crowd.job", "action_report_position", args, label=f"at {lat},{lon}")
        for key, action, values in (
            ("short", "report", {}),
            ("rpc-probe-bad1", "unlink", {}),
            ("rpc-probe-bad2", "report", [1]),
            ("rpc-probe-bad3", "report", {"x": True}),
        ):
            args = [job["on_site"].ids, key, action, values, "on_site", ""]
            self.probe("expert", "crowd.job", "action_replay_offline", args, label=f"replay {key} {action} {values}")
        for rate in (0, 6, 4.5, True, "5", None):
            self.probe("customer", "crowd.job", "action_rate", [job["done"].ids, rate], label=f"rate {rate!r}")
        self.probe("customer", "crowd.job", "action_rate", [job["done"].ids, 5], label="rate twice")
        self.probe("customer", "crowd.job", "action_rate", [job["on_site"].ids, 5], label="rate before done")
        self.probe("dispatcher", "crowd.job", "write", [job["new"].ids, {"cost_ceiling": -1}], label="ceiling -1")
        self.probe("dispatcher", "crowd.job", "action_cancel", [job["assigned"].ids, ""], label="cancel no reason")
        self.probe("dispatcher", "crowd.job", "action_cancel", [job["done"].ids, "late"], label="cancel done job")
        for vals in ({"max_radius_km": -1}, {"weight_travel": -0.5}, {"top_n": 0}, {"offer_timeout_min": -1}):
            self.probe("manager", "crowd.dispatch.rule", "write", [self.rule.ids, vals], label=f"rule {vals}")
        for vals in ({"crowd_radius_km": -1}, {"crowd_rating": 7}, {"partner_latitude": 95}):
            self.probe("dispatcher", "res.partner", "write", [self.expert.ids, vals], label=f"expert {vals}")
        # workflow fields smuggled into a create by a dispatcher (who may create jobs)
        for vals in ({"state": "done"}, {"expert_id": self.expert.id, "state": "assigned"}, {"done_hook_done": True}):
            self.probe(
                "dispatcher",
                "crowd.job",
                "create",
                [dict({"request_id": job["new"].request_id.id}, **vals)],
                label=f"create job {vals}",
            )
        self.assertNoProblems()

    def test_55_batch_assignment_lines_are_checked(self):
        """A batch assignment confirmed over RPC with a forged line (an expert without the job's skill, a job of
        another company, the same job twice) is refused, and nothing changed; a foreign dispatcher can neither
        confirm a dispatcher's batch nor open one on their jobs."""
        wizard, forged = self.batch_wizard, self.forged_batch_wizard
        model = "crowd.batch.assign.wizard"
        self.probe("dispatcher", model, "action_confirm", [forged.ids], label="expert lacks skill")
        self.probe("dispatcher", model, "action_confirm", [wizard.ids], label="no capacity left")
        # the forged lines below are written first; the database snapshot the probes compare with is taken again
        self.batch_wizard.line_ids.sudo().job_id = self.other_company_job()
        self._digest = None
        self.probe("dispatcher", "crowd.batch.assign.wizard", "action_confirm", [wizard.ids], label="foreign job")
        self.batch_wizard.line_ids.sudo().job_id = self.jobs["new"]
        forged.sudo().line_ids = [Command.create({"job_id": self.jobs["new"].id, "expert_id": self.expert.id})]
        self._digest = None
        self.probe("dispatcher", "crowd.batch.assign.wizard", "action_confirm", [forged.ids], label="job twice")
        for role in ("foreign_dispatcher", "manager"):
            self.probe(role, "crowd.batch.assign.wizard", "action_confirm", [wizard.ids], label=f"{role}: confirm")
            self.probe(role, "crowd.batch.assign.wizard", "read", [wizard.ids, ["job_count"]], label=f"{role}: read")
        self.probe("foreign_dispatcher", "crowd.job", "action_batch_assign", [self.jobs["offered"].ids])
        self.probe(
            "dispatcher",
            "crowd.batch.assign.wizard",
            "create",
            [{"company_id": self.other_company.id}],
            label="dispatcher: a batch for a company of someone else",
        )
        self.assertNoProblems()

    def other_company_job(self):
        team = self.env["maintenance.team"].create({"name": "RPC other team", "company_id": self.other_company.id})
        request = self.env["maintenance.request"].create(
            {
                "name": "RPC other company",
                "priority": "2",
                "company_id": self.other_company.id,
                "maintenance_team_id": team.id,
                "crowd_latitude": SITE[0],
                "crowd_longitude": SITE[1],
            }
        )
        return request.crowd_job_ids

    def test_60_default_keys_do_not_reach_the_job(self):
        """default_* context keys sent with an allowed call (an employee reports a problem, a dispatcher
        dispatches) fill neither the job's workflow fields nor its offers."""
        forged = {
            "default_state": "done",
            "default_expert_id": self.other_expert.id,
            "default_done_hook_done": True,
            "default_expected_pay": 999999.0,
            "default_rank": 1,
        }
        vals = {
            "name": "RPC forged defaults",
            "equipment_id": self.equipment.id,
            "crowd_site_id": self.site.id,
            "crowd_latitude": SITE[0],
            "crowd_longitude": SITE[1],
        }
        request_id, error = self.call("employee", "maintenance.request", "create", [vals], context=forged)
        self.assertFalse(error, error)
        job = self.env["maintenance.request"].browse(request_id).crowd_job_ids
        self.assertEqual((job.state, job.expert_id, job.done_hook_done), ("new", self.env["res.partner"], False))
        _result, error = self.call("dispatcher", "crowd.job", "action_dispatch", [job.ids], context=forged)
        self.assertFalse(error, error)
        job.invalidate_recordset()
        self.assertEqual(job.state, "offered")
        self.assertFalse(job.expert_id)
        self.assertEqual(set(job.offer_ids.mapped("state")), {"pending"})
        self.assertNotIn(999999.0, job.offer_ids.mapped("expected_pay"))
        # a first responder escalates (creating the specialist job as the system) with the same keys
        request = self.make_request("RPC escalation with forged defaults")
        job = request.crowd_job_ids
        job.with_user(self.users["dispatcher"]).action_dispatch()
        offer = job.offer_ids.filtered(lambda o: o.expert_id == self.other_expert)
        offer.with_user(self.users["other_expert"]).action_accept()
        job.with_user(self.users["other_expert"]).action_en_route(5)
        job.with_user(self.users["other_expert"]).action_check_in(*SITE)
        followup_id, error = self.call(
            "other_expert", "crowd.job", "action_escalate_specialist", [job.ids, "Needs a specialist"], context=forged
        )
        self.assertFalse(error, error)
        followup = self.env["crowd.job"].browse(followup_id)
        self.assertEqual(followup.kind, "specialist")
        self.assertIn(followup.state, ("new", "dispatching", "offered", "escalated"))
        self.assertFalse(followup.expert_id)
        self.assertFalse(followup.done_hook_done)
        self.assertNotIn(999999.0, followup.offer_ids.mapped("expected_pay"))
        # a dispatcher may create a job by hand, but not a job already done or already assigned
        for key in ("default_state", "default_expert_id", "default_done_hook_done"):
            self.probe(
                "dispatcher",
                "crowd.job",
                "create",
                [{"request_id": job.request_id.id}],
                context={key: forged[key]},
                label=f"dispatcher: crowd.job.create with {key}",
            )
        self.assertNoProblems()

    def test_90_positive_path(self):
        """Over RPC: the dispatcher dispatches, the expert accepts, goes, checks in, reports and completes,
        the customer rates."""
        request = self.make_request("RPC positive path")
        job = request.crowd_job_ids
        self.assertEqual(job.state, "new")
        _result, error = self.call("dispatcher", "crowd.job", "action_dispatch", [job.ids])
        self.assertFalse(error, error)
        self.assertEqual(job.state, "offered")
        offers, error = self.call(
            "expert",
            "crowd.dispatch.offer",
            "search_read",
            [[("job_id", "=", job.id)]],
            {"fields": ["state", "expert_id", "job_id"]},
        )
        self.assertFalse(error, error)
        self.assertEqual([offer["expert_id"][0] for offer in offers], self.expert.ids, "the expert sees only theirs")
        for method, args in (
            ("action_accept", [[offers[0]["id"]]]),
            ("action_en_route", [job.ids, 15]),
            ("action_check_in", [job.ids, *NEAR]),
            ("action_report", [job.ids, "<p>Reset the controller.</p>"]),
            ("action_complete", [job.ids, "Reset the controller."]),
        ):
            model = "crowd.dispatch.offer" if method == "action_accept" else "crowd.job"
            _result, error = self.call("expert", model, method, args)
            self.assertFalse(error, f"{method}: {error}")
        job.invalidate_recordset()
        self.assertEqual(job.state, "done")
        self.assertEqual(job.expert_id, self.expert)
        self.assertAlmostEqual(job.checkin_distance_km, 1.0, delta=0.05)
        self.assertIn("Reset the controller", job.report)
        _result, error = self.call("customer", "crowd.job", "action_rate", [job.ids, 5, "Great"])
        self.assertFalse(error, error)
        self.assertEqual(job.rating_ids.filtered("consumed").rating, 5)
        self.assertAlmostEqual(self.expert.crowd_rating, 4.5, delta=0.01, msg="(4 + 5) / 2")
        counts = type(self).counts
        counts["tried"] += 8
        counts["allowed"] += 8
