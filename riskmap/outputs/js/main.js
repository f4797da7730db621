// riskmapCompact(map, meta, base64Data, texts, layerControl): the page's call (outputs/html.py). Inflates the data,
// puts the zone layers, the facilities and the zone under the mouse on the map, answers the mouse, adds the filter
// and search boxes, and gives the page's handle map.riskmap.compact (for scripts and tests). Returns
// map.riskmap.ready, a promise of all that.
/* global Dom, Inflate, Columns, Mercator, Facilities, Overview, Zones, Popups, Controls, Layers, Mouse */
/* exported riskmapCompact */
var riskmapCompact = (function () {
    'use strict';

    function start(map, meta, b64, T, control) {
        var R = map.riskmap;
        // Data that cannot be inflated (a copy cut short or altered) says so on the map; an error in build() is a
        // bug, left to reject R.ready so that it reaches the console.
        R.ready = Inflate.inflate(b64).then(null, function () { return null; }).then(function (buf) {
            if (buf === null) {
                map.getContainer().appendChild(Dom.el('div', 'riskmap-box riskmap-message', T.damaged));
                return;
            }
            var page = open(map, meta, T, Columns.open(buf, meta.layout));
            show(page, control);
            Mouse.listen(page);
            R.compact = handle(page, Controls.add(page));
        });
        return R.ready;
    }

    // The page: its data decoded (fac, zones), what the filters show (filter, shown), its layers (facilityLayer,
    // zoneCanvas: [{layer, spec}], sensitivity, highlight), and what is where (see finders).
    function open(map, meta, T, reader) {
        var o = Mercator.origin(meta.origin), classes = Layers.define(map, o), levels = meta.levels;
        var fac = Facilities.decode(reader, meta.facilities, o);
        var filter = {levels: levels.map(function () { return true; }), sector: -1, town: -1};
        var shown = Facilities.filterOf(fac, filter);
        var zones = meta.zones.map(function (Z, index) { return Zones.open(reader, Z, index, o); });
        var zoneCanvas = Layers.zoneLayers(classes, zones, reader, meta, T);
        var page = {
            map: map, meta: meta, T: T, o: o, levels: levels, fac: fac, filter: filter, shown: shown, zones: zones,
            zoneCanvas: zoneCanvas, sensitivity: zoneCanvas.sensitivity,
            facilityLayer: new classes.Facility({
                pane: meta.pane, fac: fac, shown: shown, levels: levels, pointLimit: meta.pointLimit
            }),
            highlight: new classes.Highlight({pane: meta.highlightPane, className: 'riskmap-highlight'})
        };
        return finders(page);
    }

    // The layers on the map and in the layer control: zones first, then the zone under the mouse (its pane is
    // over every zone layer's, under the facilities'), then the facilities.
    function show(page, control) {
        var map = page.map;
        page.zoneCanvas.forEach(function (zc) {
            if (zc.spec.show) { zc.layer.addTo(map); }
            control.addOverlay(zc.layer, zc.spec.label);
        });
        page.highlight.addTo(map);
        page.facilityLayer.addTo(map);
        control.addOverlay(page.facilityLayer, page.T.facility_layer);
        // Leaflet names the control's button in English ("Layers"): in the page's language.
        var toggle = control.getContainer() && control.getContainer().querySelector('.leaflet-control-layers-toggle');
        if (toggle) {
            toggle.title = page.T.layers;
            toggle.setAttribute('aria-label', page.T.layers);
        }
    }

    // What is under a point of the map: circleAt, facilityAt (container pixels), zoneHit (lat/lng: {layer, f});
    // what a zone's popup says (zoneContent); a facility's position and popup (latLngOf, openFacility).
    function finders(page) {
        var map = page.map, fac = page.fac, facilityLayer = page.facilityLayer, sensitivity = page.sensitivity;
        page.circleAt = function (point) {
            return map.hasLayer(facilityLayer) ? Overview.at(facilityLayer.bubbles || [], point) : null;
        };
        page.facilityAt = function (point) {
            if (!map.hasLayer(facilityLayer) || facilityLayer.overview) { return -1; }  // the overview draws none
            return Facilities.nearest(fac, Mercator.view(map, page.o), point, map.containerPointToLatLng(point),
                                      page.shown);
        };
        page.zoneHit = function (latlng) {
            var lon = Math.round(latlng.lng * 1e6), lat = Math.round(latlng.lat * 1e6);
            var scale = 256 * Math.pow(2, map.getZoom());
            for (var k = page.zoneCanvas.length - 1; k >= 0; k--) {
                var layer = page.zoneCanvas[k].layer;
                if (layer.options.sensitivity || !map.hasLayer(layer) || !layer.active()) { continue; }
                var f = Zones.at(layer.options.zone, lon, lat, scale, page.o);
                if (f >= 0) { return {layer: layer, f: f}; }
            }
            return null;
        };
        page.zoneContent = function (layer, f) {
            var z = layer.options.zone, T = page.T, more = [];
            if (layer.options.workload && z.props.workload) { more.push([T.workload, z.props.workload.get(f)]); }
            if (sensitivity && z === sensitivity.options.zone && map.hasLayer(sensitivity) &&
                    sensitivity.changedAt[f] >= 0) {
                var k = sensitivity.changedAt[f];
                more.push([page.meta.sensitivity.range, sensitivity.props.range.get(k)]);
                more.push([page.meta.sensitivity.by, sensitivity.props.by.get(k)]);
            }
            return Popups.zone(z, f, T, page.levels, more);
        };
        page.latLngOf = function (i) { return [fac.latI[i] / 1e6, fac.lonI[i] / 1e6]; };
        page.openFacility = function (i) {
            var content = Popups.facility(fac, i, page.meta.popup, page.levels);
            L.popup({maxWidth: 380}).setLatLng(page.latLngOf(i)).setContent(content).openOn(map);
        };
        return page;
    }

    // map.riskmap.compact: the layers, the filter, the search, and a facility by row (for scripts and tests).
    function handle(page, ui) {
        var fac = page.fac, map = page.map;
        return {
            n: fac.n, facilityLayer: page.facilityLayer, zoneLayers: page.zoneCanvas, filter: page.filter,
            apply: ui.apply, countShown: ui.countShown, search: ui.search, goTo: ui.goTo,
            row: function (i) {  // a facility as a row in FACILITY_ROW order (the page's row contract)
                return page.meta.row.map(function (f) {
                    if (f === 'lat') { return fac.latI[i] / 1e6; }
                    if (f === 'lon') { return fac.lonI[i] / 1e6; }
                    return fac.fields[f] ? fac.fields[f].get(i) : null;
                });
            },
            find: function (id) {
                var ids = Columns.everyRow(fac.fields.id);
                for (var i = 0; i < fac.n; i++) { if (ids(i) === id) { return i; } }
                return -1;
            },
            pointOf: function (i) { return map.latLngToContainerPoint(page.latLngOf(i)); }
        };
    }

    return start;
}());
