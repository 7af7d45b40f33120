import { registry } from "@web/core/registry";

// The expert on a phone, from the portal home: the Offers tile, the offer, accept, the contact and the big
// buttons, go, check in (position typed: the headless browser denies geolocation, which is the fallback
// path), complete; the resolution stays on the page, and the done job is in the jobs' history.
registry.category("web_tour.tours").add("crowd_expert_tour", {
    steps: () => [
        { trigger: ".o_crowd_tile_offers .o_crowd_tile_count:contains(1)", content: "one offer waits" },
        { trigger: ".o_crowd_tile_offers a", run: "click" },
        { trigger: ".breadcrumb .active:contains(Offers)" },
        { trigger: ".o_crowd_offer_line a", run: "click" },
        { trigger: ".o_crowd_offer .o_crowd_why li", content: "the offer explains why" },
        { trigger: ".o_crowd_accept", run: "click" },
        { trigger: ".o_crowd_contact .o_crowd_contact_phone[href^='tel:']", content: "whom to call" },
        { trigger: ".o_crowd_tap_targets .o_crowd_navigate[href^='geo:']", content: "navigate" },
        { trigger: ".o_crowd_tap_targets .o_crowd_call[href^='tel:']", content: "call" },
        { trigger: ".o_crowd_job input[name=eta_minutes]", run: "edit 25" },
        { trigger: ".o_crowd_job .o_crowd_en_route", run: "click" },
        { trigger: ".o_crowd_job_state:contains(En Route)" },
        { trigger: ".o_crowd_check_in input[name=latitude]", run: "edit 46.948" },
        { trigger: ".o_crowd_check_in input[name=longitude]", run: "edit 7.4474" },
        { trigger: ".o_crowd_check_in_button", run: "click" },
        { trigger: ".o_crowd_job_state:contains(On Site)" },
        { trigger: "input[name=resolution]", run: "edit Seal replaced" },
        { trigger: ".o_crowd_complete", run: "click" },
        { trigger: ".o_crowd_job_state:contains(Done)" },
        { trigger: ".o_crowd_resolution:contains(Seal replaced)", content: "the resolution after completion" },
        { trigger: ".breadcrumb a[href='/my/jobs']", run: "click" },
        { trigger: ".o_crowd_tab_history", run: "click" },
        { trigger: ".o_crowd_job_line:contains(Press A-1 leaks oil)" },
    ],
});

// An expert with no pending offer still reaches the online switch and the profile from the portal home.
registry.category("web_tour.tours").add("crowd_expert_availability_tour", {
    steps: () => [
        { trigger: ".o_crowd_tile_offers .o_crowd_tile_count:contains(0)", content: "no offer waiting" },
        { trigger: ".o_crowd_tile_availability .badge:contains(Offline)" },
        { trigger: ".o_crowd_tile_availability a", run: "click" },
        { trigger: "h3:contains(Availability)" },
        { trigger: ".o_crowd_go_online", run: "click" },
        { trigger: ".o_crowd_online_state:contains(Online)" },
        { trigger: ".breadcrumb a[href='/my/home']", run: "click" },
        { trigger: ".o_crowd_tile_availability .badge:contains(Online)" },
        { trigger: ".o_crowd_tile_profile a", run: "click" },
        { trigger: ".o_crowd_cert_upload", content: "the profile" },
        { trigger: ".breadcrumb .active:contains(Profile)" },
    ],
});

// The customer, from the portal home: request service and land on the tracking page of its first visit,
// then find the request in their list.
registry.category("web_tour.tours").add("crowd_customer_request_tour", {
    steps: () => [
        { trigger: ".o_crowd_tile_services .o_crowd_tile_count:contains(1)", content: "one open request" },
        { trigger: ".o_crowd_tile_service_new a", run: "click" },
        { trigger: ".o_crowd_service_new input[name=name]", run: "edit Conveyor stopped on line 3" },
        { trigger: ".o_crowd_service_new textarea[name=description]", run: "edit Red light on panel 3" },
        { trigger: ".o_crowd_service_new select[name=priority]", run: "select 3" },
        { trigger: ".o_crowd_service_new button[type=submit]", run: "click" },
        { trigger: ".o_crowd_service h4:contains(Conveyor stopped)" },
        { trigger: ".o_crowd_service .o_crowd_timeline li" },
        { trigger: ".breadcrumb a[href='/my/service']", run: "click" },
        { trigger: ".o_crowd_service_line:contains(Conveyor stopped on line 3)" },
    ],
});

// The customer reads the outcome of the completed visit and rates it.
registry.category("web_tour.tours").add("crowd_customer_rate_tour", {
    steps: () => [
        { trigger: ".o_crowd_outcome .o_crowd_resolution:contains(Fixed)", content: "the resolution" },
        { trigger: ".o_crowd_rate select[name=rating]", run: "select 5" },
        { trigger: ".o_crowd_rate textarea[name=comment]", run: "edit Fast and friendly" },
        { trigger: ".o_crowd_rate button[type=submit]", run: "click" },
        { trigger: ".o_crowd_rated:contains(5/5)" },
    ],
});
