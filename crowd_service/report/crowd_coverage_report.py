from odoo import fields, models, tools
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..models.crowd_map import DEFAULT_CELL_KM, MAX_CELL_KM, MIN_CELL_KM, PARAM_CELL_KM
from ..models.crowd_vocabulary import CROWD_POOLS, priority_selection


class CrowdCoverageReport(models.Model):
    """One line per visit with a site position: time to door by area (a grid cell) and main skill, and the
    urgent visits that missed 60 minutes (on site later, or still not on site after 60 minutes).

    The grid is the engine's (:func:`crowd_dispatch.coverage.grid_cell`): rows of ``cell_km`` of latitude,
    columns of ``cell_km`` of longitude at the row's middle latitude, where ``cell_km`` is the system
    parameter ``crowd_service.coverage_cell_km`` (Settings), read when the view is queried. Visits
    cancelled before anyone reached the site are left out (a re-dispatch counts once, on its new visit)."""

    _name = "crowd.coverage.report"
    _description = "Crowd Coverage Analysis"
    _auto = False
    _order = "date desc, id"
    _rec_name = "job_id"
    # what the view reads: searching it flushes these first
    _depends = {
        "crowd.job": [
            "request_id", "company_id", "priority", "state", "latitude", "longitude", "requested_at",
            "on_site_at", "time_to_door_min", "expert_id",
        ],
        "crowd.required.skill": ["job_id", "skill_id"],
        "maintenance.request": ["category_id"],
        "res.partner": ["crowd_kind"],
        "ir.config_parameter": ["key", "value"],
    }  # fmt: skip

    job_id = fields.Many2one("crowd.job", string="Job", readonly=True)
    request_id = fields.Many2one("maintenance.request", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date = fields.Date("Day", readonly=True)
    priority = fields.Selection(selection=lambda self: priority_selection(self.env), readonly=True)
    urgent = fields.Boolean(readonly=True)
    skill_id = fields.Many2one(
        "crowd.skill", string="Main Skill", readonly=True, help="The visit's first required skill."
    )
    category_id = fields.Many2one("maintenance.equipment.category", readonly=True)
    expert_pool = fields.Selection(CROWD_POOLS, readonly=True)
    cell_key = fields.Char("Cell", readonly=True, help="Grid cell: row and column of the cell size.")
    area = fields.Char(readonly=True, help="Centre of the grid cell (latitude, longitude).")
    cell_latitude = fields.Float("Cell Latitude", readonly=True, digits=(10, 5), aggregator=None)
    cell_longitude = fields.Float("Cell Longitude", readonly=True, digits=(10, 5), aggregator=None)
    job_count = fields.Integer("Visits", readonly=True, aggregator="sum")
    on_site_count = fields.Integer("On Site", readonly=True, aggregator="sum")
    within_60_count = fields.Integer("On Site ≤ 60 min", readonly=True, aggregator="sum")
    time_to_door_min = fields.Float("Time to Door (min)", readonly=True, aggregator="avg", digits=(10, 1))
    urgent_count = fields.Integer("Urgent Visits", readonly=True, aggregator="sum")
    urgent_missed_count = fields.Integer("Urgent Missed 60 min", readonly=True, aggregator="sum")
    urgent_missed_share = fields.Float(
        "Urgent Missed 60 min (%)", readonly=True, aggregator="avg", digits=(5, 1), help="Among urgent visits."
    )

    def init(self):
        # a public name, so callable over RPC: only the registry (as superuser) may drop and rebuild the view
        if not self.env.su:
            raise AccessError(self.env._("Schema hooks run at install and update only."))
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %(table)s AS (
                WITH setting AS (
                    SELECT LEAST(GREATEST(COALESCE((
                        SELECT CASE WHEN value ~ '^[0-9]+(\\.[0-9]+)?$' THEN value::float END
                          FROM ir_config_parameter WHERE key = %(param)s), %(default)s), %(low)s), %(high)s)
                           AS cell_km
                ), base AS (
                    SELECT j.*, floor(j.latitude / (s.cell_km / 111.32)) AS cell_row, s.cell_km
                      FROM crowd_job j CROSS JOIN setting s
                     WHERE (j.latitude != 0 OR j.longitude != 0)
                       AND (j.state != 'cancelled' OR j.on_site_at IS NOT NULL)
                ), cells AS (
                    SELECT b.*, (b.cell_row + 0.5) * b.cell_km / 111.32 AS cell_mid,
                           b.cell_km / (111.32 * GREATEST(cos(radians((b.cell_row + 0.5) * b.cell_km / 111.32)),
                                                         0.01)) AS lon_step
                      FROM base b
                )
                SELECT c.id AS id,
                       c.id AS job_id,
                       c.request_id,
                       c.company_id,
                       COALESCE(c.requested_at, c.create_date)::date AS date,
                       c.priority,
                       c.priority = '3' AS urgent,
                       (SELECT rs.skill_id FROM crowd_required_skill rs
                         WHERE rs.job_id = c.id ORDER BY rs.id LIMIT 1) AS skill_id,
                       r.category_id,
                       CASE p.crowd_kind WHEN 'employee' THEN 'own' WHEN 'partner' THEN 'partner'
                                         WHEN 'freelance' THEN 'crowd' END AS expert_pool,
                       c.cell_row::bigint || ':' || floor(c.longitude / c.lon_step)::bigint AS cell_key,
                       to_char(c.cell_mid, 'FM990.000') || ', '
                           || to_char((floor(c.longitude / c.lon_step) + 0.5) * c.lon_step, 'FM9990.000') AS area,
                       c.cell_mid AS cell_latitude,
                       (floor(c.longitude / c.lon_step) + 0.5) * c.lon_step AS cell_longitude,
                       1 AS job_count,
                       CASE WHEN c.on_site_at IS NOT NULL THEN 1 ELSE 0 END AS on_site_count,
                       CASE WHEN c.on_site_at IS NOT NULL AND c.time_to_door_min <= 60 THEN 1 ELSE 0 END
                           AS within_60_count,
                       CASE WHEN c.on_site_at IS NOT NULL THEN c.time_to_door_min END AS time_to_door_min,
                       CASE WHEN c.priority = '3' THEN 1 ELSE 0 END AS urgent_count,
                       CASE WHEN c.priority = '3' AND %(missed)s THEN 1 ELSE 0 END AS urgent_missed_count,
                       CASE WHEN c.priority = '3' THEN CASE WHEN %(missed)s THEN 100.0 ELSE 0.0 END END
                           AS urgent_missed_share
                  FROM cells c
                  JOIN maintenance_request r ON r.id = c.request_id
             LEFT JOIN res_partner p ON p.id = c.expert_id
                )""",
                table=SQL.identifier(self._table),
                param=PARAM_CELL_KM,
                default=DEFAULT_CELL_KM,
                low=MIN_CELL_KM,
                high=MAX_CELL_KM,
                missed=SQL(
                    """((c.on_site_at IS NOT NULL AND c.time_to_door_min > 60)
                        OR (c.on_site_at IS NULL
                            AND (now() AT TIME ZONE 'UTC') - COALESCE(c.requested_at, c.create_date)
                                > interval '60 minutes'))"""
                ),
            )
        )
