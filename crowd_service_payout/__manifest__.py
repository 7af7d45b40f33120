{
    "name": "Crowd Service Payouts",
    "summary": "Fixed-rate service packages, payouts per job, finance approval and self-billing vendor bills",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "author": "Crowd Service",
    "website": "https://github.com/crowd-service/crowd-service",
    "license": "LGPL-3",
    "depends": ["crowd_service", "account"],
    "data": [],
    "installable": True,
}
