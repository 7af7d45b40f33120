import { ConnectionLostError, rpc } from "@web/core/network/rpc";

/* The expert app on the phone (pages that carry the app's manifest link):
 * - registers the service worker (installable app, pages readable offline);
 * - sends the phone's position while online or on the way, with the expert's consent
 *   (at most every 30 s, and only after moving 100 m or 2 minutes later; the server limits too);
 * - queues the visit actions made offline (on my way, check-in, report, completion) and sends each
 *   exactly once when back online (an idempotency key per action; refused if the job changed).
 */

const QUEUE_KEY = "crowd_offline_queue";
const NOTICES_KEY = "crowd_offline_notices";
const LAST_POSITION_KEY = "crowd_last_position";
const MIN_INTERVAL_MS = 30 * 1000;
const MIN_MOVE_M = 100;
const HEARTBEAT_MS = 2 * 60 * 1000;
const ACTION_URL = /^\/my\/jobs\/(\d+)\/(en_route|check_in|report|complete)$/;
// a report's photos made offline are kept in IndexedDB (files, not text) and sent with its replay; the
// server takes at most 4 of 5 MB each (crowd.job MAX_OFFLINE_PHOTOS, MAX_OFFLINE_PHOTO_BYTES)
const PHOTO_DB = "crowd_offline";
const PHOTO_STORE = "photos";
const MAX_PHOTOS = 4;
const MAX_PHOTO_BYTES = 5 * 1024 * 1024;

function readJSON(storage, key, fallback) {
    try {
        return JSON.parse(storage.getItem(key)) ?? fallback;
    } catch {
        return fallback;
    }
}

function writeJSON(storage, key, value) {
    storage.setItem(key, JSON.stringify(value));
}

export function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function serverTime(date) {
    // the server's datetime format, UTC
    return date.toISOString().slice(0, 19).replace("T", " ");
}

function metersBetween(a, b) {
    const rad = Math.PI / 180;
    const dLat = (b.lat - a.lat) * rad;
    const dLon = (b.lon - a.lon) * rad;
    const h =
        Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
    return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

function text(selector) {
    return document.querySelector(selector)?.textContent.trim() || "";
}

// ---------------------------------------------------------------- banner
// the notices of the replay (sent, refused) shown on this page: they stay while the page is open
let pageNotices = [];

function showBanner(message) {
    const banner = document.querySelector(".o_crowd_offline_banner");
    if (!banner) {
        return;
    }
    const stored = readJSON(localStorage, NOTICES_KEY, []);
    if (stored.length) {
        // shown once: the next page starts clean
        pageNotices = pageNotices.concat(stored);
        localStorage.removeItem(NOTICES_KEY);
    }
    const list = banner.querySelector(".o_crowd_offline_notices");
    list.replaceChildren(
        ...pageNotices.map((notice) => {
            const item = document.createElement("li");
            item.textContent = notice;
            return item;
        })
    );
    banner.querySelector(".o_crowd_offline_text").textContent = message || "";
    banner.classList.toggle("d-none", !message && !pageNotices.length);
}

function refreshBanner() {
    const queued = readJSON(localStorage, QUEUE_KEY, []).length;
    if (!navigator.onLine) {
        showBanner(text(".o_crowd_text_offline"));
    } else if (queued) {
        showBanner(text(".o_crowd_text_queued"));
    } else {
        showBanner("");
    }
}

// ---------------------------------------------------------------- photos kept offline
function openPhotoDb() {
    return new Promise((resolve, reject) => {
        const opening = indexedDB.open(PHOTO_DB, 1);
        opening.onupgradeneeded = () => opening.result.createObjectStore(PHOTO_STORE);
        opening.onsuccess = () => resolve(opening.result);
        opening.onerror = () => reject(opening.error);
    });
}

async function withPhotoStore(mode, use) {
    const db = await openPhotoDb();
    try {
        return await new Promise((resolve, reject) => {
            const transaction = db.transaction(PHOTO_STORE, mode);
            const request = use(transaction.objectStore(PHOTO_STORE));
            transaction.oncomplete = () => resolve(request.result);
            transaction.onerror = () => reject(transaction.error);
            transaction.onabort = () => reject(transaction.error);
        });
    } finally {
        db.close();
    }
}

export const savePhotos = (key, photos) => withPhotoStore("readwrite", (store) => store.put(photos, key));
export const loadPhotos = (key) => withPhotoStore("readonly", (store) => store.get(key));
const dropPhotos = (key) => withPhotoStore("readwrite", (store) => store.delete(key)).catch(() => undefined);

function toBase64(blob) {
    return new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(blob);
    });
}

async function photosToSend(item) {
    if (!item.photo_count) {
        return [];
    }
    const kept = (await loadPhotos(item.key).catch(() => null)) || [];
    return Promise.all(kept.map(async (photo) => ({ name: photo.name, data: await toBase64(photo.blob) })));
}

