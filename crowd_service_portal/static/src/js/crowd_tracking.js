import publicWidget from "@web/legacy/js/public/public_widget";

/* The customer's tracking page: a small map (Leaflet) of the site and the expert on the way, and the
 * live ETA, updated from the job's bus channel (subscribed after the server checked the session's access
 * or the page's access token) with no reload. A change of the visit's state reloads the page, which then
 * shows the new state in the customer's language. */

function formatTime(value) {
    // the server's UTC datetime, shown in the phone's time zone
    const date = new Date(value.replace(" ", "T") + "Z");
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

publicWidget.registry.CrowdTracking = publicWidget.Widget.extend({
    selector: ".o_crowd_tracking",

    start() {
        const data = JSON.parse(this.el.dataset.tracking || "{}");
        this.state = data.payload?.state;
        // the bus replays a channel's last notifications to a new subscriber: older than the page, they
        // are already in it (and a replayed state change must not reload it)
        this.renderedAt = data.payload?.sent_at || 0;
        this.site = data.site;
        this.tiles = data.tiles;
        this._setupMap(data.payload);
        this._onTracking = this._onTracking.bind(this);
        this.call("bus_service", "addChannel", data.channel);
        this.call("bus_service", "subscribe", "crowd_tracking", this._onTracking);
        return this._super(...arguments);
    },

    destroy() {
        this.call("bus_service", "unsubscribe", "crowd_tracking", this._onTracking);
        this.map?.remove();
        this._super(...arguments);
    },

    _text(selector) {
        return this.el.querySelector(selector)?.textContent.trim() || "";
    },

    _setupMap(payload) {
        const node = this.el.querySelector(".o_crowd_live_map");
        if (!node || !this.site || !window.L) {
            return;
        }
        const L = window.L;
        this.map = L.map(node, { zoomControl: false, attributionControl: false }).setView(
            [this.site.lat, this.site.lon],
            14
        );
        L.tileLayer(this.tiles, { maxZoom: 19 }).addTo(this.map);
        L.marker([this.site.lat, this.site.lon], { title: this._text(".o_crowd_text_site") }).addTo(this.map);
        this._moveExpert(payload?.expert);
    },

    _moveExpert(expert) {
        if (!this.map) {
            return;
        }
        const L = window.L;
        if (!expert) {
            this.expertMarker?.remove();
            this.expertMarker = null;
            return;
        }
        const where = [expert.lat, expert.lon];
        if (this.expertMarker) {
            this.expertMarker.setLatLng(where);
        } else {
            this.expertMarker = L.circleMarker(where, {
                radius: 9,
                color: "#ffffff",
                weight: 3,
                fillColor: "#017e84",
                fillOpacity: 1,
            })
                .bindTooltip(this._text(".o_crowd_text_expert"))
                .addTo(this.map);
        }
        this.map.fitBounds(L.latLngBounds([where, [this.site.lat, this.site.lon]]), {
            padding: [30, 30],
            maxZoom: 15,
        });
    },

    _onTracking(payload) {
        const data = JSON.parse(this.el.dataset.tracking || "{}");
        if (!payload || payload.job_id !== data.payload?.job_id) {
            return;
        }
        if ((payload.sent_at || 0) < this.renderedAt) {
            return;
        }
        this.renderedAt = payload.sent_at;
        if (payload.state !== this.state) {
            window.location.reload();
            return;
        }
        this.el.querySelector(".o_crowd_live_badge")?.classList.remove("d-none");
        if (payload.eta_min !== null && payload.eta_min !== undefined) {
            const minutes = this.el.querySelector(".o_crowd_live_eta_min");
            if (minutes) {
                minutes.textContent = String(payload.eta_min);
            }
            const at = this.el.querySelector(".o_crowd_live_eta_at");
            if (at && payload.eta_at) {
                at.textContent = formatTime(payload.eta_at);
            }
        }
        if (payload.recorded_at) {
            const updated = this.el.querySelector(".o_crowd_live_updated");
            if (updated) {
                updated.textContent = formatTime(payload.recorded_at);
                updated.closest(".o_crowd_live_updated_line")?.classList.remove("d-none");
            }
        }
        this._moveExpert(payload.expert);
    },
});

export default publicWidget.registry.CrowdTracking;
