// Overview: too many facilities in view to tell apart. The shown facilities are counted per level and per BLOCK-px
// block of the world (not of the screen, so a pan does not reshuffle them), and one circle per block carries the
// count of the most severe level shown in view, kept inside its block so that circles never overlap. Hovering a
// circle says what it counts; a click zooms in.
/* global Facilities */
/* exported Overview */
var Overview = (function () {
    'use strict';

    var BLOCK = 48;       // px: the blocks facilities are counted in
    var PX_PER_DOT = 100; // more than one facility per 10 × 10 px of the map: dots that dense hide each other
    var YELLOW = 2;       // the level code whose circles take dark digits

    // How many facilities a view may show as dots: at most pointLimit (meta.pointLimit) and one per PX_PER_DOT.
    function dotLimit(v, pointLimit) {
        return Math.min(pointLimit, v.size.x * v.size.y / PX_PER_DOT);
    }

    // Shown facilities per level and block of view v, the blocks cut by the screen's edge counted whole:
    // {count, sx, sy (sums of pixel positions), bw, cx0, cy0, nl, target (the most severe level counted, -1 for
    // none), total}.
    function aggregate(fac, v, shown, nLevels) {
        var s = v.scale, dx = v.dx, dy = v.dy, nl = nLevels;
        var cx0 = Math.floor(-dx / BLOCK), cy0 = Math.floor(-dy / BLOCK);
        var bw = Math.floor((v.size.x - dx) / BLOCK) - cx0 + 1, bh = Math.floor((v.size.y - dy) / BLOCK) - cy0 + 1;
        var count = new Uint32Array(nl * bw * bh), sx = new Float64Array(nl * bw * bh);
        var sy = new Float64Array(nl * bw * bh), total = 0;
        Facilities.eachIn(fac, v.bounds, BLOCK / s * 360, function (i) {
            if (!shown(i)) { return; }
            var x = fac.fx[i] * s, y = fac.fy[i] * s;
            var bx = Math.floor(x / BLOCK) - cx0, by = Math.floor(y / BLOCK) - cy0;
            if (bx < 0 || by < 0 || bx >= bw || by >= bh) { return; }
            var k = (by * bw + bx) * nl + fac.level[i];
            count[k]++; sx[k] += x; sy[k] += y; total++;
        });
        var target = -1;
        for (var k = 0; k < count.length; k++) {
            if (count[k] && (target < 0 || k % nl < target)) { target = k % nl; }
        }
        return {count: count, sx: sx, sy: sy, bw: bw, cx0: cx0, cy0: cy0, nl: nl, target: target, total: total};
    }

    // The circles of an aggregate in view v: {x, y (container pixels), r, n, level}, one per block that counts
    // facilities of the target level, at their mean position kept inside the block.
    function circles(a, v) {
        var out = [], target = a.target;
        if (target < 0) { return out; }
        for (var b = 0; b * a.nl < a.count.length; b++) {
            var k = b * a.nl + target, c = a.count[k];
            if (!c) { continue; }
            var r = c === 1 ? 5 : Math.min(BLOCK / 2 - 2, 9 + 3 * Math.log10(c));
            var left = (a.cx0 + b % a.bw) * BLOCK, top = (a.cy0 + Math.floor(b / a.bw)) * BLOCK;
            var x = Math.min(Math.max(a.sx[k] / c, left + r + 1), left + BLOCK - r - 1) + v.dx;
            var y = Math.min(Math.max(a.sy[k] / c, top + r + 1), top + BLOCK - r - 1) + v.dy;
            out.push({x: x, y: y, r: r, n: c, level: target});
        }
        return out;
    }

    function draw(ctx, list, levels) {
        ctx.font = 'bold 11px sans-serif';
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        list.forEach(function (c) {
            ctx.beginPath();
            ctx.arc(c.x, c.y, c.r, 0, 2 * Math.PI);
            ctx.globalAlpha = 0.9;
            ctx.fillStyle = levels[c.level].color;
            ctx.fill();
            ctx.globalAlpha = 1;
            ctx.lineWidth = 1.5;
            ctx.strokeStyle = '#FFFFFF';
            ctx.stroke();
            if (c.n > 1) {
                ctx.fillStyle = c.level === YELLOW ? '#333333' : '#FFFFFF';
                ctx.fillText(String(c.n), c.x, c.y + 0.5);
            }
        });
    }

    // The circle under point (container pixels), or null.
    function at(list, point) {
        for (var k = 0; k < list.length; k++) {
            var c = list[k], ddx = c.x - point.x, ddy = c.y - point.y;
            if (ddx * ddx + ddy * ddy <= c.r * c.r) { return c; }
        }
        return null;
    }

    return {dotLimit: dotLimit, aggregate: aggregate, circles: circles, draw: draw, at: at};
}());
