// The packed columns (html_compact.pack) read back by columns.js: typed arrays at their offsets, zigzag planes,
// running sums, text columns as a dictionary or a blob.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {load} = require('./load.js');

const {Columns} = load();

/** One buffer of parts ([name, kind, bytes, length]) 8-byte aligned as pack() writes them, and its layout. */
function packed(parts) {
  const layout = {};
  const chunks = [];
  let offset = 0;
  for (const [name, kind, bytes, length] of parts) {
    layout[name] = [kind, offset, length];
    const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
    padded.set(bytes);
    chunks.push(padded);
    offset += padded.length;
  }
  const buf = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) { buf.set(c, at); at += c.length; }
  return {buf: buf.buffer, layout};
}

const utf8 = (text) => new TextEncoder().encode(text);
const le = (Typed, values) => new Uint8Array(new Typed(values).buffer);

test('zigzag planes: all first bytes, then all second bytes ..., small steps of either sign', () => {
  // 1, -1, 2, 300 zigzag to 2, 1, 4, 600 (0x0258): first bytes 02 01 04 58, second bytes 00 00 00 02, then zeros.
  const planes = Uint8Array.from([2, 1, 4, 0x58, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(Columns.unzigzag(planes, 4)), [1, -1, 2, 300]);
});

test('zigzag planes: the int32 extremes', () => {
  // 2147483647 zigzags to 0xFFFFFFFE, -2147483648 to 0xFFFFFFFF.
  const planes = Uint8Array.from([0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
  assert.deepEqual(Array.from(Columns.unzigzag(planes, 2)), [2147483647, -2147483648]);
});

test('running sums give the coordinates back from their steps', () => {
  assert.deepEqual(Array.from(Columns.cumulate(Int32Array.from([119600000, 4000, -4500, 0]))),
    [119600000, 119604000, 119599500, 119599500]);
});

test('arrays are read at their offsets with their types; Zig32 is decoded', () => {
  const {buf, layout} = packed([
    ['a.u8', 'Uint8', Uint8Array.from([3, 0, 255]), 3],
    ['a.u16', 'Uint16', le(Uint16Array, [1, 65535]), 2],
    ['a.i32', 'Int32', le(Int32Array, [-7, 7]), 2],
    ['a.f64', 'Float64', le(Float64Array, [0.5]), 1],
    ['a.zig', 'Zig32', Uint8Array.from([2, 1, 0, 0, 0, 0, 0, 0]), 2],
  ]);
  const r = Columns.open(buf, layout);
  assert.deepEqual(Array.from(r.array('a.u8')), [3, 0, 255]);
  assert.deepEqual(Array.from(r.array('a.u16')), [1, 65535]);
  assert.deepEqual(Array.from(r.array('a.i32')), [-7, 7]);
  assert.deepEqual(Array.from(r.array('a.f64')), [0.5]);
  assert.deepEqual(Array.from(r.array('a.zig')), [1, -1]);
  assert.ok(r.has('a.u8') && !r.has('a.nothing') && !r.has('toString'));
});

test('a dictionary text column: codes into a NUL-separated table', () => {
  const {buf, layout} = packed([
    ['s.codes', 'Uint8', Uint8Array.from([1, 0, 1, 2]), 4],
    ['s.table', 'Uint8', utf8('危险化学品\0工贸\0'), utf8('危险化学品\0工贸\0').length],
  ]);
  const sector = Columns.open(buf, layout).text({kind: 'dict', codes: 's.codes', table: 's.table'});
  assert.deepEqual([0, 1, 2, 3].map(sector.get), ['工贸', '危险化学品', '工贸', '']);
  assert.deepEqual(sector.table, ['危险化学品', '工贸', '']);
  assert.deepEqual(Array.from(sector.codes), [1, 0, 1, 2]);
});

test('a blob text column: one row decoded alone, or all rows split once; the same strings', () => {
  const rows = ['<img src=x onerror=alert(1)>', '', '构成重大危险源\n涉及有限空间作业', '{{ 7*7 }}'];
  const bytes = utf8(rows.join('\0'));
  const {buf, layout} = packed([['n.blob', 'Uint8', bytes, bytes.length]]);
  const reader = Columns.open(buf, layout);
  const one = reader.text({kind: 'blob', blob: 'n.blob'});
  assert.deepEqual([3, 0, 2, 1].map(one.get), [rows[3], rows[0], rows[2], rows[1]]);  // row by row
  const all = reader.text({kind: 'blob', blob: 'n.blob'});
  const every = Columns.everyRow(all);  // split once
  assert.deepEqual([0, 1, 2, 3].map(every), rows);
  assert.deepEqual([0, 1, 2, 3].map(all.get), rows);
});

test('texts() opens each spec of an object; everyRow of a dictionary is its get', () => {
  const {buf, layout} = packed([
    ['c.codes', 'Uint8', Uint8Array.from([0, 0]), 2], ['c.table', 'Uint8', utf8('甲'), 3],
  ]);
  const t = Columns.open(buf, layout).texts({town: {kind: 'dict', codes: 'c.codes', table: 'c.table'}});
  assert.deepEqual(Object.keys(t), ['town']);
  assert.equal(Columns.everyRow(t.town), t.town.get);
});
