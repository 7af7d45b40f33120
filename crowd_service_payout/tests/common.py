from odoo import Command, fields
from odoo.tests import new_test_user

from odoo.addons.account.tests.common import AccountTestInvoicingCommon


class CrowdPayoutCommon(AccountTestInvoicingCommon):
    """Experts, users, packages and helpers to make completed jobs.

    Jobs are built by setting their fields directly (the dispatch flow is tested in
    crowd_service); the payout hook ``_crowd_on_done`` is called as the completing user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.env.user.groups_id |= cls.env.ref("crowd_service.group_crowd_manager")
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False, mail_notrack=False))
        skill_type = cls.env["crowd.skill.type"].create({"name": "Mechanics (payout tests)"})
        cls.skill_lift = cls.env["crowd.skill"].create(
            {"name": "Lift hydraulics", "code": "h7_lift_hydraulics", "skill_type_id": skill_type.id}
        )
        cls.category_lift = cls.env["maintenance.equipment.category"].create(
            {"name": "Lifts", "company_id": cls.company.id}
        )
        cls.category_other = cls.env["maintenance.equipment.category"].create(
            {"name": "Routers", "company_id": cls.company.id}
        )
        cls.analytic_plan = cls.env["account.analytic.plan"].create({"name": "Service"})
        cls.analytic_lift = cls.env["account.analytic.account"].create(
            {"name": "Lift service", "plan_id": cls.analytic_plan.id, "company_id": cls.company.id}
        )
        cls.equipment_lift = cls.env["maintenance.equipment"].create(
            {
                "name": "Lift 7",
                "category_id": cls.category_lift.id,
                "company_id": cls.company.id,
                "crowd_analytic_account_id": cls.analytic_lift.id,
            }
        )
        cls.equipment_router = cls.env["maintenance.equipment"].create(
            {"name": "Router 3", "category_id": cls.category_other.id, "company_id": cls.company.id}
        )
        company_ids = [Command.set(cls.company.ids)]
        common = {"company_id": cls.company.id, "company_ids": company_ids}
        cls.approver_1 = new_test_user(
            cls.env, login="h7_approver1", groups="crowd_service_payout.group_payout_approver", **common
        )
        cls.approver_2 = new_test_user(
            cls.env, login="h7_approver2", groups="crowd_service_payout.group_payout_approver", **common
        )
        cls.approver_manager = new_test_user(
            cls.env,
            login="h7_approver_mgr",
            groups="crowd_service_payout.group_payout_approver,crowd_service.group_crowd_manager",
            **common,
        )
        cls.dispatcher = new_test_user(
            cls.env, login="h7_dispatcher", groups="crowd_service.group_crowd_user", **common
        )
        cls.dispatcher_approver = new_test_user(
            cls.env,
            login="h7_disp_approver",
            groups="crowd_service.group_crowd_user,crowd_service_payout.group_payout_approver",
            **common,
        )
        cls.partner_company = cls.env["res.partner"].create({"name": "LiftFix Ltd", "is_company": True})
        cls.portal_user = new_test_user(cls.env, login="h7_expert_portal", groups="base.group_portal", **common)
        cls.expert_freelance = cls.portal_user.partner_id
        cls.expert_freelance.write(cls._expert_vals("freelance", "technician", name="Fiona Freelance"))
        cls.expert_partner = cls.env["res.partner"].create(
            dict(
                cls._expert_vals("partner", "specialist", name="Paul Partner"),
                crowd_company_partner_id=cls.partner_company.id,
                parent_id=cls.partner_company.id,
            )
        )
        cls.expert_employee = cls.env["res.partner"].create(
            cls._expert_vals("employee", "technician", name="Eve Employee")
        )
        cls.Package = cls.env["crowd.service.package"]
        cls.Package.search([]).active = False  # demo packages would compete with the test ones
        cls.env["crowd.pay.rule"].search([]).active = False  # demo pay rules depend on the clock
        cls.package_generic = cls.Package.create({"name": "Any job", "amount": 80.0, "sequence": 50})
        cls.package_technician = cls.Package.create(
            {"name": "Technician job", "amount": 100.0, "crowd_tier": "technician", "sequence": 20}
        )
        cls.package_specialist_lift = cls.Package.create(
            {
                "name": "Lift specialist",
                "amount": 250.0,
                "crowd_tier": "specialist",
                "equipment_category_id": cls.category_lift.id,
                "sequence": 30,
                "travel_per_km": 0.5,
                "travel_threshold_km": 20.0,
            }
        )
        cls.Payout = cls.env["crowd.payout"]

    @classmethod
    def _expert_vals(cls, kind, tier, **vals):
        return dict(vals, is_crowd_expert=True, crowd_kind=kind, crowd_tier=tier)

    @classmethod
    def _make_job(cls, expert, equipment=None, company=None, **vals):
        """A maintenance request and its visit by ``expert`` (in state assigned unless given)."""
        equipment = equipment if equipment is not None else cls.equipment_router
        company = company or cls.company
        team = cls.env["maintenance.team"].search([("company_id", "in", [company.id, False])], limit=1)
        if not team:
            team = cls.env["maintenance.team"].create({"name": f"Team {company.name}", "company_id": company.id})
        request = (
            cls.env["maintenance.request"]
            .with_company(company)
            .create(
                {
                    "maintenance_team_id": team.id,
                    "name": f"Job for {expert.name}",
                    "equipment_id": equipment.id,
                    "category_id": equipment.category_id.id,
                    "company_id": company.id,
                    "maintenance_type": "corrective",
                }
            )
        )
        vals = {"expert_id": expert.id, "state": "assigned", **vals}
        return cls.env["crowd.job"].with_company(company)._crowd_create_for(request, **vals).with_env(cls.env)

    @classmethod
    def _complete(cls, job, user=None):
        """Mark the job done and run its completion hook as ``user`` (the dispatcher by default)."""
        job.sudo().write({"state": "done", "done_at": fields.Datetime.now()})
        user = user or cls.dispatcher
        job.with_user(user)._crowd_on_done()
        return job.payout_ids

    @classmethod
    def _approved_payout(cls, expert, amount=100.0, date=None, company=None, **vals):
        """A payout already approved (through the workflow write), to test billing."""
        job = cls._make_job(expert, company=company)
        payout = (
            cls.env["crowd.payout"]
            .with_company(company or cls.company)
            .create(
                {
                    "job_id": job.id,
                    "expert_id": expert.id,
                    "amount": amount,
                    "is_manual": True,
                    "manual_reason": "test",
                    "date": date or fields.Date.today(),
                    **vals,
                }
            )
        )
        payout._write_workflow({"state": "approved"})
        return payout
