// Inflate: the page's base64 gzip (html_compact.pack) back into an ArrayBuffer. The browser's
// DecompressionStream('gzip') where it exists (Chromium >= 80, Firefox >= 113, Safari >= 16.4); elsewhere (older
// intranet 360/QQ builds) the inlined tiny-inflate (vendor/tiny-inflate.js: riskmapInflateRaw) on the DEFLATE data
// inside the gzip, with the CRC checked as DecompressionStream does, so a damaged copy says so instead of drawing
// wrong points.
/* global riskmapInflateRaw */
/* exported Inflate */
var Inflate = (function () {
    'use strict';

    function fromBase64(text) {
        // Native where the browser has it (Chromium 140+: 22 ms for 30 MB against 150 ms for atob and a loop).
        if (typeof Uint8Array.fromBase64 === 'function') { return Uint8Array.fromBase64(text); }
        var bin = atob(text);
        var u8 = new Uint8Array(bin.length);
        for (var i = 0; i < bin.length; i++) { u8[i] = bin.charCodeAt(i); }
        return u8;
    }

    // A little-endian uint32 (the gzip trailer's CRC and size).
    function word(b, at) {
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

    // RFC 1952: ID1 ID2 CM FLG, MTIME XFL OS (10 bytes), optional fields flagged in FLG, raw DEFLATE, then CRC-32
    // and ISIZE (the inflated size mod 2^32: exact here, a tab cannot hold 4 GB). Throws on anything damaged.
    function gunzip(gz, inflateRaw) {
        var n = gz.length, p = 10, flg = gz[3];
        if (n < 18 || gz[0] !== 0x1f || gz[1] !== 0x8b || gz[2] !== 8) { throw new Error('not gzip data'); }
        if (flg & 4) { p += 2 + (gz[p] | (gz[p + 1] << 8)); }  // FEXTRA: its length, then the field
        if (flg & 8) { while (p < n && gz[p++] !== 0) { /* FNAME, NUL-terminated */ } }
        if (flg & 16) { while (p < n && gz[p++] !== 0) { /* FCOMMENT, NUL-terminated */ } }
        if (flg & 2) { p += 2; }  // FHCRC
        var size = word(gz, n - 4);
        var out = inflateRaw(gz.subarray(p, n - 8), new Uint8Array(size));
        if (out.length !== size || crc32(out) !== word(gz, n - 8)) { throw new Error('damaged gzip data'); }
        return out.buffer;
    }

    // A promise of the inflated bytes; rejected when the data is damaged (a copy cut short or altered).
    function inflate(text) {
        var u8 = fromBase64(text);
        if (typeof DecompressionStream === 'undefined') {
            return new Promise(function (resolve) { resolve(gunzip(u8, riskmapInflateRaw)); });
        }
        var stream = new Blob([u8]).stream().pipeThrough(new DecompressionStream('gzip'));
        return new Response(stream).arrayBuffer();
    }

    return {fromBase64: fromBase64, crc32: crc32, gunzip: gunzip, inflate: inflate};
}());
