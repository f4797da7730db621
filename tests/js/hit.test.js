// Hit tests without a browser: the grid's cells of a view, the facility under the mouse, the zone under a point
// (even-odd over its rings, holes included), the overview's counts per block and the circle under the mouse.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {load} = require('./load.js');

const {Facilities, Mercator, Overview, Zones} = load();
const RED = 0, ORANGE = 1, YELLOW = 2, BLUE = 3;
const LEVELS = ['red', 'orange', 'yellow', 'blue', 'none'].map((key) => ({key, color: '#000000', outline: '#000000'}));
const ORIGIN = Mercator.origin([0, 0]);
const SCALE = 256 * 2 ** 12;  // zoom 12

/** Facilities as facility_columns() sorts them: by cell of a g × g grid of 1° cells from (0, 0). */
function facilities(points, g = 4) {
  const cellOf = ([lon, lat]) => Math.floor(lat) * g + Math.floor(lon);
  const sorted = points.map((p, k) => ({p, k})).sort((a, b) => cellOf(a.p) - cellOf(b.p) || a.k - b.k);
  const n = points.length;
  const cells = new Uint32Array(g * g + 1);
  for (let c = 0; c <= g * g; c++) { cells[c] = sorted.filter(({p}) => cellOf(p) < c).length; }
  const lonI = Int32Array.from(sorted, ({p}) => Math.round(p[0] * 1e6));
  const latI = Int32Array.from(sorted, ({p}) => Math.round(p[1] * 1e6));
  return {
    n, grid: {x0: 0, y0: 0, cw: 1e6, ch: 1e6, g}, cells, lonI, latI,
    level: Uint8Array.from(sorted, ({p}) => p[2]),
    fx: Float32Array.from(lonI, (x) => Mercator.x(x) - ORIGIN.x),
    fy: Float32Array.from(latI, (y) => Mercator.y(y) - ORIGIN.y),
    id: sorted.map(({k}) => k),  // the caller's index of each row
  };
}

/** A view whose top-left pixel is at world offset (x0, y0), size w × h px. */
function view(x0, y0, w, h) {
  const dx = -x0 * SCALE, dy = -y0 * SCALE;
  const lon = (px) => ((px - dx) / SCALE + ORIGIN.x - 0.5) * 360;
  const lat = (py) => {
    const y = (py - dy) / SCALE + ORIGIN.y;
    return Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180 / Math.PI;
  };
  return {scale: SCALE, dx, dy, size: {x: w, y: h}, bounds: {west: lon(0), east: lon(w), south: lat(h), north: lat(0)}};
}
const all = () => true;

test('the cells over a view, widened and clipped to the grid', () => {
  const grid = {x0: 0, y0: 0, cw: 1e6, ch: 1e6, g: 4};
  assert.deepEqual(Facilities.cellRange(grid, {west: 0.5, east: 1.5, south: 0.5, north: 2.5}, 0), [0, 1, 0, 2]);
  assert.deepEqual(Facilities.cellRange(grid, {west: 0.5, east: 1.5, south: 0.5, north: 2.5}, 0.6), [0, 2, 0, 3]);
  assert.deepEqual(Facilities.cellRange(grid, {west: -50, east: 50, south: -50, north: 50}, 0), [0, 3, 0, 3]);
  const out = Facilities.cellRange(grid, {west: 10, east: 11, south: 0, north: 1}, 0);
  assert.ok(out[0] > out[1]);  // nothing in view
});

test('the facilities of a view are the rows of its cells; counting needs no row', () => {
  const fac = facilities([[0.5, 0.5, RED], [1.5, 0.5, BLUE], [3.5, 3.5, RED], [1.2, 2.5, YELLOW], [0.1, 0.2, BLUE]]);
  const seen = [];
  const bounds = {west: 0.1, east: 1.9, south: 0.1, north: 1.9};  // cells (0, 0) and (1, 0)
  Facilities.eachIn(fac, bounds, 0, (i) => seen.push(fac.id[i]));
  assert.deepEqual(seen.sort(), [0, 1, 4]);
  assert.equal(Facilities.countIn(fac, bounds), 3);
  assert.equal(Facilities.countIn(fac, {west: 10, east: 11, south: 10, north: 11}), 0);
});

test('the facility under the mouse: within 8 px, the nearest, the more severe of two as near, only shown ones', () => {
  const a = [0.5, 0.5], east = 12 / SCALE * 360;  // 12 px east of a, in degrees
  const fac = facilities([[...a, BLUE], [...a, RED], [a[0] + east, a[1], YELLOW]]);
  const v = view(fac.fx[0] - 100 / SCALE, fac.fy[0] - 100 / SCALE, 400, 400);
  const row = (k) => fac.id.indexOf(k);
  const p0 = {x: fac.fx[row(0)] * SCALE + v.dx, y: fac.fy[row(0)] * SCALE + v.dy};
  const at = (dx, shown = all) => {
    const hit = Facilities.nearest(fac, v, {x: p0.x + dx, y: p0.y}, {lng: a[0] + dx / SCALE * 360, lat: a[1]}, shown);
    return hit < 0 ? -1 : fac.id[hit];
  };
  assert.equal(at(0), 1);  // the blue and the red one on the same spot: the red one
  assert.equal(at(2), 1);
  assert.equal(at(9), 2);  // 3 px from the yellow one
  assert.equal(at(-9), -1);  // 9 px from all: nothing
  assert.equal(at(0, (i) => fac.level[i] !== RED), 0);  // red filtered out: the blue one
  assert.equal(at(0, (i) => fac.level[i] === YELLOW), -1);  // only yellow shown: 12 px away
});

