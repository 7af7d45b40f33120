"""Batch assignment: the waiting non-urgent jobs of a company, all at once (the engine's min-cost flow).

The wizard shows the engine's proposal (who takes which job, travel, cost and why), its total cost and
the cost of first come, first served, before the dispatcher confirms. Confirming re-checks every line in
the model (company, job still waiting, every gate of the expert, capacity), whatever the client sent,
and assigns through the same code path as a manual assignment.
"""

import time

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..models.crowd_job import BATCH_LIMIT, DISPATCHABLE_STATES, JOB_STATES, URGENT_PRIORITY


class CrowdBatchAssignWizard(models.TransientModel):
    _name = "crowd.batch.assign.wizard"
    _description = "Assign Waiting Crowd Jobs"
    _order = "id desc"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company, ondelete="cascade"
    )
    scope_job_ids = fields.Many2many(
        "crowd.job",
        "crowd_batch_assign_wizard_job_rel",
        "wizard_id",
        "job_id",
        string="Selected Jobs",
        readonly=True,
        check_company=True,
        help="The jobs selected when the assignment was opened; empty: every waiting non-urgent job.",
    )
    line_ids = fields.One2many("crowd.batch.assign.line", "wizard_id", string="Proposal")
    state = fields.Selection([("proposed", "Proposed"), ("done", "Confirmed")], default="proposed", readonly=True)
    job_count = fields.Integer("Waiting Jobs", readonly=True)
    expert_count = fields.Integer("Experts Considered", readonly=True)
    batch_staffed = fields.Integer("Jobs Staffed", readonly=True)
    batch_cost_min = fields.Float("Total Cost (min)", digits=(12, 1), readonly=True)
    greedy_staffed = fields.Integer("Jobs Staffed, First Come First Served", readonly=True)
    greedy_cost_min = fields.Float("Total Cost, First Come First Served (min)", digits=(12, 1), readonly=True)
    saving_min = fields.Float("Saved (min)", digits=(12, 1), compute="_compute_saving_min")
    compute_ms = fields.Float("Computed in (ms)", digits=(12, 0), readonly=True)
    truncated = fields.Boolean(
        "More Jobs Waiting", readonly=True, help="More jobs wait than one batch takes: the oldest were taken."
    )

    @api.depends("batch_cost_min", "greedy_cost_min", "batch_staffed", "greedy_staffed")
    def _compute_saving_min(self):
        for wizard in self:
            same_jobs = wizard.batch_staffed == wizard.greedy_staffed
            wizard.saving_min = wizard.greedy_cost_min - wizard.batch_cost_min if same_jobs else 0.0

    @api.model_create_multi
    def create(self, vals_list):
        """Only dispatchers open a batch assignment, for a company of theirs; the proposal is computed at once
        (lines sent by the client are kept: they are re-checked when confirmed)."""
        self.env["crowd.job"]._crowd_check_dispatcher()
        wizards = super().create(vals_list)
        for wizard in wizards:
            wizard._crowd_check_company()
            if not wizard.line_ids:
                wizard._crowd_propose()
        return wizards

    def _crowd_check_company(self):
        for wizard in self:
            if not self.env.su and wizard.company_id not in self.env.user.company_ids:
                raise AccessError(self.env._("You can only assign the jobs of your own companies."))

    def _crowd_action_open(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Assign Waiting Jobs"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "context": {"dialog_size": "extra-large"},
        }

    def _crowd_jobs(self):
        """The waiting non-urgent jobs this assignment covers, read as the user (record rules apply)."""
        self.ensure_one()
        Job = self.env["crowd.job"].with_company(self.company_id)
        if self.scope_job_ids:
            jobs = self.scope_job_ids.filtered(lambda j: j.company_id == self.company_id)._crowd_batch_waiting()
            return jobs[:BATCH_LIMIT], len(jobs) > BATCH_LIMIT
        domain = Job._crowd_batch_domain(self.company_id)
        jobs = Job.search(domain, order="requested_at, id", limit=BATCH_LIMIT + 1)
        return jobs[:BATCH_LIMIT], len(jobs) > BATCH_LIMIT

    def _crowd_propose(self):
        """Compute the proposal: the engine's batch assignment, and first come, first served to compare."""
        self.ensure_one()
        started = time.perf_counter()
        jobs, truncated = self._crowd_jobs()
        now = self.env["crowd.job"]._crowd_now()
        engine = self.env["crowd.dispatch.engine"].with_company(self.company_id)
        nothing = {"experts": 0, "lines": [], "batch_staffed": 0, "greedy_staffed": 0}
        proposal = engine._batch_propose(jobs, now) if jobs else dict(nothing, batch_cost=0.0, greedy_cost=0.0)
        self.line_ids.unlink()
        # staffed lines first, each group in first-come order
        lines = sorted(proposal["lines"], key=lambda line: not line["expert_id"])
        self.env["crowd.batch.assign.line"].create(
            [
                {
                    "wizard_id": self.id,
                    "sequence": sequence,
                    "job_id": line["job"].id,
                    "job_state": line["job"].state,
                    "expert_id": line["expert_id"],
                    "distance_km": line["distance_km"],
                    "eta_min": line["eta_min"],
                    "late_min": line["late_min"],
                    "cost_min": line["cost_min"],
                    "reasons": line["reasons"],
                    "greedy_expert_id": line["greedy_expert_id"],
                    "greedy_cost_min": line["greedy_cost_min"],
                }
                for sequence, line in enumerate(lines, start=1)
            ]
        )
        self.write(
            {
                "state": "proposed",
                "job_count": len(jobs),
                "expert_count": proposal["experts"],
                "batch_staffed": proposal["batch_staffed"],
                "batch_cost_min": proposal["batch_cost"],
                "greedy_staffed": proposal["greedy_staffed"],
                "greedy_cost_min": proposal["greedy_cost"],
                "truncated": truncated,
                "compute_ms": (time.perf_counter() - started) * 1000.0,
            }
        )
        return True

    def action_recompute(self):
        """Compute the proposal again (jobs and experts as they are now)."""
        self.ensure_one()
        self.env["crowd.job"]._crowd_check_dispatcher()
        self.check_access("write")
        self._crowd_check_company()
        if self.state == "done":
            raise UserError(self.env._("This batch assignment is already confirmed."))
        self._crowd_propose()
        return self._crowd_action_open()

    def action_confirm(self):
        """Assign every ticked line with an expert, in one transaction.

        Everything is checked again here, whatever the client sent: the caller is a dispatcher of the
        proposal's company, each job belongs to that company and appears once, and each expert passes every
        gate of the job now and has room for all their lines (else nothing is assigned). Jobs are row-locked
        (SKIP LOCKED); a job another transaction holds, or that is no longer waiting (accepted, assigned,
        cancelled) or became urgent, is skipped and said so.
        """
        self.ensure_one()
        Job = self.env["crowd.job"]
        Job._crowd_check_dispatcher()
        self.check_access("write")
        self._crowd_check_company()
        if self.state == "done":
            raise UserError(self.env._("This batch assignment is already confirmed."))
        lines = self.line_ids.filtered(lambda line: line.selected and line.expert_id)
        if not lines:
            raise UserError(self.env._("Nothing to assign: no ticked line proposes an expert."))
        jobs = lines.job_id
        if len(jobs) != len(lines):
            raise ValidationError(self.env._("A job appears on two lines: compute the proposal again."))
        jobs.check_access("write")
        if any(job.company_id != self.company_id for job in jobs):
            raise AccessError(self.env._("A line's job belongs to another company than this batch assignment."))
        now = Job._crowd_now()
        locked = jobs._crowd_lock_skip_locked()
        # re-read what other transactions committed before the locks were taken
        jobs.invalidate_recordset()
        skipped, todo = [], []
        for line in lines:
            job = line.job_id
            if job not in locked:
                skipped.append(self.env._("%s is being dispatched by someone else right now", job.name))
            elif job.state not in DISPATCHABLE_STATES:
                skipped.append(
                    self.env._("%(job)s is %(state)s now", job=job.name, state=job._crowd_state_label().lower())
                )
            elif job.priority == URGENT_PRIORITY:
                skipped.append(self.env._("%s became urgent: it is dispatched on its own", job.name))
            else:
                todo.append(line)
        self.env["crowd.dispatch.engine"].with_company(self.company_id)._batch_check(
            [(line.job_id, line.expert_id) for line in todo], now
        )
        for line in todo:
            line.job_id._crowd_assign_manual(
                line.expert_id,
                message=self.env._(
                    "%(expert)s assigned in a batch assignment confirmed by %(user)s (%(eta)s min away).",
                    expert=line.expert_id.name,
                    user=self.env.user.name,
                    eta=round(line.eta_min),
                ),
            )
        self.write({"state": "done"})
        message = self.env._("%s job(s) assigned.", len(todo))
        if skipped:
            message = self.env._(
                "%(assigned)s job(s) assigned; skipped because they changed meanwhile: %(skipped)s.",
                assigned=len(todo),
                skipped="; ".join(skipped),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Batch assignment"),
                "message": message,
                "type": "warning" if skipped else "success",
                "sticky": bool(skipped),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }


class CrowdBatchAssignLine(models.TransientModel):
    _name = "crowd.batch.assign.line"
    _description = "Proposed Assignment of a Waiting Job"
    _order = "sequence, id"

    wizard_id = fields.Many2one("crowd.batch.assign.wizard", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer()
    selected = fields.Boolean("Assign", default=True, help="Untick to leave this job as it is.")
    job_id = fields.Many2one("crowd.job", string="Job", required=True, readonly=True, ondelete="cascade")
    request_id = fields.Many2one(related="job_id.request_id", string="Request")
    priority = fields.Selection(related="job_id.priority", string="Priority")
    sla_deadline = fields.Datetime(related="job_id.sla_deadline", string="SLA Deadline")
    job_state = fields.Selection(JOB_STATES, string="State at Proposal", readonly=True)
    expert_id = fields.Many2one("res.partner", string="Proposed Expert", readonly=True)
    distance_km = fields.Float("Distance (km)", digits=(10, 1), readonly=True)
    eta_min = fields.Float("ETA (min)", digits=(10, 1), readonly=True)
    late_min = fields.Float("Late (min)", digits=(10, 1), readonly=True, help="Minutes after the SLA deadline.")
    cost_min = fields.Float(
        "Cost (min)", digits=(10, 1), readonly=True, help="ETA plus minutes after the SLA deadline at arrival."
    )
    reasons = fields.Char("Why", readonly=True)
    greedy_expert_id = fields.Many2one("res.partner", string="First Come, First Served", readonly=True)
    greedy_cost_min = fields.Float("Cost, First Come First Served (min)", digits=(10, 1), readonly=True)