// ---------------------------------------------------------------- offline queue
export function queueAction(form, match) {
    const live = document.querySelector(".o_crowd_live_job");
    if (!live || live.dataset.jobId !== match[1]) {
        return false;
    }
    const values = {};
    const files = [];
    for (const [name, value] of new FormData(form).entries()) {
        if (typeof value === "string") {
            if (name !== "csrf_token") {
                values[name] = value;
            }
        } else if (value && value.size) {
            files.push(value);
        }
    }
    const photos = files.filter((file) => file.size <= MAX_PHOTO_BYTES).slice(0, MAX_PHOTOS);
    const item = {
        key: newKey(),
        job_id: Number(match[1]),
        action: match[2],
        values,
        seen_state: live.dataset.state,
        seen_version: live.dataset.version,
        queued_at: serverTime(new Date()),
        photo_count: photos.length,
    };
    const queue = readJSON(localStorage, QUEUE_KEY, []);
    queue.push(item);
    writeJSON(localStorage, QUEUE_KEY, queue);
    const notice = (left) =>
        [text(".o_crowd_text_queued"), left ? text(".o_crowd_text_photos") : ""].filter(Boolean).join(" ");
    showBanner(notice(photos.length < files.length));
    if (photos.length) {
        savePhotos(
            item.key,
            photos.map((file) => ({ name: file.name, blob: file }))
        ).catch(() => {
            // this phone keeps no files offline: the report goes without them
            const later = readJSON(localStorage, QUEUE_KEY, []);
            for (const other of later) {
                if (other.key === item.key) {
                    other.photo_count = 0;
                }
            }
            writeJSON(localStorage, QUEUE_KEY, later);
            showBanner(notice(true));
        });
    }
    return true;
}

let replaying = false;

export async function replayQueue() {
    if (replaying || !navigator.onLine || !readJSON(localStorage, QUEUE_KEY, []).length) {
        return;
    }
    replaying = true;
    let applied = false;
    const notices = readJSON(localStorage, NOTICES_KEY, []);
    try {
        let queue = readJSON(localStorage, QUEUE_KEY, []);
        while (queue.length) {
            const item = queue[0];
            let answer;
            try {
                const { key, job_id, action, values, seen_state, seen_version, queued_at } = item;
                const photos = await photosToSend(item);
                answer = await rpc(
                    "/my/crowd/replay",
                    { key, job_id, action, values, seen_state, seen_version, queued_at, photos },
                    { silent: true }
                );
            } catch (error) {
                if (error instanceof ConnectionLostError) {
                    break; // still offline: the action stays queued
                }
                answer = { result: "refused", message: error.data?.message || error.message };
            }
            queue = readJSON(localStorage, QUEUE_KEY, []).filter((other) => other.key !== item.key);
            if (item.photo_count) {
                await dropPhotos(item.key);
            }
            if (answer.result === "applied") {
                applied = true;
                // the actions queued after this one, on the job as it was, continue from the new version
                for (const other of queue) {
                    if (
                        other.job_id === item.job_id &&
                        other.seen_state === item.seen_state &&
                        other.seen_version === item.seen_version
                    ) {
                        other.seen_state = answer.state;
                        other.seen_version = answer.version;
                    }
                }
            } else if (answer.message) {
                notices.push(answer.message);
            }
            writeJSON(localStorage, QUEUE_KEY, queue);
        }
    } finally {
        replaying = false;
    }
    if (applied) {
        notices.unshift(text(".o_crowd_text_sent"));
    }
    writeJSON(localStorage, NOTICES_KEY, notices);
    if (applied && document.querySelector(".o_crowd_live_job")) {
        window.location.reload(); // the job page shows the job as it is now
        return;
    }
    refreshBanner();
}

function onSubmit(ev) {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || navigator.onLine) {
        return;
    }
    const match = new URL(form.action, window.location.href).pathname.match(ACTION_URL);
    if (match && queueAction(form, match)) {
        ev.preventDefault();
    }
}

// ---------------------------------------------------------------- position
function watchPosition(state) {
    if (!state?.consent || !(state.online || state.jobs?.length) || !navigator.geolocation) {
        return;
    }
    navigator.geolocation.watchPosition(
        async (position) => {
            if (!navigator.onLine) {
                return;
            }
            const now = Date.now();
            const here = { lat: position.coords.latitude, lon: position.coords.longitude };
            const last = readJSON(sessionStorage, LAST_POSITION_KEY, null);
            if (last) {
                const elapsed = now - last.t;
                if (elapsed < MIN_INTERVAL_MS || (elapsed < HEARTBEAT_MS && metersBetween(last, here) < MIN_MOVE_M)) {
                    return;
                }
            }
            writeJSON(sessionStorage, LAST_POSITION_KEY, { ...here, t: now });
            try {
                const answer = await rpc(
                    "/my/crowd/position",
                    { latitude: here.lat, longitude: here.lon },
                    { silent: true }
                );
                if (answer && answer.recorded === false && answer.retry_after) {
                    // the server kept a position moments ago: try again when it takes one
                    writeJSON(sessionStorage, LAST_POSITION_KEY, {
                        ...here,
                        t: now - MIN_INTERVAL_MS + answer.retry_after * 1000,
                    });
                }
            } catch {
                sessionStorage.removeItem(LAST_POSITION_KEY);
            }
        },
        () => undefined,
        { enableHighAccuracy: true, maximumAge: 15000, timeout: 30000 }
    );
}

// ---------------------------------------------------------------- start
function start() {
    const manifest = document.querySelector("link[rel=manifest][data-crowd-sw]");
    if (!manifest) {
        return;
    }
    if ("serviceWorker" in navigator) {
        navigator.serviceWorker.register(manifest.dataset.crowdSw, { scope: "/my/" }).catch(() => undefined);
    }
    document.addEventListener("submit", onSubmit, true);
    window.addEventListener("online", () => {
        refreshBanner();
        replayQueue();
    });
    window.addEventListener("offline", refreshBanner);
    const stateNode = document.getElementById("crowd_live_expert");
    watchPosition(stateNode ? readJSON({ getItem: () => stateNode.textContent }, "state", null) : null);
    refreshBanner();
    replayQueue();
}

if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
} else {
    start();
}