/** A zone layer of hand-made rings (micro-degrees [lon, lat] lists per feature), as Zones.open() gives it. */
function zoneLayer(features) {
  const xy = [], rings = [0], feats = [0], bbox = [];
  for (const feature of features) {
    const flat = feature.flat();
    const lons = flat.map((c) => c[0]), lats = flat.map((c) => c[1]);
    bbox.push(Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats));
    for (const ring of feature) {
      for (const [lon, lat] of ring) { xy.push(Mercator.x(lon) - ORIGIN.x, Mercator.y(lat) - ORIGIN.y); }
      rings.push(xy.length / 2);
    }
    feats.push(rings.length - 1);
  }
  const set = {xy: Float32Array.from(xy), rings: Uint32Array.from(rings), feats: Uint32Array.from(feats)};
  return {meta: {n: features.length}, bbox: Int32Array.from(bbox), setAt: () => set, set: () => set, _set: set};
}
const square = (x0, y0, x1, y1) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];

test('a point in a zone: the even-odd rule over its rings, a hole is outside', () => {
  const z = zoneLayer([
    [square(0, 0, 4e6, 4e6), square(1e6, 1e6, 3e6, 3e6)],  // a square with a square hole
    [square(5e6, 0, 6e6, 1e6)],
  ]);
  const inside = (f, lon, lat) => Zones.inside(z._set, f, Mercator.x(lon) - ORIGIN.x, Mercator.y(lat) - ORIGIN.y);
  assert.equal(inside(0, 0.5e6, 0.5e6), true);
  assert.equal(inside(0, 2e6, 2e6), false);  // in the hole
  assert.equal(inside(0, 4.5e6, 2e6), false);
  assert.equal(inside(1, 5.5e6, 0.5e6), true);
  assert.equal(Zones.at(z, 2e6, 2e6, SCALE, ORIGIN), -1);  // the hole belongs to no zone
  assert.equal(Zones.at(z, 3.5e6, 2e6, SCALE, ORIGIN), 0);
  assert.equal(Zones.at(z, 5.5e6, 0.5e6, SCALE, ORIGIN), 1);
  assert.equal(Zones.at(z, 5.5e6, 1.5e6, SCALE, ORIGIN), -1);  // outside every box
});

test('a point on two zones (one drawn over the other) is on the one drawn last', () => {
  const z = zoneLayer([[square(0, 0, 2e6, 2e6)], [square(1e6, 1e6, 3e6, 3e6)]]);
  assert.equal(Zones.at(z, 1.5e6, 1.5e6, SCALE, ORIGIN), 1);
  assert.equal(Zones.at(z, 0.5e6, 0.5e6, SCALE, ORIGIN), 0);
});

test('the copy a zoom draws: the coarsest within about a pixel', () => {
  const tolerances = [0.0000007, 0.0005, 0.002];
  assert.equal(Zones.setIndex(tolerances, 256 * 2 ** 19), 0);
  assert.equal(Zones.setIndex(tolerances, 256 * 2 ** 11), 1);
  assert.equal(Zones.setIndex(tolerances, 256 * 2 ** 7), 2);
});

test('the overview counts the most severe level shown per 48-px block; a circle per block, inside it', () => {
  // A view whose top-left corner is a block's (blocks are the world's, so that a pan does not reshuffle them).
  const x0 = 48 * Math.round((Mercator.x(1e6) - ORIGIN.x) * SCALE / 48) / SCALE;
  const y0 = 48 * Math.round((Mercator.y(0.5e6) - ORIGIN.y) * SCALE / 48) / SCALE;
  const lon = (px) => ((x0 + px / SCALE + ORIGIN.x) - 0.5) * 360;
  const lat = (py) => Math.atan(Math.sinh(Math.PI * (1 - 2 * (y0 + py / SCALE + ORIGIN.y)))) * 180 / Math.PI;
  const at = (px, py, level) => [lon(px), lat(py), level];
  const fac = facilities([at(10, 10, ORANGE), at(20, 20, ORANGE), at(30, 10, BLUE), at(60, 10, ORANGE),
    at(70, 30, RED), at(10, 60, BLUE)]);
  const v = view(x0, y0, 96, 96);
  const a = Overview.aggregate(fac, v, all, LEVELS.length);
  assert.equal(a.total, 6);
  assert.equal(a.target, RED);
  const circles = Overview.circles(a, v);
  assert.deepEqual(circles.map((c) => [c.level, c.n]), [[RED, 1]]);
  const c = circles[0];
  assert.ok(c.x - c.r >= 48 && c.x + c.r <= 96 && c.y - c.r >= 0 && c.y + c.r <= 48, JSON.stringify(c));
  // Red filtered out: the orange ones, two in the first block and one in the second.
  const noRed = Overview.circles(Overview.aggregate(fac, v, (i) => fac.level[i] !== RED, LEVELS.length), v);
  assert.deepEqual(noRed.map((k) => [k.level, k.n]), [[ORANGE, 2], [ORANGE, 1]]);
  assert.ok(noRed[0].x < 48 && noRed[1].x >= 48);
  // The circle under the mouse.
  const two = noRed[0];
  assert.equal(Overview.at(noRed, {x: two.x + two.r - 0.5, y: two.y}), two);
  assert.equal(Overview.at(noRed, {x: two.x + two.r + 1, y: two.y}), null);
});

test('dots or circles: at most pointLimit dots, and one per 100 px²', () => {
  assert.equal(Overview.dotLimit({size: {x: 1400, y: 900}}, 30000), 12600);
  assert.equal(Overview.dotLimit({size: {x: 1400, y: 900}}, 3), 3);
});
