// node tests/js/decode_page.js DATA.json: decodes a map's data ({meta, b64}, as tests/mapdata.py finds them in a
// page Python wrote) with the page's own modules, and prints what the page would show as JSON: each facility's
// position and fields, each zone layer's levels, texts, bounding boxes and finest rings (micro-degrees).
'use strict';
const fs = require('node:fs');
const {load, inflater} = require('./load.js');

const {Inflate, Columns, Mercator, Facilities, Zones} = load({riskmapInflateRaw: inflater()});

async function main() {
  const {meta, b64} = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const reader = Columns.open(await Inflate.inflate(b64), meta.layout);
  const o = Mercator.origin(meta.origin);
  const fac = Facilities.decode(reader, meta.facilities, o);
  const rows = [...Array(fac.n).keys()];
  const facilities = {lat: rows.map((i) => fac.latI[i] / 1e6), lon: rows.map((i) => fac.lonI[i] / 1e6),
    level: rows.map((i) => fac.level[i]), town: fac.town ? rows.map((i) => fac.towns[fac.town[i]]) : null};
  for (const [field, column] of Object.entries(fac.fields)) { facilities[field] = rows.map((i) => column.get(i)); }
  const zones = meta.zones.map((Z, k) => {
    const z = Zones.open(reader, Z, k, o), features = [...Array(Z.n).keys()];
    const out = {level: features.map((f) => z.level[f]), bbox: Array.from(z.bbox)};
    for (const [prop, column] of Object.entries(z.props)) { out[prop] = features.map((f) => column.get(f)); }
    const finest = Z.sets[0], steps = reader.array(finest.xy), xy = new Int32Array(steps.length);
    for (let k = 0, x = 0, y = 0; k < steps.length; k += 2) { x += steps[k]; y += steps[k + 1]; xy[k] = x; xy[k + 1] = y; }
    const rings = reader.array(finest.rings), feats = reader.array(finest.feats);
    out.rings = features.map((f) => [...Array(feats[f + 1] - feats[f]).keys()].map((r) => {
      const a = rings[feats[f] + r], b = rings[feats[f] + r + 1];
      return [...Array(b - a).keys()].map((k) => [xy[2 * (a + k)], xy[2 * (a + k) + 1]]);
    }));
    return out;
  });
  process.stdout.write(JSON.stringify({facilities, zones}));
}

main().catch((err) => { console.error(err); process.exit(1); });
