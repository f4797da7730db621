// The page's base64 gzip inflated: by DecompressionStream, or (older browsers) by the inlined inflater with the
// gzip header's optional fields skipped and the CRC checked; damaged data is refused, never drawn.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const {load, inflater} = require('./load.js');

const inflateRaw = inflater();
const {Inflate} = load({riskmapInflateRaw: inflateRaw});

const DATA = Buffer.from('riskmap 红橙黄蓝 '.repeat(500) + '\0\x01\x02');

/** A gzip member with the optional header fields FEXTRA, FNAME, FCOMMENT and FHCRC set (zlib writes none). */
function gzipWithEveryField(data) {
  const trailer = zlib.gzipSync(data).subarray(-8);  // CRC-32 and ISIZE
  const header = Buffer.from([0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3]);
  const extra = Buffer.from([3, 0, 0xAA, 0xBB, 0xCC]);  // XLEN = 3, then 3 bytes
  const name = Buffer.from('map.bin\0', 'latin1');
  const comment = Buffer.from('a comment\0', 'latin1');
  const hcrc = Buffer.from([0x12, 0x34]);
  return Buffer.concat([header, extra, name, comment, hcrc, zlib.deflateRawSync(data), trailer]);
}

const bytes = (buffer) => new Uint8Array(buffer);

test('CRC-32 of the standard check string', () => {
  assert.equal(Inflate.crc32(Buffer.from('123456789')), 0xCBF43926);
  assert.equal(Inflate.crc32(new Uint8Array(0)), 0);
});

test('base64 back to bytes', () => {
  assert.deepEqual(Array.from(Inflate.fromBase64(Buffer.from([0, 1, 254, 255]).toString('base64'))), [0, 1, 254, 255]);
});

test('the fallback inflates what Python gzip writes (mtime 0, no optional field)', () => {
  const gz = zlib.gzipSync(DATA, {level: 6});
  assert.deepEqual(bytes(Inflate.gunzip(bytes(gz), inflateRaw)), bytes(DATA));
});

test('the fallback skips every optional header field', () => {
  assert.deepEqual(bytes(Inflate.gunzip(bytes(gzipWithEveryField(DATA)), inflateRaw)), bytes(DATA));
});

test('the fallback refuses damaged data: a changed byte, a copy cut short, not gzip at all', () => {
  const gz = bytes(zlib.gzipSync(DATA));
  const changed = gz.slice();
  changed[gz.length - 20] ^= 0x55;
  const zeroedTrailer = gz.slice();
  zeroedTrailer.fill(0, gz.length - 8);
  const wrongCrc = gz.slice();  // the data inflates to the right size, but is not what was packed
  wrongCrc[gz.length - 8] ^= 1;
  for (const damaged of [changed, zeroedTrailer, wrongCrc, gz.slice(0, gz.length - 30), bytes(Buffer.from('plain text, no gzip'))]) {
    assert.throws(() => Inflate.gunzip(damaged, inflateRaw));
  }
});

test('inflate() with DecompressionStream, and without it (the fallback), gives the same bytes', async () => {
  const text = zlib.gzipSync(DATA).toString('base64');
  assert.deepEqual(bytes(await Inflate.inflate(text)), bytes(DATA));
  const {Inflate: Old} = load({riskmapInflateRaw: inflateRaw});
  const saved = globalThis.DecompressionStream;
  delete globalThis.DecompressionStream;
  try {
    assert.deepEqual(bytes(await Old.inflate(text)), bytes(DATA));
    const cut = zlib.gzipSync(DATA).subarray(0, 40).toString('base64');
    await assert.rejects(Old.inflate(cut));
  } finally {
    globalThis.DecompressionStream = saved;
  }
});

test('inflate() rejects damaged data with DecompressionStream too', async () => {
  const gz = zlib.gzipSync(DATA);
  gz.fill(0, gz.length - 8);  // CRC and size zeroed, as a copy cut short
  await assert.rejects(Inflate.inflate(gz.toString('base64')));
});
