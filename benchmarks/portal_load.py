"""Portal load: N logged-in experts and customers on their main portal pages, at the same time.

Runs against an Odoo that is already serving a database with the three addons (and demo data), through
the setup the README documents: Odoo with workers and its gevent port behind the reverse proxy of
deploy/nginx.conf (`docker compose up`). Loopback only: the script refuses any other host.

    python3 benchmarks/portal_load.py --url http://127.0.0.1:8069 --db crowd --users 100 --duration 60

1. As admin (JSON-RPC), it makes sure USERS portal users exist: half experts (``load.expert.N``), half
   customer contacts of one customer company (``load.customer.N``), password ``load``. Re-runs reuse them.
2. Every user logs in first (``/web/session/authenticate``, off the clock: a password check is
   deliberately slow), then all of them loop over their main pages at once: an expert over
   /my, /my/offers, /my/jobs and /my/crowd/profile, a customer over /my, /my/service and
   /my/service/new, with a think time drawn uniformly in [THINK_MIN, THINK_MAX] seconds between two pages
   (a person reading a phone screen, not a flood). The first WARMUP seconds are not counted.
3. It prints the number of requests, the throughput, p50/p95/p99 of the page time (first byte to last
   byte, client side) and the errors: any status other than 200, a page that fell back to the login
   form (lost session), a connection error or a timeout.

Targets (issue #12): 100 users, p95 < 500 ms, 0 errors.
"""

import argparse
import ipaddress
import json
import random
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import requests

EXPERT_PAGES = ("/my", "/my/offers", "/my/jobs", "/my/crowd/profile")
CUSTOMER_PAGES = ("/my", "/my/service", "/my/service/new")
PASSWORD = "load"
MAX_USERS = 500


def loopback_only(url):
    host = urlparse(url).hostname or ""
    for info in socket.getaddrinfo(host, None):
        if not ipaddress.ip_address(info[4][0]).is_loopback:
            raise SystemExit(f"{url}: not a loopback address ({info[4][0]}); this benchmark only runs on loopback")


class Rpc:
    """A minimal JSON-RPC client (the web client's own endpoints)."""

    def __init__(self, url, db, login, password):
        self.url, self.session = url.rstrip("/"), requests.Session()
        self.call("/web/session/authenticate", {"db": db, "login": login, "password": password})

    def call(self, path, params):
        reply = self.session.post(
            self.url + path, json={"jsonrpc": "2.0", "method": "call", "params": params}, timeout=120
        ).json()
        if reply.get("error"):
            raise SystemExit(f"{path}: {json.dumps(reply['error'].get('data', reply['error']))[:500]}")
        return reply["result"]

    def kw(self, model, method, *args, **kwargs):
        return self.call(
            "/web/dataset/call_kw", {"model": model, "method": method, "args": list(args), "kwargs": kwargs}
        )


def ensure_users(rpc, count):
    """Logins of COUNT portal users (half experts, half customers), created when missing."""
    portal = rpc.kw("ir.model.data", "check_object_reference", "base", "group_portal")[1]
    customer = rpc.kw("res.partner", "search", [("name", "=", "Load Test Customer Ltd")], limit=1)
    if not customer:
        customer = [rpc.kw("res.partner", "create", {"name": "Load Test Customer Ltd", "is_company": True})]
    logins = []
    for i in range(count):
        expert = i % 2 == 0
        login = f"load.{'expert' if expert else 'customer'}.{i // 2}"
        logins.append((login, expert))
        if rpc.kw("res.users", "search", [("login", "=", login)], limit=1):
            continue
        if expert:
            partner = rpc.kw(
                "res.partner",
                "create",
                {
                    "name": f"Load Expert {i // 2}",
                    "email": f"{login}@load.example",
                    "is_crowd_expert": True,
                    "partner_latitude": 46.95 + random.uniform(-0.2, 0.2),
                    "partner_longitude": 7.45 + random.uniform(-0.2, 0.2),
                },
            )
        else:
            partner = rpc.kw(
                "res.partner",
                "create",
                {"name": f"Load Customer {i // 2}", "email": f"{login}@load.example", "parent_id": customer[0]},
            )
        rpc.kw(
            "res.users",
            "create",
            {
                "name": f"Load user {login}",
                "login": login,
                "password": PASSWORD,
                "partner_id": partner,
                "groups_id": [(6, 0, [portal])],
            },
        )
    return logins


