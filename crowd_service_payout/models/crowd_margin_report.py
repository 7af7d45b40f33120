from odoo import fields, models, tools
from odoo.exceptions import AccessError
from odoo.tools import SQL

from .crowd_customer_charge import COVERAGES


class CrowdMarginReport(models.Model):
    """Margin per completed visit: what the customer is charged against what the visit costs, the
    expert's payout for the crowd, the time on site at an hourly cost for own technicians."""

    _name = "crowd.margin.report"
    _description = "Crowd Visit Margin Analysis"
    _auto = False
    _order = "date desc, id desc"

    job_id = fields.Many2one("crowd.job", string="Visit", readonly=True)
    request_id = fields.Many2one("maintenance.request", readonly=True)
    package_id = fields.Many2one("crowd.service.package", string="Service Package", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    expert_id = fields.Many2one("res.partner", string="Expert / Technician", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    source = fields.Selection([("crowd", "Crowd"), ("own", "Own technicians")], readonly=True)
    coverage = fields.Selection(COVERAGES, readonly=True)
    date = fields.Date(string="Visit Date", readonly=True)
    hours_on_site = fields.Float(string="Hours on Site", readonly=True, aggregator="sum", digits=(16, 2))
    revenue = fields.Monetary(string="Customer Revenue", readonly=True, aggregator="sum")
    payout_cost = fields.Monetary(string="Expert Payouts", readonly=True, aggregator="sum")
    own_cost = fields.Monetary(string="Own Technicians' Time", readonly=True, aggregator="sum")
    cost = fields.Monetary(readonly=True, aggregator="sum")
    margin = fields.Monetary(readonly=True, aggregator="sum")
    job_count = fields.Integer(string="Visits", readonly=True, aggregator="sum")

    def init(self):
        # a public name, so callable over RPC: only the registry (as superuser) may drop and rebuild the view
        if not self.env.su:
            raise AccessError(self.env._("Schema hooks run at install and update only."))
        tools.drop_view_if_exists(self.env.cr, self._table)
        # time on site: arrival to completion; the planned visit when the arrival was not recorded
        hours = SQL(
            """CASE WHEN j.on_site_at IS NOT NULL AND j.done_at > j.on_site_at
                    THEN EXTRACT(EPOCH FROM (j.done_at - j.on_site_at)) / 3600.0
                    ELSE COALESCE(j.planned_duration_min, 0) / 60.0 END"""
        )
        own = SQL("COALESCE(p.crowd_kind, 'employee') NOT IN ('partner', 'freelance')")
        own_cost = SQL(
            "CASE WHEN %(own)s THEN ROUND((%(hours)s * COALESCE(NULLIF(p.crowd_hourly_cost, 0),"
            " c.crowd_internal_hourly_cost, 0))::numeric, 2) ELSE 0 END",
            own=own,
            hours=hours,
        )
        payout = SQL("CASE WHEN %(own)s THEN 0 ELSE COALESCE(pay.amount_company, 0) END", own=own)
        revenue = SQL("COALESCE(ch.amount_company, 0)")
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %(table)s AS (
                SELECT j.id AS id,
                       j.id AS job_id,
                       j.request_id AS request_id,
                       COALESCE(ch.package_id, pay.package_id) AS package_id,
                       COALESCE(ch.partner_id, j.customer_id) AS partner_id,
                       j.expert_id AS expert_id,
                       j.company_id AS company_id,
                       c.currency_id AS currency_id,
                       CASE WHEN %(own)s THEN 'own' ELSE 'crowd' END AS source,
                       COALESCE(ch.coverage, 'none') AS coverage,
                       COALESCE(ch.date, (j.done_at)::date, j.create_date::date) AS date,
                       %(hours)s AS hours_on_site,
                       %(revenue)s AS revenue,
                       %(payout)s AS payout_cost,
                       %(own_cost)s AS own_cost,
                       %(payout)s + %(own_cost)s AS cost,
                       %(revenue)s - %(payout)s - %(own_cost)s AS margin,
                       1 AS job_count
                  FROM crowd_job j
                  JOIN res_company c ON c.id = j.company_id
             LEFT JOIN res_partner p ON p.id = j.expert_id
             LEFT JOIN crowd_customer_charge ch ON ch.job_id = j.id
             LEFT JOIN crowd_payout pay ON pay.job_id = j.id AND pay.state NOT IN ('rejected', 'cancelled')
                 WHERE j.state = 'done'
            )""",
                table=SQL.identifier(self._table),
                own=own,
                hours=hours,
                revenue=revenue,
                payout=payout,
                own_cost=own_cost,
            )
        )
