import { registry } from "@web/core/registry";

// The tracking page updates itself from the bus: the expert's phone sends a position (the tour's browser is
// the expert's session, which sends it like the phone's script), and the page shows the new ETA and the
// expert on the map, without a reload.
registry.category("web_tour.tours").add("crowd_live_tracking_tour", {
    steps: () => [
        {
            trigger: ".o_crowd_tracking .o_crowd_live_eta_min:contains(45)",
            content: "the ETA the expert gave when leaving",
            run() {
                window.crowdLiveNoReload = true;
            },
        },
        {
            trigger: ".o_crowd_tracking .o_crowd_live_map.leaflet-container",
            content: "the map shows the site; the phone sends its position",
            async run() {
                await fetch("/my/crowd/position", {
                    method: "POST",
                    headers: { "Content-Type": "application/json" },
                    body: JSON.stringify({
                        jsonrpc: "2.0",
                        method: "call",
                        id: 1,
                        params: { latitude: 46.99, longitude: 7.4474 },
                    }),
                });
            },
        },
        { trigger: ".o_crowd_tracking .o_crowd_live_badge:not(.d-none)", content: "the bus brought the position" },
        { trigger: ".o_crowd_tracking .o_crowd_live_eta_min:not(:contains(45)):not(:contains(44))" },
        { trigger: ".o_crowd_tracking .o_crowd_live_map path.leaflet-interactive", content: "the expert on the map" },
        {
            trigger: ".o_crowd_tracking .o_crowd_live_updated_line:not(.d-none)",
            run() {
                // no reload at all, before or after the first step: the bus replays the channel's recent
                // notifications (the visit's earlier states) to the new page, which must ignore them
                const navigation = performance.getEntriesByType("navigation")[0];
                if (!window.crowdLiveNoReload || navigation?.type === "reload") {
                    throw new Error("the tracking page was reloaded");
                }
            },
        },
    ],
});
