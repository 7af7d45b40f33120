"""One visit end to end over JSON-RPC, with odoorpc, as an integrator's client drives it.

    pip install odoorpc
    python3 examples/api_flow.py --host localhost --port 8069 --db crowd

Each step logs in as the role that does it in real life and calls the public model methods listed in
docs/API.md (``env[model].method(ids, *args)``: the same call_kw a web client makes; odoorpc's
``browse()`` would read every field, some of which a role may not read); no step needs more than that
role's own rights:

1. the dispatcher reports a problem on a customer's equipment (maintenance.request): its first visit
   (crowd.job) is created at once, and dispatched now;
2. the expert sees the offer (crowd.dispatch.offer) and accepts it, goes en route with an ETA, checks in
   on site, writes the report and completes the visit;
3. the customer rates the visit;
4. the payout approver submits and approves the expert's payout (crowd.payout), finance bills it
   (crowd.payout.bill.wizard) and posts the vendor bill.

The defaults are the demo users of a fresh demo database (see the README); the site is the demo
customer's. ``run()`` is also called by the test suite against its own test server.
"""

import argparse
import sys

import odoorpc

DEMO = {
    "dispatcher": ("admin", "admin"),
    "expert": ("expert@crowd.example", "expert"),
    "customer": ("customer@crowd.example", "customer"),
    "finance": ("finance@crowd.example", "finance"),
}


class Client:
    """One odoorpc connection per role, opened on first use."""

    def __init__(self, host, port, db, logins):
        self.host, self.port, self.db, self.logins, self.connections = host, port, db, logins, {}

    def __call__(self, role):
        if role not in self.connections:
            odoo = odoorpc.ODOO(self.host, port=self.port, timeout=120)
            login, password = self.logins[role]
            odoo.login(self.db, login, password)
            self.connections[role] = odoo
        return self.connections[role].env


def run(host, port, db, logins=None, equipment_id=None, site_id=None, log=print):
    """Drive one visit through the whole flow; return the ids it made ({"job": .., "payout": .., "bill": ..})."""
    as_ = Client(host, port, db, dict(DEMO, **(logins or {})))

    # 1. the dispatcher reports the problem on the customer's equipment, at the customer's site
    env = as_("dispatcher")
    if not equipment_id:
        equipment_id = env["maintenance.equipment"].search([("crowd_customer_id", "!=", False)], limit=1)[0]
    if not site_id:
        equipment = env["maintenance.equipment"].read([equipment_id], ["crowd_site_id", "crowd_customer_id"])[0]
        site_id = (equipment["crowd_site_id"] or equipment["crowd_customer_id"])[0]
    site = env["res.partner"].read([site_id], ["partner_latitude", "partner_longitude"])[0]
    lat, lon = site["partner_latitude"], site["partner_longitude"]
    request_id = env["maintenance.request"].create(
        {
            "name": "Door does not close (API example)",
            "equipment_id": equipment_id,
            "priority": "3",
            "maintenance_type": "corrective",
            "crowd_site_id": site_id,
            "crowd_latitude": lat,
            "crowd_longitude": lon,
        }
    )
    job_id = env["maintenance.request"].read([request_id], ["crowd_job_id"])[0]["crowd_job_id"][0]
    env["crowd.job"].action_dispatch_now([job_id])
    job = env["crowd.job"].read([job_id], ["name", "state", "offer_count"])[0]
    log(f"request {request_id}: visit {job['name']} dispatched, {job['offer_count']} offer(s), {job['state']}")

    # 2. the expert: their pending offer for this visit, accepted; then the visit on site
    env = as_("expert")
    offers = env["crowd.dispatch.offer"].search([("job_id", "=", job_id), ("state", "=", "pending")])
    if not offers:
        raise RuntimeError(f"the expert has no pending offer for {job['name']}: check the demo rule and positions")
    env["crowd.dispatch.offer"].action_accept(offers[:1])
    Job = env["crowd.job"]
    Job.action_en_route([job_id], 25)
    Job.action_check_in([job_id], lat, lon)
    Job.action_report([job_id], "<p>Door operator realigned, end switch replaced.</p>", [])
    Job.action_complete([job_id], "End switch replaced")
    log(f"visit {job['name']}: {env['crowd.job'].read([job_id], ['state'])[0]['state']}, report written")

    # 3. the customer rates the visit
    env = as_("customer")
    env["crowd.job"].action_rate([job_id], 5, "Fast and tidy, thank you.")
    log("customer rated the visit 5/5")

    # 4. finance: the payout is submitted and approved, billed, and the bill posted
    env = as_("finance")
    Payout = env["crowd.payout"]
    payout_id = Payout.search([("job_id", "=", job_id)])[0]
    if Payout.read([payout_id], ["state"])[0]["state"] == "draft":
        Payout.action_submit([payout_id])
    Payout.action_approve([payout_id])
    Wizard = env["crowd.payout.bill.wizard"]
    Wizard.action_create_bills([Wizard.create({"payout_ids": [(6, 0, [payout_id])]})])
    bill_id = Payout.read([payout_id], ["move_id"])[0]["move_id"][0]
    if env["account.move"].read([bill_id], ["state"])[0]["state"] == "draft":
        env["account.move"].action_post([bill_id])  # unless the company posts bills at once
    bill = env["account.move"].read([bill_id], ["name", "state", "amount_total"])[0]
    state = Payout.read([payout_id], ["state"])[0]["state"]
    log(f"payout {payout_id}: {state}, vendor bill {bill['name']} {bill['state']} ({bill['amount_total']})")
    return {"request": request_id, "job": job_id, "payout": payout_id, "bill": bill_id}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8069)
    parser.add_argument("--db", default="crowd")
    args = parser.parse_args()
    run(args.host, args.port, args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
