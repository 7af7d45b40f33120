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

// The expert's phone loses its connection on the job page: the app's service worker has kept the page,
// "I am on my way" is saved on the phone (not sent), and sent exactly once when the phone is back online.
// The connection is cut the way the page sees it (the browser's online flag and its events); the service
// worker and the server are real.
function setOnline(online) {
    Object.defineProperty(navigator, "onLine", { configurable: true, get: () => online });
    window.dispatchEvent(new Event(online ? "online" : "offline"));
}

registry.category("web_tour.tours").add("crowd_offline_queue_tour", {
    steps: () => [
        {
            trigger: ".o_crowd_job .o_crowd_en_route",
            content: "the job page, online: the app's service worker takes control of it",
            async run() {
                const registration = await navigator.serviceWorker.ready;
                if (!registration.active) {
                    throw new Error("the service worker is not active");
                }
                if (!navigator.serviceWorker.controller) {
                    await new Promise((resolve) =>
                        navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true })
                    );
                }
                window.location.reload(); // this time through the service worker, which keeps the page
            },
        },
        {
            trigger: ".o_crowd_job .o_crowd_en_route",
            content: "the page is kept for offline reading; the connection drops",
            async run() {
                const cache = await caches.open("crowd-expert-v1");
                if (!(await cache.match(window.location.href, { ignoreSearch: true }))) {
                    throw new Error("the job page was not kept for offline reading");
                }
                setOnline(false);
            },
        },
        { trigger: ".o_crowd_offline_banner:not(.d-none) .o_crowd_offline_text:contains(You are offline)" },
        { trigger: ".o_crowd_job input[name=eta_minutes]", run: "edit 15" },
        { trigger: ".o_crowd_job .o_crowd_en_route", run: "click" },
        {
            trigger: ".o_crowd_offline_banner .o_crowd_offline_text:contains(Saved on this phone)",
            content: "saved on the phone, not sent: the page still offers to go",
            run() {
                const queue = JSON.parse(localStorage.getItem("crowd_offline_queue") || "[]");
                if (queue.length !== 1 || queue[0].action !== "en_route" || queue[0].values.eta_minutes !== "15") {
                    throw new Error(`unexpected queue: ${JSON.stringify(queue)}`);
                }
                if (!document.querySelector(".o_crowd_job .o_crowd_en_route")) {
                    throw new Error("the form was sent while offline");
                }
                setOnline(true);
            },
        },
        { trigger: ".o_crowd_job_state:contains(En Route)", content: "sent when back online; the page is reloaded" },
        {
            trigger: ".o_crowd_offline_notices li:contains(what you did offline reached us)",
            run() {
                if (JSON.parse(localStorage.getItem("crowd_offline_queue") || "[]").length) {
                    throw new Error("the action is still queued");
                }
            },
        },
    ],
});

// A report with a photo, written offline on site: the text is queued, the photo kept on the phone (IndexedDB),
// and both sent together once back online.
// a 1×1 PNG, as the phone's camera would give a file
const PNG_1PX =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

registry.category("web_tour.tours").add("crowd_offline_report_tour", {
    steps: () => [
        {
            trigger: ".o_crowd_report_form textarea[name=notes]",
            content: "on site; the connection drops",
            run() {
                setOnline(false);
            },
        },
        { trigger: ".o_crowd_offline_banner:not(.d-none) .o_crowd_offline_text:contains(You are offline)" },
        { trigger: ".o_crowd_report_form textarea[name=notes]", run: "edit Bearing replaced, belt tensioned" },
        {
            trigger: ".o_crowd_report_form input[name=photos]",
            content: "a photo from the camera",
            run() {
                const bytes = Uint8Array.from(atob(PNG_1PX), (c) => c.charCodeAt(0));
                const transfer = new DataTransfer();
                transfer.items.add(new File([bytes], "bearing.png", { type: "image/png" }));
                document.querySelector(".o_crowd_report_form input[name=photos]").files = transfer.files;
            },
        },
        { trigger: ".o_crowd_report_form button[type=submit]", run: "click" },
        {
            trigger: ".o_crowd_offline_banner .o_crowd_offline_text:contains(Saved on this phone)",
            content: "the text queued, the photo kept on the phone",
            async run() {
                const queue = JSON.parse(localStorage.getItem("crowd_offline_queue") || "[]");
                if (queue.length !== 1 || queue[0].action !== "report" || queue[0].photo_count !== 1) {
                    throw new Error(`unexpected queue: ${JSON.stringify(queue)}`);
                }
                if (this.anchor.textContent.includes("could not be kept")) {
                    throw new Error("the photo was not kept");
                }
                // the photo is written to IndexedDB asynchronously: wait until it is there
                const db = await new Promise((resolve, reject) => {
                    const opening = indexedDB.open("crowd_offline", 1);
                    opening.onsuccess = () => resolve(opening.result);
                    opening.onerror = () => reject(opening.error);
                });
                for (let attempt = 0; attempt < 50; attempt++) {
                    const kept = await new Promise((resolve) => {
                        const request = db.transaction("photos").objectStore("photos").get(queue[0].key);
                        request.onsuccess = () => resolve(request.result);
                        request.onerror = () => resolve(null);
                    });
                    if (kept?.length === 1 && kept[0].name === "bearing.png") {
                        break;
                    }
                    if (attempt === 49) {
                        throw new Error("the photo is not kept on the phone");
                    }
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
                db.close();
                setOnline(true);
            },
        },
        { trigger: ".o_crowd_report:contains(Bearing replaced) li:contains(bearing.png)", content: "sent with its photo" },
        { trigger: ".o_crowd_offline_notices li:contains(what you did offline reached us)" },
    ],
});
