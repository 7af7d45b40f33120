"""Take a screenshot of an Odoo page as a logged-in user, with headless Chromium.

Usage: python3 scripts/screenshot.py URL OUT.png --login admin --password admin
       [--width 1280] [--height 800] [--wait 4] [--clip x,y,w,h] [--element CSS] [--eval JS]
       [--chromium /usr/bin/chromium]

--element crops the picture to the first element matching the CSS selector, whole (also below the fold):
e.g. ``--element "#wrap"`` keeps the page's content without the site's header and footer.

Logs in through /web/session/authenticate, hands the session cookie to Chromium over the
DevTools protocol (websocket-client), opens URL and saves a PNG. Used for the README images.
"""

import argparse
import base64
import json
import socket
import subprocess
import tempfile
import time
import urllib.request
from urllib.parse import urlparse

import websocket


def login(base, db, user, password):
    body = json.dumps({"jsonrpc": "2.0", "params": {"db": db, "login": user, "password": password}}).encode()
    req = urllib.request.Request(f"{base}/web/session/authenticate", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        for header in resp.headers.get_all("Set-Cookie") or []:
            if header.startswith("session_id="):
                return header.split(";")[0].split("=", 1)[1]
    raise SystemExit("login failed: no session cookie")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--db", default=None)
    ap.add_argument("--login", default="admin")
    ap.add_argument("--password", default="admin")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--wait", type=float, default=4.0)
    ap.add_argument("--clip", default=None, help="x,y,w,h in CSS pixels")
    ap.add_argument("--element", default=None, help="crop to the first element matching this CSS selector")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--eval", default=None, help="JavaScript to run once the page has loaded (e.g. open a tab)")
    args = ap.parse_args()
    parts = urlparse(args.url)
    base = f"{parts.scheme}://{parts.netloc}"
    session = login(base, args.db, args.login, args.password)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    profile = tempfile.mkdtemp(prefix="crowd-shot-")
    flags = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        f"--remote-debugging-port={port}",
        f"--user-data-dir={profile}",
        f"--window-size={args.width},{args.height}",
        "about:blank",
    ]
    proc = subprocess.Popen([args.chromium, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as resp:
                    targets = [t for t in json.load(resp) if t["type"] == "page"]
                if targets:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        ws = websocket.create_connection(targets[0]["webSocketDebuggerUrl"], timeout=60)
        counter = iter(range(1, 10**6))

        def call(method, **params):
            msg_id = next(counter)
            ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == msg_id:
                    return msg.get("result", {})

        call("Network.enable")
        call("Network.setCookie", name="session_id", value=session, domain=parts.hostname, path="/")
        call(
            "Emulation.setDeviceMetricsOverride",
            width=args.width,
            height=args.height,
            deviceScaleFactor=1,
            mobile=args.width < 500,
        )
        call("Page.enable")
        call("Page.navigate", url=args.url)
        time.sleep(args.wait)
        if args.eval:
            call("Runtime.evaluate", expression=args.eval)
            time.sleep(1.5)
        params = {"format": "png"}
        if args.element:
            selector = json.dumps(args.element)
            expression = (
                f"(() => {{ const el = document.querySelector({selector}); if (!el) {{ return null; }}"
                " const r = el.getBoundingClientRect();"
                " return [r.x + window.scrollX, r.y + window.scrollY, r.width, r.height]; })()"
            )
            box = call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")
            if not box:
                raise SystemExit(f"no element matches {args.element}")
            args.clip = ",".join(str(v) for v in box)
            params["captureBeyondViewport"] = True
        if args.clip:
            x, y, w, h = (float(v) for v in args.clip.split(","))
            params["clip"] = {"x": x, "y": y, "width": w, "height": h, "scale": 1}
        data = call("Page.captureScreenshot", **params)["data"]
        with open(args.out, "wb") as fh:
            fh.write(base64.b64decode(data))
        print(args.out)
    finally:
        proc.kill()


if __name__ == "__main__":
    main()
