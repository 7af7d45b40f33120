/** @odoo-module **/

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("crowd_service_route_map_tour", {
    steps: () => [
        {
            content: "The day routes are listed per technician",
            trigger: ".o_list_view .o_group_name:contains('Tour Tech Anna')",
            run: "click",
        },
        {
            content: "Open Anna's route",
            trigger: ".o_list_view .o_data_row .o_data_cell[name='technician_id']:contains('Tour Tech Anna')",
            run: "click",
        },
        {
            content: "The route's form lists its three stops in order",
            trigger: ".o_form_view .o_field_widget[name='stop_ids'] .o_data_row:eq(2) .o_data_cell[name='sequence']",
        },
        {
            content: "Each stop has an ETA",
            trigger: ".o_form_view .o_field_widget[name='stop_ids'] .o_data_row:eq(0) .o_data_cell[name='arrival_at']:not(:empty)",
        },
        {
            content: "Show the route's day on the map",
            trigger: ".o_form_view button.o_crowd_route_map_button",
            run: "click",
        },
        {
            content: "The routes are drawn as polylines",
            trigger: ".o_crowd_map .leaflet-overlay-pane path.o_crowd_map_route",
        },
        {
            content: "Both routes are drawn",
            trigger: ".o_crowd_map .leaflet-overlay-pane path.o_crowd_map_route:eq(1)",
        },
        {
            content: "The stops are numbered markers",
            trigger: ".o_crowd_map .leaflet-marker-pane .o_crowd_map_stop span:contains('3')",
        },
        {
            content: "Open a stop's popup",
            trigger: ".o_crowd_map .leaflet-marker-pane .o_crowd_map_stop span:contains('1')",
            run: "click",
        },
        {
            content: "The popup gives the stop's ETA as a readable time",
            trigger: ".leaflet-popup .o_crowd_map_popup:contains('ETA:')",
            run() {
                const text = this.anchor.textContent;
                if (/Invalid|\+00:00|T\d\d:/.test(text) || !/\d{1,2}:\d\d/.test(text)) {
                    throw new Error(`The stop's ETA is not a readable time: ${text}`);
                }
            },
        },
        {
            content: "The popup opens the visit",
            trigger: ".leaflet-popup .o_crowd_map_open",
            run: "click",
        },
        {
            content: "The visit's form opens",
            trigger: ".o_form_view .o_form_sheet",
        },
    ],
});
