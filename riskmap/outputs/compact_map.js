// riskmap compact map: facilities and zones drawn on canvas from typed columns (see html_compact.py).
// Called as riskmapCompact(map, meta, base64Data, texts, layerControl). Every data string reaches the page
// through textContent (never innerHTML), so hostile names stay text.
function riskmapCompact(map, meta, b64, T, control) {
    'use strict';
    var R = map.riskmap;
    var LEVELS = meta.levels;  // [{key, label, color, outline}] in code order (red = 0 … none = 4)
    var POINT_LIMIT = meta.pointLimit;  // more facilities than this in view: counts per block instead of dots
    var PX_PER_DOT = 100;      // ... or more than one per 10 × 10 px of the map: dots that dense hide each other
    var BLOCK = 48;            // px: the overview counts facilities per block of this size
    var HIGHLIGHT_WEIGHT = 3;  // px: the outline of the zone under the mouse ...
    var HIGHLIGHT_FILL = 0.75; // ... and its fill's opacity

    function el(tag, cls, text, parent) {
        var e = document.createElement(tag);
        if (cls) { e.className = cls; }
        if (text !== undefined && text !== null) { e.textContent = text; }
        if (parent) { parent.appendChild(e); }
        return e;
    }
    function dot(code, parent) {
        var s = el('span', 'riskmap-dot', null, parent);
        s.style.background = LEVELS[code].color;
        s.style.borderColor = LEVELS[code].outline;
        return s;
    }
    function showMessage(msg) {
        var box = el('div', 'riskmap-box riskmap-message', msg);
        map.getContainer().appendChild(box);
    }

    function inflate(text) {
        var u8 = fromBase64(text);
        if (typeof DecompressionStream === 'undefined') {
            // An older browser (Chromium < 80, Firefox < 113, Safari < 16.4: intranet 360/QQ builds): the
            // inlined tiny-inflate (vendor/tiny-inflate.js), slower, on the DEFLATE data inside the gzip.
            return new Promise(function (resolve) { resolve(gunzip(u8)); });
        }
        var stream = new Blob([u8]).stream().pipeThrough(new DecompressionStream('gzip'));
        return new Response(stream).arrayBuffer();

        // RFC 1952: ID1 ID2 CM FLG, MTIME XFL OS (10 bytes), optional fields flagged in FLG, raw DEFLATE, then
        // CRC-32 and ISIZE (the inflated size mod 2^32: exact here, a tab cannot hold 4 GB). The CRC is checked
        // as DecompressionStream does (~0.13 s for 1M facilities), so a damaged copy says so instead of drawing
        // wrong points.
        function gunzip(gz) {
            var n = gz.length, p = 10, flg = gz[3];
            if (n < 18 || gz[0] !== 0x1f || gz[1] !== 0x8b || gz[2] !== 8) { throw new Error(T.damaged); }
            if (flg & 4) { p += 2 + (gz[p] | (gz[p + 1] << 8)); }  // FEXTRA: its length, then the field
            if (flg & 8) { while (p < n && gz[p++] !== 0) { /* FNAME, NUL-terminated */ } }
            if (flg & 16) { while (p < n && gz[p++] !== 0) { /* FCOMMENT, NUL-terminated */ } }
            if (flg & 2) { p += 2; }  // FHCRC
            var size = word(gz, n - 4);
            var out;
            try {
                out = riskmapInflateRaw(gz.subarray(p, n - 8), new Uint8Array(size));
            } catch (err) {
                throw new Error(T.damaged);
            }
            if (out.length !== size || crc32(out) !== word(gz, n - 8)) { throw new Error(T.damaged); }
            return out.buffer;
        }
        function word(b, at) {  // a little-endian uint32 of the gzip trailer
            return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
        }
        function crc32(bytes) {
            var table = new Int32Array(256), c, i, k, crc = -1;
            for (i = 0; i < 256; i++) {
                for (c = i, k = 0; k < 8; k++) { c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1; }
                table[i] = c;
            }
            for (i = 0; i < bytes.length; i++) { crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8); }
            return (crc ^ -1) >>> 0;
        }
    }

    function fromBase64(text) {
        // Native where the browser has it (Chromium 140+: 22 ms for 30 MB against 150 ms for atob and a loop).
        if (typeof Uint8Array.fromBase64 === 'function') { return Uint8Array.fromBase64(text); }
        var bin = atob(text);
        var u8 = new Uint8Array(bin.length);
        for (var i = 0; i < bin.length; i++) { u8[i] = bin.charCodeAt(i); }
        return u8;
    }

    // Data that cannot be inflated (a copy cut short or altered) says so on the map; an error in build() is a
    // bug, left to reject R.ready so that it reaches the console.
    R.ready = inflate(b64).then(null, function () { return null; }).then(function (buf) {
        if (buf === null) { showMessage(T.damaged); } else { build(buf); }
    });
    return R.ready;

    function build(buf) {
        var layout = meta.layout;
        var decoder = new TextDecoder('utf-8');
        function arr(name) {
            var l = layout[name];
            if (l[0] === 'Zig32') { return unzigzag(new Uint8Array(buf, l[1], 4 * l[2]), l[2]); }
            return new window[l[0] + 'Array'](buf, l[1], l[2]);
        }
        function unzigzag(b, n) {
            // Int32 steps stored zigzag-coded, byte plane by byte plane (html_compact.Columns.add_deltas).
            var out = new Int32Array(n);
            for (var i = 0; i < n; i++) {
                var u = b[i] | (b[n + i] << 8) | (b[2 * n + i] << 16) | (b[3 * n + i] << 24);
                out[i] = (u >>> 1) ^ -(u & 1);
            }
            return out;
        }
        function textColumn(d) {
            if (d.kind === 'dict') {
                var codes = arr(d.codes);
                var table = decoder.decode(arr(d.table)).split('\0');
                return {get: function (i) { return table[codes[i]]; }, table: table, codes: codes};
            }
            // A blob is split into strings only for a search (rows); a popup decodes just its row, from the
            // row starts found in one pass over the bytes (reasons of 1M facilities are ~120 MB as strings).
            var all = null, bytes = null, starts = null;
            function rows() { all = all || decoder.decode(arr(d.blob)).split('\0'); return all; }
            function rowStarts() {
                bytes = arr(d.blob);
                var k, m = 1;
                for (k = 0; k < bytes.length; k++) { if (bytes[k] === 0) { m++; } }
                starts = new Uint32Array(m + 1);
                for (k = 0, m = 1; k < bytes.length; k++) { if (bytes[k] === 0) { starts[m++] = k + 1; } }
                starts[m] = bytes.length + 1;
            }
            return {
                get: function (i) {
                    if (all) { return all[i]; }
                    if (!starts) { rowStarts(); }
                    return decoder.decode(bytes.subarray(starts[i], starts[i + 1] - 1));
                },
                rows: rows
            };
        }
        function texts(spec) {
            var out = {};
            for (var k in spec) { out[k] = textColumn(spec[k]); }
            return out;
        }
        // Web Mercator in world units (0..1), as Float32 offsets from the data's corner: exact to < 1 px at
        // zoom 19, and half the memory of Float64.
        var ORIGIN = meta.origin;  // micro-degrees [lon, lat]
        var OX = mercX(ORIGIN[0]), OY = mercY(ORIGIN[1]);
        function mercX(lonMicro) { return lonMicro / 360e6 + 0.5; }
        function mercY(latMicro) {
            var phi = Math.max(Math.min(latMicro / 1e6, 85.0511287798), -85.0511287798) * Math.PI / 180;
            return 0.5 - Math.log(Math.tan(Math.PI / 4 + phi / 2)) / (2 * Math.PI);
        }
        function view() {
            // Everything a redraw needs to turn world units into canvas pixels.
            var size = map.getSize();
            var topLeft = map.containerPointToLayerPoint([0, 0]);
            var origin = map.getPixelOrigin();
            var scale = 256 * Math.pow(2, map.getZoom());
            return {
                size: size, topLeft: topLeft, scale: scale,
                dx: OX * scale - origin.x - topLeft.x, dy: OY * scale - origin.y - topLeft.y,
                bounds: map.getBounds()
            };
        }

        // ---------------------------------------------------------------- canvas layer base
        var CanvasLayer = L.Layer.extend({
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
                var v = view();
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

        // ---------------------------------------------------------------- facilities
        var F = meta.facilities;
        var n = F.n;
        var g = F.grid, G = g.g;
        var cells = arr('f.cells');
        var level = arr('f.level');
        var lonI = new Int32Array(n), latI = new Int32Array(n);
        var fx = new Float32Array(n), fy = new Float32Array(n);
        (function decode() {
            var dl = arr('f.lon'), dt = arr('f.lat'), x = 0, y = 0;
            for (var i = 0; i < n; i++) {
                x += dl[i]; y += dt[i];
                lonI[i] = x; latI[i] = y;
                fx[i] = mercX(x) - OX; fy[i] = mercY(y) - OY;
            }
        })();
        var fields = texts(F.fields);
        var townCodes = layout['f.town'] ? arr('f.town') : null;
        var sectorDict = fields.sector && fields.sector.codes ? fields.sector : null;
        var filter = {levels: [true, true, true, true, true], sector: -1, town: -1};
        function shown(i) {
            return filter.levels[level[i]] && (filter.sector < 0 || sectorDict.codes[i] === filter.sector) &&
                (filter.town < 0 || townCodes[i] === filter.town);
        }
        function cellRange(v, pad) {
            // Grid rows and columns in view: each row of cells is one contiguous range of facilities.
            var b = v.bounds;
            var cx0 = Math.floor(((b.getWest() - pad) * 1e6 - g.x0) / g.cw);
            var cx1 = Math.floor(((b.getEast() + pad) * 1e6 - g.x0) / g.cw);
            var cy0 = Math.floor(((b.getSouth() - pad) * 1e6 - g.y0) / g.ch);
            var cy1 = Math.floor(((b.getNorth() + pad) * 1e6 - g.y0) / g.ch);
            return [Math.max(cx0, 0), Math.min(cx1, G - 1), Math.max(cy0, 0), Math.min(cy1, G - 1)];
        }
        function eachInView(v, pad, fn) {
            var r = cellRange(v, pad);
            if (r[0] > r[1] || r[2] > r[3]) { return; }
            for (var cy = r[2]; cy <= r[3]; cy++) {
                var end = cells[cy * G + r[1] + 1];
                for (var i = cells[cy * G + r[0]]; i < end; i++) { fn(i); }
            }
        }
        function countInView(v) {
            var r = cellRange(v, 0), total = 0;
            for (var cy = r[2]; cy <= r[3] && r[0] <= r[1]; cy++) {
                total += cells[cy * G + r[1] + 1] - cells[cy * G + r[0]];
            }
            return total;
        }
        var FacilityLayer = CanvasLayer.extend({
            draw: function (ctx, v) {
                // Each facility, or (too many shown in view to tell apart) counts per block.
                var limit = Math.min(POINT_LIMIT, v.size.x * v.size.y / PX_PER_DOT);
                this.bubbles = [];
                this.target = -1;
                this.overview = countInView(v) > limit && this.aggregate(v) > limit;
                if (this.overview) { this.drawOverview(ctx, v); } else { this.drawEach(ctx, v); }
                if (this.onDrawn) { this.onDrawn(); }
            },
            aggregate: function (v) {
                // Shown facilities per level and BLOCK-px block of the world (not of the screen, so a pan does
                // not reshuffle them), with the blocks cut by the screen's edge counted whole; returns how many.
                var s = v.scale, dx = v.dx, dy = v.dy, L = LEVELS.length;
                var cx0 = Math.floor(-dx / BLOCK), cy0 = Math.floor(-dy / BLOCK);
                var bw = Math.floor((v.size.x - dx) / BLOCK) - cx0 + 1, bh = Math.floor((v.size.y - dy) / BLOCK) - cy0 + 1;
                var count = new Uint32Array(L * bw * bh), sx = new Float64Array(L * bw * bh);
                var sy = new Float64Array(L * bw * bh), total = 0;
                eachInView(v, BLOCK / s * 360, function (i) {
                    if (!shown(i)) { return; }
                    var x = fx[i] * s, y = fy[i] * s;
                    var bx = Math.floor(x / BLOCK) - cx0, by = Math.floor(y / BLOCK) - cy0;
                    if (bx < 0 || by < 0 || bx >= bw || by >= bh) { return; }
                    var k = (by * bw + bx) * L + level[i];
                    count[k]++; sx[k] += x; sy[k] += y; total++;
                });
                var target = -1;  // the most severe level shown in view: the one the circles count
                for (var k = 0; k < count.length; k++) {
                    if (count[k] && (target < 0 || k % L < target)) { target = k % L; }
                }
                this.agg = {count: count, sx: sx, sy: sy, bw: bw, cx0: cx0, cy0: cy0, L: L, target: target};
                return total;
            },
            drawEach: function (ctx, v) {
                // Few enough to draw each facility: one path per level, red drawn last (on top).
                var s = v.scale, dx = v.dx, dy = v.dy;
                var byLevel = [[], [], [], [], []];
                eachInView(v, 8 / s * 360, function (i) { if (shown(i)) { byLevel[level[i]].push(i); } });
                var radius = s > 256 * 8192 ? 5 : 4;
                for (var code = 4; code >= 0; code--) {
                    var list = byLevel[code];
                    if (!list.length) { continue; }
                    ctx.beginPath();
                    for (var k = 0; k < list.length; k++) {
                        var x = fx[list[k]] * s + dx, y = fy[list[k]] * s + dy;
                        ctx.moveTo(x + radius, y);
                        ctx.arc(x, y, radius, 0, 2 * Math.PI);
                    }
                    ctx.globalAlpha = 0.9;
                    ctx.fillStyle = LEVELS[code].color;
                    ctx.fill();
                    ctx.globalAlpha = 1;
                    ctx.lineWidth = 1;
                    ctx.strokeStyle = LEVELS[code].outline;
                    ctx.stroke();
                }
            },
            drawOverview: function (ctx, v) {
                // One circle per block with the count of the most severe level shown in view, kept inside its
                // block so that circles never overlap.
                var a = this.agg, target = a.target, dx = v.dx, dy = v.dy;
                this.target = target;
                if (target < 0) { return; }
                var colour = LEVELS[target];
                ctx.font = 'bold 11px sans-serif';
                ctx.textAlign = 'center';
                ctx.textBaseline = 'middle';
                for (var b = 0; b * a.L < a.count.length; b++) {
                    var k = b * a.L + target, c = a.count[k];
                    if (!c) { continue; }
                    var r = c === 1 ? 5 : Math.min(BLOCK / 2 - 2, 9 + 3 * Math.log10(c));
                    var left = (a.cx0 + b % a.bw) * BLOCK, top = (a.cy0 + Math.floor(b / a.bw)) * BLOCK;
                    var x = Math.min(Math.max(a.sx[k] / c, left + r + 1), left + BLOCK - r - 1) + dx;
                    var y = Math.min(Math.max(a.sy[k] / c, top + r + 1), top + BLOCK - r - 1) + dy;
                    ctx.beginPath();
                    ctx.arc(x, y, r, 0, 2 * Math.PI);
                    ctx.globalAlpha = 0.9;
                    ctx.fillStyle = colour.color;
                    ctx.fill();
                    ctx.globalAlpha = 1;
                    ctx.lineWidth = 1.5;
                    ctx.strokeStyle = '#FFFFFF';
                    ctx.stroke();
                    if (c > 1) {
                        ctx.fillStyle = target === 2 ? '#333333' : '#FFFFFF';
                        ctx.fillText(String(c), x, y + 0.5);
                    }
                    this.bubbles.push({x: x, y: y, r: r, n: c, level: target});
                }
            }
        });
        var facilityLayer = new FacilityLayer({pane: meta.pane});

        function facilityPopup(i) {
            var box = el('div', 'riskmap-popup');
            el('div', 'riskmap-popup-title', fields.name.get(i), box);
            var table = el('table', null, null, box);
            meta.popup.forEach(function (f) {
                var value = f[1] === 'level' ? null : fields[f[1]].get(i);
                if (f[1] !== 'level' && (value === '' || value === undefined)) { return; }
                var tr = el('tr', null, null, table);
                el('th', null, f[0], tr);
                var td = el('td', null, null, tr);
                if (f[1] === 'level') {
                    dot(level[i], td);
                    td.appendChild(document.createTextNode(LEVELS[level[i]].label));
                } else {
                    value.split('\n').forEach(function (line, k) {
                        if (k) { el('br', null, null, td); }
                        td.appendChild(document.createTextNode(line));
                    });
                }
            });
            return box;
        }
        function facilityTip(i) {
            // The mouse over a facility: its name, sector and level.
            var box = el('div');
            el('div', 'riskmap-popup-title', fields.name.get(i), box);
            if (fields.sector) { el('div', null, fields.sector.get(i), box); }
            var line = el('div', null, null, box);
            dot(level[i], line);
            line.appendChild(document.createTextNode(LEVELS[level[i]].label));
            return box;
        }
        function openFacility(i) {
            L.popup({maxWidth: 380}).setLatLng([latI[i] / 1e6, lonI[i] / 1e6])
                .setContent(facilityPopup(i)).openOn(map);
        }
        function facilityAt(containerPoint) {
            // The nearest shown facility within 8 px of the click, from the grid cells around it.
            var v = view(), s = v.scale, best = -1, bestD = 64;
            var r = 8 / s * 360, ll = map.containerPointToLatLng(containerPoint);
            var near = {bounds: L.latLngBounds([ll.lat - r, ll.lng - r], [ll.lat + r, ll.lng + r])};
            eachInView(near, 0, function (i) {
                if (!shown(i)) { return; }
                var ddx = fx[i] * s + v.dx - containerPoint.x, ddy = fy[i] * s + v.dy - containerPoint.y;
                var d = ddx * ddx + ddy * ddy;
                if (d < bestD || (d === bestD && best >= 0 && level[i] < level[best])) { best = i; bestD = d; }
            });
            return best;
        }

        // ---------------------------------------------------------------- zones
        function featureBoxes(Z) {
            // [west, south, east, north] of each feature in micro-degrees (not shipped: the page is smaller
            // without them), from the coarsest copy of the rings, widened by the layer's measured margin: the
            // finest copy (millions of vertices for real boundaries) is then only decoded when a zoom needs it.
            var k = Z.sets.length - 1, n = Z.n, set = Z.sets[k];
            var pad = Z.bboxPad;  // measured in Python: how far the exact outlines reach beyond the coarsest
            var d = arr(set.xy), rings = arr(set.rings), feats = arr(set.feats), bb = new Int32Array(4 * n);
            var x = 0, y = 0, i = 0, empty = false;
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
            return empty && k > 0 ? featureBoxes({sets: [Z.sets[0]], bboxPad: 2, n: n}) : bb;
        }
        function decodeSet(set) {
            // Rings in Web Mercator world units (Float32 offsets from the data's corner).
            var d = arr(set.xy), xy = new Float32Array(d.length), x = 0, y = 0;
            for (var k = 0; k < d.length; k += 2) {
                x += d[k]; y += d[k + 1];
                xy[k] = mercX(x) - OX; xy[k + 1] = mercY(y) - OY;
            }
            return {xy: xy, rings: arr(set.rings), feats: arr(set.feats)};
        }
        function setIndex(z, scale) {
            // The coarsest simplification whose tolerance stays under about one pixel at this scale.
            var k = 0;
            z.meta.tolerances.forEach(function (t, i) { if (t * scale / 360 <= 0.8) { k = i; } });
            return k;
        }
        function setAt(z, k) {
            // Decoded on first use: the finest copy only when someone zooms in that far.
            return z.sets[k] || (z.sets[k] = decodeSet(z.meta.sets[k]));
        }
        var zoneLayers = meta.zones.map(function (Z, index) {
            return {
                meta: Z, index: index, sets: [], bbox: featureBoxes(Z), level: arr(Z.prefix + '.level'),
                props: texts(Z.props), wclass: Z.workload ? arr(Z.prefix + '.wclass') : null
            };
        });
        // Zones are drawn from Path2D objects built once per simplification, class and spatial bucket, in
        // world units: a redraw only sets the transform and fills/strokes the buckets in view (no per-vertex
        // JavaScript), which keeps a pan or zoom over 40,000 villages within a frame budget.
        var BUCKETS = 16;
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
        function bucketMembers(z) {
            // The features of each bucket, so that a bucket's paths can be built when it first comes into view.
            if (z.members) { return z.members; }
            var of = buckets(z).of, members = [];
            for (var f = 0; f < z.meta.n; f++) { (members[of[f]] || (members[of[f]] = [])).push(f); }
            z.members = members;
            return members;
        }
        function bucketPaths(z, set, classOf, nClasses, b) {
            // [class]: one Path2D of every ring of bucket b's zones of that class. Built per bucket in view:
            // real boundaries carry millions of vertices, and building every bucket at the first street-level
            // zoom froze the page for seconds.
            var row = new Array(nClasses), list = bucketMembers(z)[b] || [];
            var xy = set.xy, rings = set.rings;
            for (var m = 0; m < list.length; m++) {
                var f = list[m];
                var c = classOf(f);
                if (c < 0) { continue; }  // not drawn by this layer (e.g. a zone no variant changes)
                var p = row[c] || (row[c] = new Path2D());
                for (var r = set.feats[f]; r < set.feats[f + 1]; r++) {
                    var a = rings[r], e = rings[r + 1];
                    p.moveTo(xy[2 * a], xy[2 * a + 1]);
                    for (var k = a + 1; k < e; k++) { p.lineTo(xy[2 * k], xy[2 * k + 1]); }
                    p.closePath();
                }
            }
            return row;
        }
        function boxInView(r, v) {
            var b = v.bounds;
            return !(r[0] > b.getEast() * 1e6 || r[2] < b.getWest() * 1e6 ||
                     r[1] > b.getNorth() * 1e6 || r[3] < b.getSouth() * 1e6);
        }
        var ZoneLayer = CanvasLayer.extend({
            // options: zone (decoded layer), classOf(f) -> palette index, palette [[fill, stroke]], weight,
            // minZoom/maxZoom (drawn only in between), popup kind
            active: function () {
                var zoom = map.getZoom(), o = this.options;
                return zoom >= o.minZoom && zoom < o.maxZoom;
            },
            draw: function (ctx, v) {
                if (!this.active()) { return; }
                var z = this.options.zone, s = v.scale, o = this.options;
                var k = setIndex(z, s);
                this._paths = this._paths || [];
                var paths = this._paths[k] || (this._paths[k] = []);
                var box = buckets(z).box, ratio = window.devicePixelRatio || 1;
                for (var bb = 0; bb < box.length; bb++) {
                    if (box[bb] && !paths[bb] && boxInView(box[bb], v)) {
                        paths[bb] = bucketPaths(z, setAt(z, k), o.classOf, o.palette.length, bb);
                    }
                }
                ctx.setTransform(ratio * s, 0, 0, ratio * s, ratio * v.dx, ratio * v.dy);
                ctx.lineJoin = 'round';
                ctx.lineWidth = o.weight / s;
                ctx.setLineDash(o.dash ? o.dash.map(function (d) { return d / s; }) : []);
                for (var c = 0; c < o.palette.length; c++) {
                    ctx.fillStyle = o.palette[c][0] || 'transparent';
                    ctx.strokeStyle = o.palette[c][1];
                    for (var b = 0; b < paths.length; b++) {
                        var p = paths[b] && paths[b][c];
                        if (!p || !boxInView(box[b], v)) { continue; }
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
        });
        function levelPalette() { return LEVELS.map(function (l) { return [l.color, l.outline]; }); }
        var Highlight = CanvasLayer.extend({
            // The zone under the mouse: filled a little stronger and outlined wider over its layer.
            show: function (hit) {
                var same = hit && this.hit && hit.layer === this.hit.layer && hit.f === this.hit.f;
                if (same || (!hit && !this.hit)) { return; }
                this.hit = hit;
                this.redraw();
            },
            draw: function (ctx, v) {
                var hit = this.hit;
                if (!hit || !hit.layer.active()) { return; }
                var o = hit.layer.options, z = o.zone, s = v.scale, f = hit.f, colours = o.palette[o.classOf(f)];
                var set = setAt(z, setIndex(z, s)), xy = set.xy, rings = set.rings, p = new Path2D();
                for (var r = set.feats[f]; r < set.feats[f + 1]; r++) {
                    p.moveTo(xy[2 * rings[r]], xy[2 * rings[r] + 1]);
                    for (var k = rings[r] + 1; k < rings[r + 1]; k++) { p.lineTo(xy[2 * k], xy[2 * k + 1]); }
                    p.closePath();
                }
                var ratio = window.devicePixelRatio || 1;
                ctx.setTransform(ratio * s, 0, 0, ratio * s, ratio * v.dx, ratio * v.dy);
                ctx.lineJoin = 'round';
                if (colours[0]) {
                    // Over the layer's own fill: 1 - (1 - fillOpacity) * (1 - a) = HIGHLIGHT_FILL.
                    ctx.globalAlpha = 1 - (1 - HIGHLIGHT_FILL) / (1 - o.fillOpacity);
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
        function inside(z, f, lon, lat) {
            // Even-odd rule over every ring of the feature, on the rings drawn at this zoom (what the user sees).
            var set = setAt(z, setIndex(z, 256 * Math.pow(2, map.getZoom())));
            var xy = set.xy, rings = set.rings, hit = false;
            var x = mercX(lon) - OX, y = mercY(lat) - OY;
            for (var r = set.feats[f]; r < set.feats[f + 1]; r++) {
                for (var a = rings[r], b = rings[r + 1], i = a, j = b - 1; i < b; j = i++) {
                    var xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
                    if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { hit = !hit; }
                }
            }
            return hit;
        }
        function zoneAt(layer, latlng) {
            var z = layer.options.zone, lon = Math.round(latlng.lng * 1e6), lat = Math.round(latlng.lat * 1e6);
            for (var f = z.meta.n - 1; f >= 0; f--) {
                var bb = z.bbox;
                if (lon < bb[4 * f] || lon > bb[4 * f + 2] || lat < bb[4 * f + 1] || lat > bb[4 * f + 3]) { continue; }
                if (inside(z, f, lon, lat)) { return f; }
            }
            return -1;
        }
        function zoneContent(layer, f) {
            var z = layer.options.zone, p = z.props, box = el('div', 'riskmap-popup');
            el('div', 'riskmap-popup-title', p.name.get(f), box);
            var table = el('table', null, null, box);
            function line(label, value, code) {
                var tr = el('tr', null, null, table);
                el('th', null, label, tr);
                var td = el('td', null, null, tr);
                if (code !== undefined) { dot(code, td); }
                td.appendChild(document.createTextNode(value));
            }
            line(T.zone_code, p.code.get(f));
            line(T.level, LEVELS[z.level[f]].label, z.level[f]);
            LEVELS.forEach(function (l) {
                if (p['n_' + l.key]) { line(T.n_level.replace('{label}', l.label), p['n_' + l.key].get(f)); }
            });
            if (p.hidden_dangers) { line(T.hidden_dangers, p.hidden_dangers.get(f)); }
            if (p.placed && p.placed.get(f)) { line(T.placed, p.placed.get(f)); }
            if (layer.options.workload && p.workload) { line(T.workload, p.workload.get(f)); }
            if (sensitivity && z === sensitivity.options.zone && map.hasLayer(sensitivity) &&
                    sensitivity.changedAt[f] >= 0) {
                var k = sensitivity.changedAt[f];
                line(meta.sensitivity.range, sensitivity.props.range.get(k));
                line(meta.sensitivity.by, sensitivity.props.by.get(k));
            }
            return box;
        }
        var zoneCanvas = [];
        var Zl = meta.zoneLayers;
        zoneLayers.forEach(function (z, k) {
            var spec = Zl[k];
            var layer = new ZoneLayer({
                pane: 'overlayPane', zone: z, palette: levelPalette(), weight: spec.weight, fillOpacity: 0.6,
                classOf: function (f) { return z.level[f]; }, minZoom: spec.minZoom, maxZoom: spec.maxZoom
            });
            zoneCanvas.push({layer: layer, spec: spec});
        });
        if (meta.workload !== null) {
            var wz = zoneLayers[meta.workload];
            var purples = meta.workloadColours.map(function (c) { return [c, '#3F007D']; });
            purples.push(['#FFFFFF', '#3F007D']);
            zoneCanvas.push({
                layer: new ZoneLayer({
                    pane: 'overlayPane', zone: wz, palette: purples, weight: 0.6, fillOpacity: 0.75, workload: true,
                    classOf: function (f) { return wz.wclass[f] === 255 ? 5 : wz.wclass[f]; }, minZoom: -1,
                    maxZoom: 99
                }),
                spec: {label: T.workload_layer, show: false}
            });
        }
        var sensitivity = null;
        if (meta.sensitivity && zoneLayers.length) {
            // Zones whose colour depends on a convention: dashed outlines over the finest zones, drawn where
            // those are; their variants join the zone's own popup.
            var S = meta.sensitivity, sz = zoneLayers[0], changedAt = new Int32Array(sz.meta.n).fill(-1);
            arr('s.zones').forEach(function (f, k) { changedAt[f] = k; });
            sensitivity = new ZoneLayer({
                pane: 'overlayPane', zone: sz, palette: [[null, '#000000']], weight: 2.5, dash: [6, 4],
                fillOpacity: 0, classOf: function (f) { return changedAt[f] >= 0 ? 0 : -1; },
                minZoom: Zl[0].minZoom, maxZoom: 99, sensitivity: true
            });
            sensitivity.changedAt = changedAt;
            sensitivity.props = texts(S.props);
            zoneCanvas.push({layer: sensitivity, spec: {label: S.label, show: true}});
        }
        zoneCanvas.forEach(function (zc) {
            if (zc.spec.show) { zc.layer.addTo(map); }
            control.addOverlay(zc.layer, zc.spec.label);
        });
        var highlight = new Highlight({pane: meta.highlightPane, className: 'riskmap-highlight'});
        highlight.addTo(map);  // its pane is over every zone layer's, under the facilities'
        facilityLayer.addTo(map);
        control.addOverlay(facilityLayer, T.facility_layer);

        function zoneHit(latlng) {
            for (var k = zoneCanvas.length - 1; k >= 0; k--) {
                var layer = zoneCanvas[k].layer;
                if (layer.options.sensitivity || !map.hasLayer(layer) || !layer.active()) { continue; }
                var f = zoneAt(layer, latlng);
                if (f >= 0) { return {layer: layer, f: f}; }
            }
            return null;
        }
        function bubbleAt(point) {
            if (!map.hasLayer(facilityLayer)) { return null; }
            var list = facilityLayer.bubbles || [];
            for (var k = 0; k < list.length; k++) {
                var b = list[k], ddx = b.x - point.x, ddy = b.y - point.y;
                if (ddx * ddx + ddy * ddy <= b.r * b.r) { return b; }
            }
            return null;
        }
        function bubbleText(b) {
            return T.bubble.replace('{label}', LEVELS[b.level].label).replace('{n}', String(b.n));
        }
        map.on('click', function (e) {
            var b = bubbleAt(e.containerPoint);
            if (b) {
                map.setView(map.containerPointToLatLng([b.x, b.y]), Math.min(map.getZoom() + 2, map.getMaxZoom()));
                return;
            }
            if (map.hasLayer(facilityLayer) && !facilityLayer.overview) {  // the overview draws no facility
                var i = facilityAt(e.containerPoint);
                if (i >= 0) { openFacility(i); return; }
            }
            var hit = zoneHit(e.latlng);
            if (hit) { L.popup({maxWidth: 380}).setLatLng(e.latlng).setContent(zoneContent(hit.layer, hit.f)).openOn(map); }
        });
        var tip = L.tooltip({sticky: true, direction: 'top', offset: [0, -6]});
        function showTip(latlng, content) {
            tip.setLatLng(latlng).setContent(content);
            if (!map.hasLayer(tip)) { map.openTooltip(tip); }
        }
        function hover(ev) {
            // What is under the mouse, most specific first: a circle of the overview, a facility, a zone.
            var b = bubbleAt(ev.containerPoint);
            var i = b || !map.hasLayer(facilityLayer) || facilityLayer.overview ? -1 : facilityAt(ev.containerPoint);
            var hit = b || i >= 0 ? null : zoneHit(ev.latlng);
            highlight.show(hit);
            if (b) { showTip(ev.latlng, el('div', null, bubbleText(b))); return true; }
            if (i >= 0) { showTip([latI[i] / 1e6, lonI[i] / 1e6], facilityTip(i)); return true; }
            if (!hit) { map.closeTooltip(tip); return false; }
            showTip(ev.latlng, zoneContent(hit.layer, hit.f));
            return true;
        }
        function leave() {
            map.closeTooltip(tip);
            highlight.show(null);
            map.getContainer().style.cursor = '';
        }
        var pending = null;
        map.on('mousemove', function (e) {
            if (pending) { pending = e; return; }
            pending = e;
            requestAnimationFrame(function () {
                var ev = pending;
                pending = null;
                if (!ev) { return; }  // the mouse left meanwhile
                map.getContainer().style.cursor = hover(ev) ? 'pointer' : '';
            });
        });
        map.on('mouseout', function () { pending = null; leave(); });

        // ---------------------------------------------------------------- filters
        var countEl, noteEl;
        function showNote() {
            // What the circles of the overview mean, while it is shown.
            var target = facilityLayer.target, on = map.hasLayer(facilityLayer) && facilityLayer.overview && target >= 0;
            noteEl.textContent = on ? T.overview_note.replace('{label}', LEVELS[target].label) : '';
            noteEl.style.display = on ? '' : 'none';
        }
        facilityLayer.onDrawn = function () { if (noteEl) { showNote(); } };
        map.on('overlayremove', function (e) { if (e.layer === facilityLayer && noteEl) { showNote(); } });
        function countShown() {
            var k = 0;
            for (var i = 0; i < n; i++) { if (shown(i)) { k++; } }
            return k;
        }
        function applyFilter() {
            countEl.textContent = T.shown.replace('{n}', String(countShown())).replace('{total}', String(n));
            facilityLayer.redraw();
        }
        var Filters = L.Control.extend({
            onAdd: function () {
                var box = el('div', 'riskmap-box riskmap-filters');
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                el('div', 'riskmap-legend-title', T.filter, box);
                LEVELS.forEach(function (l, code) {
                    if (!meta.levelCounts[code]) { return; }
                    var label = el('label', 'riskmap-filter-level', null, box);
                    var cb = el('input', null, null, label);
                    cb.type = 'checkbox';
                    cb.checked = true;
                    cb.setAttribute('data-level', l.key);
                    dot(code, label);
                    label.appendChild(document.createTextNode(l.label));
                    cb.addEventListener('change', function () { filter.levels[code] = cb.checked; applyFilter(); });
                });
                function select(cls, all, options, set) {
                    var s = el('select', cls, null, el('div', null, null, box));
                    el('option', null, all, s).value = '-1';
                    options.forEach(function (name, code) { el('option', null, name, s).value = String(code); });
                    s.addEventListener('change', function () { set(parseInt(s.value, 10)); applyFilter(); });
                }
                if (sectorDict) {
                    select('riskmap-filter-sector', T.all_sectors, sectorDict.table, function (c) { filter.sector = c; });
                }
                if (townCodes) {
                    select('riskmap-filter-town', T.all_towns, F.towns, function (c) { filter.town = c; });
                }
                countEl = el('div', 'riskmap-filter-count', null, box);
                countEl.textContent = T.shown.replace('{n}', String(n)).replace('{total}', String(n));
                noteEl = el('div', 'riskmap-overview-note', null, box);
                showNote();
                return box;
            }
        });
        new Filters({position: 'topright'}).addTo(map);

        // ---------------------------------------------------------------- search
        function everyRow(column) {
            // Row i of a column read for every row: a blob is split once instead of decoded row by row.
            if (!column.rows) { return column.get; }
            var all = column.rows();
            return function (i) { return all[i]; };
        }
        function search(q, limit) {
            var out = [];
            if (!q) { return out; }
            var qu = q.toUpperCase();
            var names = everyRow(fields.name), ids = everyRow(fields.id);
            for (var i = 0; i < n && out.length < limit; i++) {
                var nm = names(i), id = ids(i);
                if (nm.indexOf(q) >= 0 || id.indexOf(q) >= 0 || id.indexOf(qu) >= 0) {
                    out.push({kind: 'facility', i: i, text: nm + ' · ' + id});
                }
            }
            zoneLayers.forEach(function (z, k) {
                for (var f = 0; f < z.meta.n && out.length < limit + 10; f++) {
                    var zn = z.props.name.get(f), zc = z.props.code.get(f);
                    if (zn.indexOf(q) >= 0 || zc.indexOf(q) >= 0) {
                        out.push({kind: 'zone', layer: zoneCanvas[k].layer, f: f, text: zn + ' · ' + Zl[k].label});
                    }
                }
            });
            return out;
        }
        function goTo(hit) {
            if (hit.kind === 'facility') {
                if (!map.hasLayer(facilityLayer)) { facilityLayer.addTo(map); }
                var i = hit.i;
                map.setView([latI[i] / 1e6, lonI[i] / 1e6], Math.max(map.getZoom(), 16), {animate: false});
                openFacility(i);
                return;
            }
            var z = hit.layer.options.zone, bb = z.bbox, f = hit.f;
            var bounds = L.latLngBounds([bb[4 * f + 1] / 1e6, bb[4 * f] / 1e6], [bb[4 * f + 3] / 1e6, bb[4 * f + 2] / 1e6]);
            if (!map.hasLayer(hit.layer)) { hit.layer.addTo(map); }
            map.fitBounds(bounds, {maxZoom: Math.max(16, hit.layer.options.minZoom), animate: false});
            L.popup({maxWidth: 380}).setLatLng(bounds.getCenter()).setContent(zoneContent(hit.layer, f)).openOn(map);
        }
        var Search = L.Control.extend({
            onAdd: function () {
                var box = el('div', 'riskmap-box riskmap-search');
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                var input = el('input', 'riskmap-search-input', null, box);
                input.type = 'search';
                input.placeholder = T.search;
                var list = el('ul', 'riskmap-search-results', null, box);
                var timer = null;
                input.addEventListener('input', function () {
                    clearTimeout(timer);
                    timer = setTimeout(function () {
                        list.textContent = '';
                        var q = input.value.trim();
                        if (!q) { return; }
                        var hits = search(q, 20);
                        if (!hits.length) { el('li', 'riskmap-search-none', T.not_found, list); }
                        hits.forEach(function (hit) {
                            var li = el('li', 'riskmap-search-hit', hit.text, list);
                            li.addEventListener('click', function () { goTo(hit); });
                        });
                    }, 150);
                });
                return box;
            }
        });
        new Search({position: 'topleft'}).addTo(map);

        R.compact = {
            n: n, facilityLayer: facilityLayer, zoneLayers: zoneCanvas, filter: filter, apply: applyFilter,
            countShown: countShown, search: search, goTo: goTo,
            row: function (i) {  // a facility as a row in FACILITY_ROW order (the page's row contract)
                return meta.row.map(function (f) {
                    if (f === 'lat') { return latI[i] / 1e6; }
                    if (f === 'lon') { return lonI[i] / 1e6; }
                    return fields[f] ? fields[f].get(i) : null;
                });
            },
            find: function (id) {
                var ids = everyRow(fields.id);
                for (var i = 0; i < n; i++) { if (ids(i) === id) { return i; } }
                return -1;
            },
            pointOf: function (i) { return map.latLngToContainerPoint([latI[i] / 1e6, lonI[i] / 1e6]); }
        };
    }
}
