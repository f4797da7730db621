// Layers: the map's Leaflet layers, each a canvas the size of the map redrawn after every move: the facilities
// (dots, or the overview's circles), a zone layer, and the zone under the mouse.
/* global Mercator, Facilities, Overview, Zones */
/* exported Layers */
var Layers = (function () {
    'use strict';

    var HIGHLIGHT_WEIGHT = 3;  // px: the outline of the zone under the mouse ...
    var HIGHLIGHT_FILL = 0.75; // ... and its fill's opacity (as folium's GeoJSON highlight had it)

    // The canvas layer of one map whose data's world origin is o: options pane, className (besides
    // riskmap-canvas); a subclass draws with draw(ctx, view).
    function canvasClass(map, o) {
        return L.Layer.extend({
            initialize: function (options) { L.setOptions(this, options); },
            onAdd: function () {
                var cls = 'leaflet-zoom-hide riskmap-canvas' + (this.options.className ? ' ' + this.options.className : '');
                this._canvas = L.DomUtil.create('canvas', cls);
                this._canvas.style.position = 'absolute';
                this._canvas.style.pointerEvents = 'none';
                map.getPane(this.options.pane).appendChild(this._canvas);
                map.on('moveend resize', this.redraw, this);
                this.redraw();
            },
            onRemove: function () {
                L.DomUtil.remove(this._canvas);
                map.off('moveend resize', this.redraw, this);
            },
            redraw: function () {
                if (!this._map) { return; }
                var v = Mercator.view(map, o);
                var c = this._canvas, ratio = window.devicePixelRatio || 1;
                L.DomUtil.setPosition(c, v.topLeft);
                c.width = Math.round(v.size.x * ratio);
                c.height = Math.round(v.size.y * ratio);
                c.style.width = v.size.x + 'px';
                c.style.height = v.size.y + 'px';
                var ctx = c.getContext('2d');
                ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
                this.draw(ctx, v);
            }
        });
    }

    // The facilities: options fac (Facilities.decode), shown(i), levels, pointLimit. After a draw: overview
    // (circles drawn instead of dots), bubbles (the circles), target (the level they count, -1 for none).
    function facilityClass(Canvas) {
        return Canvas.extend({
            draw: function (ctx, v) {
                var opt = this.options, limit = Overview.dotLimit(v, opt.pointLimit), agg = null;
                if (Facilities.countIn(opt.fac, v.bounds) > limit) {
                    agg = Overview.aggregate(opt.fac, v, opt.shown, opt.levels.length);
                }
                this.overview = agg !== null && agg.total > limit;
                this.bubbles = this.overview ? Overview.circles(agg, v) : [];
                this.target = this.overview ? agg.target : -1;
                if (this.overview) {
                    Overview.draw(ctx, this.bubbles, opt.levels);
                } else {
                    Facilities.draw(ctx, v, opt.fac, opt.shown, opt.levels);
                }
                if (this.onDrawn) { this.onDrawn(); }
            }
        });
    }

    // A zone layer: options zone (Zones.open), classOf(f) -> palette index, palette [[fill, stroke]], weight,
    // fillOpacity, dash, minZoom / maxZoom (drawn only in between), workload / sensitivity (the kind of layer).
    function zoneClass(Canvas, map) {
        return Canvas.extend({
            active: function () {
                var zoom = map.getZoom(), opt = this.options;
                return zoom >= opt.minZoom && zoom < opt.maxZoom;
            },
            draw: function (ctx, v) {
                if (!this.active()) { return; }
                this._paths = this._paths || [];
                Zones.draw(ctx, v, this.options, this._paths);
            }
        });
    }

    // The zone under the mouse (show({layer, f}) or show(null)): filled a little stronger and outlined wider over
    // its layer.
    function highlightClass(Canvas) {
        return Canvas.extend({
            show: function (hit) {
                var same = hit && this.hit && hit.layer === this.hit.layer && hit.f === this.hit.f;
                if (same || (!hit && !this.hit)) { return; }
                this.hit = hit;
                this.redraw();
            },
            draw: function (ctx, v) {
                var hit = this.hit;
                if (!hit || !hit.layer.active()) { return; }
                var opt = hit.layer.options, s = v.scale, colours = opt.palette[opt.classOf(hit.f)];
                var p = Zones.addFeature(new Path2D(), opt.zone.setAt(s), hit.f), ratio = window.devicePixelRatio || 1;
                ctx.setTransform(ratio * s, 0, 0, ratio * s, ratio * v.dx, ratio * v.dy);
                ctx.lineJoin = 'round';
                if (colours[0]) {
                    // Over the layer's own fill: 1 - (1 - fillOpacity) * (1 - a) = HIGHLIGHT_FILL.
                    ctx.globalAlpha = 1 - (1 - HIGHLIGHT_FILL) / (1 - opt.fillOpacity);
                    ctx.fillStyle = colours[0];
                    ctx.fill(p, 'evenodd');
                }
                ctx.globalAlpha = 0.9;
                ctx.strokeStyle = colours[1];
                ctx.lineWidth = HIGHLIGHT_WEIGHT / s;
                ctx.stroke(p);
                ctx.globalAlpha = 1;
                ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
            }
        });
    }

    // The layer classes of one map whose data's world origin is o.
    function define(map, o) {
        var Canvas = canvasClass(map, o);
        return {Facility: facilityClass(Canvas), Zone: zoneClass(Canvas, map), Highlight: highlightClass(Canvas)};
    }

    // [{layer, spec (label, show)}]: a Zone layer per zone layer of meta (finest first), the workload layer (the
    // finest zones shaded by inspections planned, off at first), the sensitivity layer (dashed outlines over the
    // finest zones some variant changes; their variants join the zone's popup: changedAt, props). The list's
    // sensitivity is that layer, or null.
    function zoneLayers(classes, zones, reader, meta, T) {
        var out = [], specs = meta.zoneLayers;
        function palette() { return meta.levels.map(function (l) { return [l.color, l.outline]; }); }
        zones.forEach(function (z, k) {
            var spec = specs[k];
            out.push({spec: spec, layer: new classes.Zone({
                pane: 'overlayPane', zone: z, palette: palette(), weight: spec.weight, fillOpacity: 0.6,
                classOf: function (f) { return z.level[f]; }, minZoom: spec.minZoom, maxZoom: spec.maxZoom
            })});
        });
        if (meta.workload !== null) {
            var wz = zones[meta.workload];
            var purples = meta.workloadColours.map(function (c) { return [c, '#3F007D']; });
            purples.push(['#FFFFFF', '#3F007D']);
            out.push({spec: {label: T.workload_layer, show: false}, layer: new classes.Zone({
                pane: 'overlayPane', zone: wz, palette: purples, weight: 0.6, fillOpacity: 0.75, workload: true,
                classOf: function (f) { return wz.wclass[f] === 255 ? 5 : wz.wclass[f]; }, minZoom: -1, maxZoom: 99
            })});
        }
        out.sensitivity = null;
        if (meta.sensitivity && zones.length) {
            var sz = zones[0], changedAt = new Int32Array(sz.meta.n).fill(-1);
            reader.array('s.zones').forEach(function (f, k) { changedAt[f] = k; });
            var layer = new classes.Zone({
                pane: 'overlayPane', zone: sz, palette: [[null, '#000000']], weight: 2.5, dash: [6, 4],
                fillOpacity: 0, classOf: function (f) { return changedAt[f] >= 0 ? 0 : -1; },
                minZoom: specs[0].minZoom, maxZoom: 99, sensitivity: true
            });
            layer.changedAt = changedAt;
            layer.props = reader.texts(meta.sensitivity.props);
            out.push({spec: {label: meta.sensitivity.label, show: true}, layer: layer});
            out.sensitivity = layer;
        }
        return out;
    }

    return {define: define, zoneLayers: zoneLayers};
}());
