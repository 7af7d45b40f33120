import { registry } from "@web/core/registry";

// The expert on a phone: accept the offer, go, check in (position typed: the headless browser
// denies geolocation, which is the fallback path), complete the job.
registry.category("web_tour.tours").add("crowd_expert_tour", {
    steps: () => [
        { trigger: ".o_crowd_offer .o_crowd_why li", content: "the offer explains why" },
        { trigger: ".o_crowd_accept", run: "click" },
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
    ],
});

// The customer: report a problem on their equipment and land on the tracking page of its first visit.
registry.category("web_tour.tours").add("crowd_customer_request_tour", {
    steps: () => [
        { trigger: ".o_crowd_service_new input[name=name]", run: "edit Conveyor stopped on line 3" },
        { trigger: ".o_crowd_service_new textarea[name=description]", run: "edit Red light on panel 3" },
        { trigger: ".o_crowd_service_new select[name=priority]", run: "select 3" },
        { trigger: ".o_crowd_service_new button[type=submit]", run: "click" },
        { trigger: ".o_crowd_service h4:contains(Conveyor stopped)" },
        { trigger: ".o_crowd_service .o_crowd_timeline li" },
    ],
});

// The customer rates the completed visit.
registry.category("web_tour.tours").add("crowd_customer_rate_tour", {
    steps: () => [
        { trigger: ".o_crowd_rate select[name=rating]", run: "select 5" },
        { trigger: ".o_crowd_rate textarea[name=comment]", run: "edit Fast and friendly" },
        { trigger: ".o_crowd_rate button[type=submit]", run: "click" },
        { trigger: ".o_crowd_rated:contains(5/5)" },
    ],
});
