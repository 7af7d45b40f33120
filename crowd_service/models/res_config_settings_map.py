# pylint: disable=consider-merging-classes-inherited
# (map extension kept apart from the other settings files on purpose: one feature per file)
from odoo import api, fields, models

from .crowd_map import (
    DEFAULT_CELL_KM,
    DEFAULT_TILE_ATTRIBUTION,
    DEFAULT_TILE_URL,
    PARAM_CELL_KM,
    PARAM_TILE_ATTRIBUTION,
    PARAM_TILE_URL,
    check_cell_km,
    check_tile_url,
)


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    crowd_map_tile_url = fields.Char(
        "Map Tile URL",
        config_parameter=PARAM_TILE_URL,
        default=DEFAULT_TILE_URL,
        help="Tile server of the dispatcher's map, with {z}, {x} and {y} (and optionally {s}).",
    )
    crowd_map_tile_attribution = fields.Char(
        "Map Attribution",
        config_parameter=PARAM_TILE_ATTRIBUTION,
        default=DEFAULT_TILE_ATTRIBUTION,
        help="Credit the tile server requires, shown in the map's corner (HTML links allowed).",
    )
    crowd_coverage_cell_km = fields.Float(
        "Coverage Cell (km)",
        config_parameter=PARAM_CELL_KM,
        default=DEFAULT_CELL_KM,
        help="Side of the grid cells of the coverage analysis and map layer.",
    )

    @api.constrains("crowd_map_tile_url", "crowd_coverage_cell_km")
    def _check_crowd_map_settings(self):
        for settings in self:
            check_tile_url(self.env, settings.crowd_map_tile_url)
            check_cell_km(self.env, settings.crowd_coverage_cell_km)
