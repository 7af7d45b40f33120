{
    "name": "Crowd Service",
    "summary": "Dispatch certified crowd experts next to your own technicians and service partners",
    "version": "18.0.1.0.0",
    "category": "Manufacturing/Maintenance",
    "author": "Crowd Service",
    "website": "https://github.com/crowd-service/crowd-service",
    "license": "LGPL-3",
    "depends": ["maintenance", "mail", "resource", "bus"],
    "external_dependencies": {"python": ["ortools", "geopy", "numpy"]},
    "data": [
        "security/crowd_security.xml",
        "security/ir.model.access.csv",
        "views/menus.xml",
    ],
    "demo": [],
    "application": True,
    "installable": True,
}
