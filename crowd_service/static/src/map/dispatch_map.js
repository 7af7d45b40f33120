/** @odoo-module **/
/* global L, luxon */

import { Component, onMounted, onWillStart, onWillUnmount, useRef, useState } from "@odoo/owl";
import { loadCSS, loadJS } from "@web/core/assets";
import { formatDateTime as formatUserDateTime } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

const { DateTime } = luxon;
const LEAFLET = "/crowd_service/static/lib/leaflet";
// day routes, by their color_index
const ROUTE_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
const DEFAULT_VIEW = { center: [46.8, 8.2], zoom: 7 };

/**
 * The dispatcher's map: jobs coloured by state (size and ring by priority), experts online or offline,
 * the day's routes (numbered stops) and the coverage cells. Data from crowd.job.crowd_map_data.
 */
export class DispatchMap extends Component {
    static template = "crowd_service.DispatchMap";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.mapRef = useRef("map");
        this.state = useState({
            // a day given by the caller (the route form's "Show on Map"), else today
            date: this.props.action?.context?.crowd_map_date || null,
            data: null,
            layers: { jobs: true, experts: true, routes: true, cells: false },
            cellMode: "median",
        });
        onWillStart(async () => {
            await Promise.all([loadJS(`${LEAFLET}/leaflet.js`), loadCSS(`${LEAFLET}/leaflet.css`)]);
            await this.load();
        });
        onMounted(() => this.initMap());
        onWillUnmount(() => {
            if (this.map) {
                this.map.remove();
            }
        });
    }

    get layerChoices() {
        return [
            { key: "jobs", label: _t("Jobs") },
            { key: "experts", label: _t("Experts") },
            { key: "routes", label: _t("Routes") },
            { key: "cells", label: _t("Coverage") },
        ];
    }

    get counts() {
        const data = this.state.data;
        return _t("%(jobs)s jobs, %(experts)s experts, %(routes)s routes", {
            jobs: data.jobs.length,
            experts: data.experts.length,
            routes: data.routes.length,
        });
    }

    get truncatedText() {
        return _t("Only the first %(limit)s of each kind are shown", { limit: this.state.data.limit });
    }

    get cellsNote() {
        const { days, cell_km } = this.state.data.cells;
        return _t("Last %(days)s days, cells of %(km)s km", { days, km: cell_km });
    }

    async load() {
        const data = await this.orm.call("crowd.job", "crowd_map_data", [], { date: this.state.date });
        this.state.data = data;
        this.state.date = data.date;
    }

    initMap() {
        const { tile } = this.state.data;
        this.map = L.map(this.mapRef.el, { zoomControl: true });
        L.tileLayer(tile.url, { maxZoom: 19, attribution: tile.attribution }).addTo(this.map);
        this.groups = {
            cells: L.layerGroup(),
            routes: L.layerGroup(),
            jobs: L.layerGroup(),
            experts: L.layerGroup(),
        };
        // opened for a route's day: show its routes; else everything
        this.draw(this.props.action?.context?.crowd_map_date ? "routes" : true);
    }

    /**
     * Draw the layers; ``fit``: true fits the view to every item, "routes" to the day's routes (to every item
     * when there is no route and the map has no view yet), false keeps the view.
     */
    draw(fit = false) {
        const data = this.state.data;
        for (const group of Object.values(this.groups)) {
            group.clearLayers();
        }
        const points = [];
        const routePoints = [];
        for (const cell of data.cells.items) {
            const color = this.state.cellMode === "missed" ? cell.miss_color : cell.color;
            L.rectangle(cell.bounds, {
                color,
                weight: 1,
                fillColor: color,
                fillOpacity: 0.35,
                className: "o_crowd_map_cell",
            })
                .bindPopup(() => this.cellPopup(cell))
                .addTo(this.groups.cells);
        }
        const usedColors = new Set();
        data.routes.forEach((route, index) => {
            // the technician's own colour, unless another route of the day has it already
            let slot = (route.color_index ?? index) % ROUTE_COLORS.length;
            for (let k = 0; k < ROUTE_COLORS.length && usedColors.has(slot); k++) {
                slot = (slot + 1) % ROUTE_COLORS.length;
            }
            usedColors.add(slot);
            const color = ROUTE_COLORS[slot];
            const path = route.path && route.path.length ? route.path : route.stops.map((s) => [s.lat, s.lon]);
            if (path.length > 1) {
                L.polyline(path, { color, weight: 4, opacity: 0.8, className: "o_crowd_map_route" })
                    .bindPopup(() => this.popup(route.technician, [], "crowd.route", route.route_id))
                    .addTo(this.groups.routes);
            }
            route.stops.forEach((stop, position) => {
                const icon = L.divIcon({
                    className: "o_crowd_map_stop",
                    html: `<span style="background:${color}">${position + 1}</span>`,
                    iconSize: [22, 22],
                });
                const lines = [route.technician];
                if (stop.eta) {
                    lines.push(_t("ETA: %(eta)s", { eta: this.formatDateTime(stop.eta) }));
                }
                if (stop.locked) {
                    lines.push(_t("Locked"));
                }
                L.marker([stop.lat, stop.lon], { icon, zIndexOffset: 500 })
                    .bindPopup(() => this.popup(stop.name, lines, "crowd.job", stop.job_id))
                    .addTo(this.groups.routes);
                points.push([stop.lat, stop.lon]);
                routePoints.push([stop.lat, stop.lon]);
            });
        });
        for (const job of data.jobs) {
            L.circleMarker([job.lat, job.lon], {
                radius: job.radius,
                color: job.urgent ? "#6a0000" : "#ffffff",
                weight: job.urgent ? 3 : 1.5,
                fillColor: job.color,
                fillOpacity: 0.9,
                className: `o_crowd_map_job o_crowd_map_job_${job.state}`,
            })
                .bindPopup(() => this.jobPopup(job))
                .addTo(this.groups.jobs);
            points.push([job.lat, job.lon]);
        }
        for (const expert of data.experts) {
            const icon = L.divIcon({
                className: `o_crowd_map_expert_icon ${expert.online ? "o_online" : "o_offline"}`,
                html: '<i class="fa fa-user"></i>',
                iconSize: [22, 22],
            });
            const lines = [expert.online ? _t("Online") : _t("Offline"), expert.kind_label, expert.tier_label];
            L.marker([expert.lat, expert.lon], { icon })
                .bindPopup(() => this.popup(expert.name, lines, "res.partner", expert.id))
                .addTo(this.groups.experts);
            points.push([expert.lat, expert.lon]);
        }
        this.applyLayers();
        if (fit === "routes" && routePoints.length) {
            this.map.fitBounds(routePoints, { padding: [40, 40], maxZoom: 13 });
            this.hasView = true;
        } else if (fit === true || (fit === "routes" && !this.hasView)) {
            if (points.length) {
                this.map.fitBounds(points, { padding: [30, 30], maxZoom: 13 });
            } else {
                this.map.setView(DEFAULT_VIEW.center, DEFAULT_VIEW.zoom);
            }
            this.hasView = true;
        }
    }

    applyLayers() {
        for (const [key, group] of Object.entries(this.groups)) {
            if (this.state.layers[key]) {
                group.addTo(this.map);
            } else {
                group.remove();
            }
        }
    }

    formatDateTime(value) {
        // naive UTC "YYYY-MM-DD HH:MM:SS" (job fields) or ISO-8601 with its offset (route stop ETAs)
        const parsed = value.includes("T") ? DateTime.fromISO(value) : DateTime.fromSQL(value, { zone: "utc" });
        return parsed.isValid ? formatUserDateTime(parsed, { showSeconds: false }) : value;
    }

    /** A popup as DOM nodes (text only, never HTML from data) with a link to the record. */
    popup(title, lines, model, resId) {
        const root = document.createElement("div");
        root.className = "o_crowd_map_popup";
        const head = document.createElement("strong");
        head.textContent = title || "";
        root.append(head);
        for (const line of lines) {
            if (line) {
                const div = document.createElement("div");
                div.textContent = line;
                root.append(div);
            }
        }
        if (model && resId) {
            const link = document.createElement("a");
            link.href = "#";
            link.className = "o_crowd_map_open d-block mt-1";
            link.textContent = _t("Open");
            link.addEventListener("click", (ev) => {
                ev.preventDefault();
                this.action.doAction({
                    type: "ir.actions.act_window",
                    res_model: model,
                    res_id: resId,
                    views: [[false, "form"]],
                    target: "current",
                });
            });
            root.append(link);
        }
        return root;
    }

    jobPopup(job) {
        const lines = [
            job.request,
            job.customer,
            `${job.state_label} · ${job.priority_label}`,
            job.expert ? _t("Expert: %(name)s", { name: job.expert }) : "",
            job.sla_deadline ? _t("SLA: %(deadline)s", { deadline: this.formatDateTime(job.sla_deadline) }) : "",
        ];
        return this.popup(job.name, lines, "crowd.job", job.id);
    }

    cellPopup(cell) {
        const lines = [
            _t("%(count)s visits, %(on_site)s on site", { count: cell.jobs, on_site: cell.on_site }),
            cell.median_min !== null
                ? _t("Median time to door: %(minutes)s min", { minutes: cell.median_min })
                : _t("Nobody on site yet"),
            cell.urgent
                ? _t("Urgent: %(missed)s of %(urgent)s missed 60 min", { missed: cell.missed, urgent: cell.urgent })
                : _t("No urgent visit"),
        ];
        return this.popup(_t("Area %(key)s", { key: cell.key }), lines);
    }

    async onDateChange(ev) {
        if (!ev.target.value) {
            return;
        }
        this.state.date = ev.target.value;
        await this.load();
        // another day: show its routes when it has some, else keep the view
        this.draw("routes");
    }

    onToggleLayer(key) {
        this.state.layers[key] = !this.state.layers[key];
        this.applyLayers();
    }

    onCellMode(ev) {
        this.state.cellMode = ev.target.value;
        this.draw(false);
    }

    openCoverage() {
        this.action.doAction("crowd_service.action_crowd_coverage_report");
    }

    openRecruiting() {
        this.action.doAction("crowd_service.action_crowd_recruit_wizard");
    }
}

registry.category("actions").add("crowd_service.dispatch_map", DispatchMap);
