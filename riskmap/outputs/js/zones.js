// Zones: a zone layer's rings (one copy per simplification, html_compact.zone_columns), bounding boxes, the copy
// a zoom draws, the zone under a point, and the layer drawn from Path2D objects built once per copy, class and
// spatial bucket in world units: a redraw only sets the transform and fills the buckets in view (no per-vertex
// JavaScript), which keeps a pan or zoom over 40,000 villages within a frame budget.
/* global Mercator */
/* exported Zones */
var Zones = (function () {
    'use strict';

    var BUCKETS = 16;  // buckets per side of the layer's extent

    // [west, south, east, north] of each feature in micro-degrees (not shipped: the page is smaller without them),
    // from the coarsest copy of the rings, widened by the layer's margin measured in Python (how far the exact
    // outlines reach beyond the coarsest): the finest copy (millions of vertices for real boundaries) is then only
    // decoded when a zoom needs it.
    function boxes(reader, Z) {
        var k = Z.sets.length - 1, n = Z.n, set = Z.sets[k], pad = Z.bboxPad;
        var d = reader.array(set.xy), rings = reader.array(set.rings), feats = reader.array(set.feats);
        var bb = new Int32Array(4 * n), x = 0, y = 0, i = 0, empty = false;
        for (var f = 0; f < n; f++) {
            var x0 = 2147483647, y0 = 2147483647, x1 = -2147483648, y1 = -2147483648;
            for (var end = 2 * rings[feats[f + 1]]; i < end; i += 2) {
                x += d[i]; y += d[i + 1];
                if (x < x0) { x0 = x; } if (x > x1) { x1 = x; }
                if (y < y0) { y0 = y; } if (y > y1) { y1 = y; }
            }
            empty = empty || x0 > x1;
            bb[4 * f] = x0 - pad; bb[4 * f + 1] = y0 - pad; bb[4 * f + 2] = x1 + pad; bb[4 * f + 3] = y1 + pad;
        }
        // A zone simplified away entirely (should not happen with coverage_simplify): use the finest copy.
        return empty && k > 0 ? boxes(reader, {sets: [Z.sets[0]], bboxPad: 2, n: n}) : bb;
    }

    // One copy of the rings as world offsets from origin o (Float32), with its ring and feature starts.
    function decodeSet(reader, set, o) {
        var d = reader.array(set.xy), xy = new Float32Array(d.length), x = 0, y = 0;
        for (var k = 0; k < d.length; k += 2) {
            x += d[k]; y += d[k + 1];
            xy[k] = Mercator.x(x) - o.x; xy[k + 1] = Mercator.y(y) - o.y;
        }
        return {xy: xy, rings: reader.array(set.rings), feats: reader.array(set.feats)};
    }

    // The coarsest copy whose tolerance (degrees) stays under about one pixel at this scale.
    function setIndex(tolerances, scale) {
        var k = 0;
        tolerances.forEach(function (t, i) { if (t * scale / 360 <= 0.8) { k = i; } });
        return k;
    }

    // A zone layer of meta.zones (Z, the index-th): levels, texts, bounding boxes; set(k) decodes copy k on first
    // use (the finest only when someone zooms in that far).
    function open(reader, Z, index, o) {
        var z = {
            meta: Z, index: index, sets: [], bbox: boxes(reader, Z), level: reader.array(Z.prefix + '.level'),
            props: reader.texts(Z.props), wclass: Z.workload ? reader.array(Z.prefix + '.wclass') : null
        };
        z.set = function (k) { return z.sets[k] || (z.sets[k] = decodeSet(reader, Z.sets[k], o)); };
        z.setAt = function (scale) { return z.set(setIndex(Z.tolerances, scale)); };
        return z;
    }

    // Each feature's bucket of a BUCKETS × BUCKETS grid over the layer (by its box's centre), and each bucket's box.
    function buckets(z) {
        if (z.buckets) { return z.buckets; }
        var n = z.meta.n, bb = z.bbox, of = new Uint16Array(n), box = [];
        var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, f;
        for (f = 0; f < n; f++) {
            x0 = Math.min(x0, bb[4 * f]); y0 = Math.min(y0, bb[4 * f + 1]);
            x1 = Math.max(x1, bb[4 * f + 2]); y1 = Math.max(y1, bb[4 * f + 3]);
        }
        var w = (x1 - x0) / BUCKETS || 1, h = (y1 - y0) / BUCKETS || 1;
        for (f = 0; f < n; f++) {
            var bx = Math.min(BUCKETS - 1, Math.floor(((bb[4 * f] + bb[4 * f + 2]) / 2 - x0) / w));
            var by = Math.min(BUCKETS - 1, Math.floor(((bb[4 * f + 1] + bb[4 * f + 3]) / 2 - y0) / h));
            var b = by * BUCKETS + bx;
            of[f] = b;
            var r = box[b] || (box[b] = [Infinity, Infinity, -Infinity, -Infinity]);
            r[0] = Math.min(r[0], bb[4 * f]); r[1] = Math.min(r[1], bb[4 * f + 1]);
            r[2] = Math.max(r[2], bb[4 * f + 2]); r[3] = Math.max(r[3], bb[4 * f + 3]);
        }
        z.buckets = {of: of, box: box};
        return z.buckets;
    }

    // The features of each bucket, so that a bucket's paths can be built when it first comes into view.
    function bucketMembers(z) {
        if (z.members) { return z.members; }
        var of = buckets(z).of, members = [];
        for (var f = 0; f < z.meta.n; f++) { (members[of[f]] || (members[of[f]] = [])).push(f); }
        z.members = members;
        return members;
    }

    // Every ring of feature f of a copy, added to path p (world offsets).
    function addFeature(p, set, f) {
        var xy = set.xy, rings = set.rings;
        for (var r = set.feats[f]; r < set.feats[f + 1]; r++) {
            var a = rings[r], e = rings[r + 1];
            p.moveTo(xy[2 * a], xy[2 * a + 1]);
            for (var k = a + 1; k < e; k++) { p.lineTo(xy[2 * k], xy[2 * k + 1]); }
            p.closePath();
        }
        return p;
    }

    // [class]: one Path2D of every ring of bucket b's zones of that class (classOf(f) < 0: not drawn). Built per
    // bucket in view: real boundaries carry millions of vertices, and building every bucket at the first
    // street-level zoom froze the page for seconds.
    function bucketPaths(z, set, classOf, nClasses, b) {
        var row = new Array(nClasses), list = bucketMembers(z)[b] || [];
        for (var m = 0; m < list.length; m++) {
            var c = classOf(list[m]);
            if (c < 0) { continue; }
            addFeature(row[c] || (row[c] = new Path2D()), set, list[m]);
        }
        return row;
    }

    // Whether a box ([west, south, east, north], micro-degrees) meets bounds (degrees).
    function boxInView(r, b) {
        return !(r[0] > b.east * 1e6 || r[2] < b.west * 1e6 || r[1] > b.north * 1e6 || r[3] < b.south * 1e6);
    }

    // Draw layer options o (zone, classOf, palette [[fill, stroke]], weight, fillOpacity, dash) in view v;
    // paths[copy][bucket] caches the Path2D objects built so far.
    function draw(ctx, v, o, paths) {
        var z = o.zone, s = v.scale, k = setIndex(z.meta.tolerances, s);
        var built = paths[k] || (paths[k] = []);
        var box = buckets(z).box, ratio = window.devicePixelRatio || 1;
        for (var bb = 0; bb < box.length; bb++) {
            if (box[bb] && !built[bb] && boxInView(box[bb], v.bounds)) {
                built[bb] = bucketPaths(z, z.set(k), o.classOf, o.palette.length, bb);
            }
        }
        ctx.setTransform(ratio * s, 0, 0, ratio * s, ratio * v.dx, ratio * v.dy);
        ctx.lineJoin = 'round';
        ctx.lineWidth = o.weight / s;
        ctx.setLineDash(o.dash ? o.dash.map(function (d) { return d / s; }) : []);
        for (var c = 0; c < o.palette.length; c++) {
            ctx.fillStyle = o.palette[c][0] || 'transparent';
            ctx.strokeStyle = o.palette[c][1];
            for (var b = 0; b < built.length; b++) {
                var p = built[b] && built[b][c];
                if (!p || !boxInView(box[b], v.bounds)) { continue; }
                if (o.palette[c][0]) {
                    ctx.globalAlpha = o.fillOpacity;
                    ctx.fill(p, 'evenodd');
                }
                ctx.globalAlpha = 0.9;
                ctx.stroke(p);
            }
        }
        ctx.globalAlpha = 1;
        ctx.setLineDash([]);
        ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    }

    // Whether the point (world offsets x, y) is inside feature f of a copy: the even-odd rule over its rings.
    function inside(set, f, x, y) {
        var xy = set.xy, rings = set.rings, hit = false;
        for (var r = set.feats[f]; r < set.feats[f + 1]; r++) {
            for (var a = rings[r], b = rings[r + 1], i = a, j = b - 1; i < b; j = i++) {
                var xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
                if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { hit = !hit; }
            }
        }
        return hit;
    }

    // The zone of layer z at (lon, lat) in micro-degrees on the copy drawn at this scale (what the user sees), the
    // last drawn (topmost) first; -1 if none. o: the world origin.
    function at(z, lon, lat, scale, o) {
        var set = z.setAt(scale), x = Mercator.x(lon) - o.x, y = Mercator.y(lat) - o.y, bb = z.bbox;
        for (var f = z.meta.n - 1; f >= 0; f--) {
            if (lon < bb[4 * f] || lon > bb[4 * f + 2] || lat < bb[4 * f + 1] || lat > bb[4 * f + 3]) { continue; }
            if (inside(set, f, x, y)) { return f; }
        }
        return -1;
    }

    return {
        boxes: boxes, decodeSet: decodeSet, setIndex: setIndex, open: open, buckets: buckets,
        addFeature: addFeature, boxInView: boxInView, draw: draw, inside: inside, at: at
    };
}());
