// Facilities: the facility columns decoded, what the filters show, the grid that finds the facilities of a view,
// the facility under the mouse, and each facility drawn as a dot. html_compact.facility_columns sorted the rows by
// cell of a G × G grid over their extent and gives each cell's first row (f.cells): a row of cells in view is one
// contiguous range of rows.
/* global Columns, Mercator */
/* exported Facilities */
var Facilities = (function () {
    'use strict';

    var HIT_PX = 8;  // a click or the mouse within this many pixels of a facility's centre is on it
    var EDGE_PX = 8; // a dot whose centre is this close outside the view still shows in it

    // The facilities of meta.facilities (F), their offsets taken from the world origin o (Mercator.origin).
    function decode(reader, F, o) {
        var n = F.n, lonI = Columns.cumulate(reader.array('f.lon')), latI = Columns.cumulate(reader.array('f.lat'));
        var fx = new Float32Array(n), fy = new Float32Array(n);
        for (var i = 0; i < n; i++) { fx[i] = Mercator.x(lonI[i]) - o.x; fy[i] = Mercator.y(latI[i]) - o.y; }
        var fields = reader.texts(F.fields);
        return {
            n: n, grid: F.grid, cells: reader.array('f.cells'), level: reader.array('f.level'),
            lonI: lonI, latI: latI, fx: fx, fy: fy, fields: fields,
            town: reader.has('f.town') ? reader.array('f.town') : null, towns: F.towns,
            sector: fields.sector && fields.sector.codes ? fields.sector : null  // a dictionary: filterable
        };
    }

    // shown(i): whether the filters let facility i through (filter: a flag per level code, a sector code and a
    // town code, -1 for any).
    function filterOf(fac, filter) {
        return function (i) {
            return filter.levels[fac.level[i]] && (filter.sector < 0 || fac.sector.codes[i] === filter.sector) &&
                (filter.town < 0 || fac.town[i] === filter.town);
        };
    }

    function countShown(fac, shown) {
        var k = 0;
        for (var i = 0; i < fac.n; i++) { if (shown(i)) { k++; } }
        return k;
    }

    // [first column, last column, first row, last row] of the grid cells over bounds (degrees) widened by pad
    // degrees, clipped to the grid (first > last when nothing is in view).
    function cellRange(grid, bounds, pad) {
        var cx0 = Math.floor(((bounds.west - pad) * 1e6 - grid.x0) / grid.cw);
        var cx1 = Math.floor(((bounds.east + pad) * 1e6 - grid.x0) / grid.cw);
        var cy0 = Math.floor(((bounds.south - pad) * 1e6 - grid.y0) / grid.ch);
        var cy1 = Math.floor(((bounds.north + pad) * 1e6 - grid.y0) / grid.ch);
        return [Math.max(cx0, 0), Math.min(cx1, grid.g - 1), Math.max(cy0, 0), Math.min(cy1, grid.g - 1)];
    }

    // fn(i) for every facility in the cells over bounds (+ pad degrees).
    function eachIn(fac, bounds, pad, fn) {
        var r = cellRange(fac.grid, bounds, pad), G = fac.grid.g, cells = fac.cells;
        if (r[0] > r[1] || r[2] > r[3]) { return; }
        for (var cy = r[2]; cy <= r[3]; cy++) {
            var end = cells[cy * G + r[1] + 1];
            for (var i = cells[cy * G + r[0]]; i < end; i++) { fn(i); }
        }
    }

    // How many facilities the cells over bounds hold (shown or not): cheap, from the cell starts alone.
    function countIn(fac, bounds) {
        var r = cellRange(fac.grid, bounds, 0), G = fac.grid.g, cells = fac.cells, total = 0;
        for (var cy = r[2]; cy <= r[3] && r[0] <= r[1]; cy++) {
            total += cells[cy * G + r[1] + 1] - cells[cy * G + r[0]];
        }
        return total;
    }

    // The shown facility nearest to point (container pixels) within HIT_PX in view v, the more severe of two at
    // the same distance; -1 if none. ll is point in degrees ({lat, lng}).
    function nearest(fac, v, point, ll, shown) {
        var s = v.scale, best = -1, bestD = HIT_PX * HIT_PX, r = HIT_PX / s * 360;
        var around = {west: ll.lng - r, east: ll.lng + r, south: ll.lat - r, north: ll.lat + r};
        eachIn(fac, around, 0, function (i) {
            if (!shown(i)) { return; }
            var ddx = fac.fx[i] * s + v.dx - point.x, ddy = fac.fy[i] * s + v.dy - point.y;
            var d = ddx * ddx + ddy * ddy;
            if (d < bestD || (d === bestD && best >= 0 && fac.level[i] < fac.level[best])) { best = i; bestD = d; }
        });
        return best;
    }

    // Each shown facility in view as a dot: one path per level, red drawn last (on top).
    function draw(ctx, v, fac, shown, levels) {
        var s = v.scale, dx = v.dx, dy = v.dy, byLevel = levels.map(function () { return []; });
        eachIn(fac, v.bounds, EDGE_PX / s * 360, function (i) { if (shown(i)) { byLevel[fac.level[i]].push(i); } });
        var radius = s > 256 * 8192 ? 5 : 4;
        for (var code = levels.length - 1; code >= 0; code--) {
            var list = byLevel[code];
            if (!list.length) { continue; }
            ctx.beginPath();
            for (var k = 0; k < list.length; k++) {
                var x = fac.fx[list[k]] * s + dx, y = fac.fy[list[k]] * s + dy;
                ctx.moveTo(x + radius, y);
                ctx.arc(x, y, radius, 0, 2 * Math.PI);
            }
            ctx.globalAlpha = 0.9;
            ctx.fillStyle = levels[code].color;
            ctx.fill();
            ctx.globalAlpha = 1;
            ctx.lineWidth = 1;
            ctx.strokeStyle = levels[code].outline;
            ctx.stroke();
        }
    }

    return {
        decode: decode, filterOf: filterOf, countShown: countShown, cellRange: cellRange, eachIn: eachIn,
        countIn: countIn, nearest: nearest, draw: draw
    };
}());
