from odoo import fields, models, tools
from odoo.tools import SQL


class CrowdJobCostReport(models.Model):
    _name = "crowd.job.cost.report"
    _description = "Crowd Job Cost Analysis"
    _auto = False
    _order = "date desc, id desc"

    request_id = fields.Many2one("maintenance.request", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    expert_id = fields.Many2one("res.partner", string="Expert / Technician", readonly=True)
    expert_kind = fields.Selection(
        [("employee", "Employee"), ("partner", "Partner"), ("freelance", "Freelance")], readonly=True
    )
    source = fields.Selection([("crowd", "Crowd"), ("own", "Own technicians")], readonly=True)
    date = fields.Date(readonly=True)
    cost = fields.Monetary(readonly=True, aggregator="sum")
    cost_per_job = fields.Monetary(readonly=True, aggregator="avg", string="Cost per Job")
    job_count = fields.Integer(readonly=True, string="Jobs")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        cost = SQL(
            """CASE WHEN pay.amount IS NOT NULL THEN pay.amount
                    ELSE COALESCE(NULLIF(p.crowd_cost_per_job, 0), c.crowd_internal_cost_per_job, 0) END"""
        )
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %(table)s AS (
                SELECT r.id AS id,
                       r.id AS request_id,
                       r.company_id AS company_id,
                       c.currency_id AS currency_id,
                       r.crowd_expert_id AS expert_id,
                       p.crowd_kind AS expert_kind,
                       CASE WHEN p.crowd_kind IN ('partner', 'freelance') THEN 'crowd' ELSE 'own' END AS source,
                       COALESCE(r.crowd_done_at::date, r.close_date, r.request_date) AS date,
                       %(cost)s AS cost,
                       %(cost)s AS cost_per_job,
                       1 AS job_count
                  FROM maintenance_request r
                  JOIN res_company c ON c.id = r.company_id
             LEFT JOIN maintenance_stage s ON s.id = r.stage_id
             LEFT JOIN res_partner p ON p.id = r.crowd_expert_id
             LEFT JOIN (SELECT request_id, SUM(amount_company) AS amount
                          FROM crowd_payout
                         WHERE state NOT IN ('rejected', 'cancelled')
                      GROUP BY request_id) pay ON pay.request_id = r.id
                 WHERE r.crowd_dispatch_state = 'done' OR (r.crowd_expert_id IS NULL AND s.done)
            )""",
                table=SQL.identifier(self._table),
                cost=cost,
            )
        )