class Recorder:
    def __init__(self, counted_from):
        self.lock = threading.Lock()
        self.counted_from = counted_from
        self.times, self.errors = [], {}

    def add(self, started, seconds, error):
        if started < self.counted_from:
            return
        with self.lock:
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1
            else:
                self.times.append(seconds)


def log_in(url, db, login, timeout):
    """A logged-in session of ``login`` (the users are logged in before the clock starts)."""
    session = requests.Session()
    reply = session.post(
        url + "/web/session/authenticate",
        json={"jsonrpc": "2.0", "params": {"db": db, "login": login, "password": PASSWORD}},
        timeout=timeout,
    ).json()
    if reply.get("error"):
        raise RuntimeError(f"{login}: {reply['error'].get('message')}")
    return session


def virtual_user(url, session, login, expert, until, think, recorder, timeout):
    pages = EXPERT_PAGES if expert else CUSTOMER_PAGES
    rng = random.Random(login)
    step = rng.randrange(len(pages))
    time.sleep(rng.uniform(0, think[1]))  # spread the first requests
    while time.monotonic() < until:
        page = pages[step % len(pages)]
        step += 1
        started = time.monotonic()
        error = None
        try:
            response = session.get(url + page, timeout=timeout, allow_redirects=True)
            if response.status_code != 200:
                error = f"HTTP {response.status_code}"
            elif "/web/login" in response.url:
                error = "session lost"
        except requests.RequestException as e:
            error = type(e).__name__
        recorder.add(started, time.monotonic() - started, error)
        time.sleep(rng.uniform(*think))


def percentile(values, q):
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", default="crowd")
    parser.add_argument("--admin-login", default="admin")
    parser.add_argument("--admin-password", default="admin")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds counted, after the warm-up")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--think-min", type=float, default=1.0)
    parser.add_argument("--think-max", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    if not 1 <= args.users <= MAX_USERS:
        raise SystemExit(f"--users must be between 1 and {MAX_USERS}")
    if not 0 <= args.think_min <= args.think_max:
        raise SystemExit("--think-min must be between 0 and --think-max")
    url = args.url.rstrip("/")
    loopback_only(url)

    admin = Rpc(url, args.db, args.admin_login, args.admin_password)
    logins = ensure_users(admin, args.users)
    # every user logs in first (a password check is deliberately slow), a few at a time, off the clock
    with ThreadPoolExecutor(max_workers=4) as pool:
        sessions = list(pool.map(lambda item: log_in(url, args.db, item[0], args.timeout), logins))
    start = time.monotonic()
    recorder = Recorder(start + args.warmup)
    until = start + args.warmup + args.duration
    threads = [
        threading.Thread(
            target=virtual_user,
            args=(url, session, login, expert, until, (args.think_min, args.think_max), recorder, args.timeout),
            daemon=True,
        )
        for (login, expert), session in zip(logins, sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.warmup + args.duration + 2 * args.timeout)

    times = sorted(recorder.times)
    errors = sum(recorder.errors.values())
    print(f"portal load: {args.users} users ({(args.users + 1) // 2} experts, {args.users // 2} customers) on {url}")
    print(f"  think time {args.think_min:g}-{args.think_max:g} s, {args.duration:g} s counted after {args.warmup:g} s")
    if not times:
        print(f"  no successful request; errors: {recorder.errors}")
        return 1
    print(f"  requests: {len(times) + errors} ({(len(times) + errors) / args.duration:.1f}/s)")
    print(
        f"  page time: p50 {percentile(times, 50) * 1000:.0f} ms, p95 {percentile(times, 95) * 1000:.0f} ms, "
        f"p99 {percentile(times, 99) * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms"
    )
    print(f"  errors: {errors}" + (f" {recorder.errors}" if errors else ""))
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
