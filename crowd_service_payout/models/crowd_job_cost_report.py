from odoo import fields, models, tools
from odoo.exceptions import AccessError
from odoo.tools import SQL

from odoo.addons.crowd_service.models.crowd_vocabulary import CROWD_KINDS


class CrowdJobCostReport(models.Model):
    _name = "crowd.job.cost.report"
    _description = "Crowd Job Cost Analysis"
    _auto = False
    _order = "date desc, id desc"

    job_id = fields.Many2one("crowd.job", readonly=True)
    request_id = fields.Many2one("maintenance.request", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    expert_id = fields.Many2one("res.partner", string="Expert / Technician", readonly=True)
    expert_kind = fields.Selection(CROWD_KINDS, readonly=True)
    source = fields.Selection([("crowd", "Crowd"), ("own", "Own technicians")], readonly=True)
    date = fields.Date(readonly=True)
    cost = fields.Monetary(readonly=True, aggregator="sum")
    cost_per_job = fields.Monetary(readonly=True, aggregator="avg", string="Cost per Job")
    job_count = fields.Integer(readonly=True, string="Jobs")

    def init(self):
        # a public name, so callable over RPC: only the registry (as superuser) may drop and rebuild the view
        if not self.env.su:
            raise AccessError(self.env._("Schema hooks run at install and update only."))
        tools.drop_view_if_exists(self.env.cr, self._table)
        cost = SQL(
            """CASE WHEN pay.amount_company IS NOT NULL THEN pay.amount_company
                    ELSE COALESCE(NULLIF(p.crowd_cost_per_job, 0), c.crowd_internal_cost_per_job, 0) END"""
        )
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %(table)s AS (
                SELECT j.id AS id,
                       j.id AS job_id,
                       j.request_id AS request_id,
                       j.company_id AS company_id,
                       c.currency_id AS currency_id,
                       j.expert_id AS expert_id,
                       p.crowd_kind AS expert_kind,
                       CASE WHEN p.crowd_kind IN ('partner', 'freelance') THEN 'crowd' ELSE 'own' END AS source,
                       COALESCE(j.done_at, j.create_date)::date AS date,
                       %(cost)s AS cost,
                       %(cost)s AS cost_per_job,
                       1 AS job_count
                  FROM crowd_job j
                  JOIN res_company c ON c.id = j.company_id
             LEFT JOIN res_partner p ON p.id = j.expert_id
             LEFT JOIN crowd_payout pay ON pay.job_id = j.id AND pay.state NOT IN ('rejected', 'cancelled')
                 WHERE j.state = 'done'
            )""",
                table=SQL.identifier(self._table),
                cost=cost,
            )
        )
