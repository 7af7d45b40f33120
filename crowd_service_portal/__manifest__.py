{
    "name": "Crowd Service Portal",
    "summary": "Phone portal for crowd experts (offers, jobs, check-in) and customers (request, track, rate)",
    "version": "18.0.2.0.0",
    "category": "Manufacturing/Maintenance",
    "author": "Crowd Service",
    "website": "https://github.com/crowd-service/crowd-service",
    "license": "LGPL-3",
    "external_dependencies": {"python": ["crowd-dispatch"]},
    "depends": ["crowd_service", "portal", "rating", "web_tour"],
    "data": [
        "security/ir.model.access.csv",
        "security/portal_rules.xml",
        "data/mail_template_job.xml",
        "views/portal_templates.xml",
        "report/equipment_qr_label.xml",
    ],
    "demo": ["demo/portal_demo.xml"],
    "assets": {
        "web.assets_frontend": ["crowd_service_portal/static/src/scss/crowd_portal.scss"],
        "web.assets_tests": ["crowd_service_portal/static/tests/tours/*.js"],
    },
}
