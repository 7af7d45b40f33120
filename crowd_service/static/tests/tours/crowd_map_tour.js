/** @odoo-module **/

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("crowd_service_map_tour", {
    steps: () => [
        {
            content: "Job markers are drawn on the map",
            trigger: ".o_crowd_map .leaflet-overlay-pane path.o_crowd_map_job",
        },
        {
            content: "Expert markers are drawn on the map",
            trigger: ".o_crowd_map .leaflet-marker-pane .o_crowd_map_expert_icon",
        },
        {
            content: "The legend names the job states",
            trigger: ".o_crowd_map_legend:contains('On Site')",
        },
        {
            content: "Open an offered job's popup",
            trigger: ".o_crowd_map path.o_crowd_map_job_offered",
            run: "click",
        },
        {
            content: "The popup links to the job",
            trigger: ".leaflet-popup .o_crowd_map_open",
        },
        {
            content: "Show the coverage layer",
            trigger: ".o_crowd_map input[name='cells']",
            run: "click",
        },
        {
            content: "Coverage cells are drawn",
            trigger: ".o_crowd_map path.o_crowd_map_cell",
        },
        {
            content: "Open the coverage analysis",
            trigger: ".o_crowd_map_coverage_button",
            run: "click",
        },
        {
            content: "The coverage pivot shows",
            trigger: ".o_pivot_view .o_pivot table",
        },
    ],
});
