// Columns: the packed columns of html_compact.pack, read back. The inflated bytes hold one little-endian array per
// name at the offset meta.layout gives ([kind, byte offset, length]); kind "Zig32" is int32 steps stored
// zigzag-coded byte plane by byte plane (html_compact.Columns.add_deltas). A text column is NUL-separated UTF-8:
// a dictionary ({kind: "dict", codes, table}) or one blob of every row ({kind: "blob", blob}).
/* exported Columns */
var Columns = (function () {
    'use strict';

    var TYPED = {
        Uint8: Uint8Array, Uint16: Uint16Array, Uint32: Uint32Array, Int32: Int32Array, Float32: Float32Array,
        Float64: Float64Array
    };

    // n int32 values from their 4 byte planes (all first bytes, then all second bytes ...), zigzag-decoded.
    function unzigzag(b, n) {
        var out = new Int32Array(n);
        for (var i = 0; i < n; i++) {
            var u = b[i] | (b[n + i] << 8) | (b[2 * n + i] << 16) | (b[3 * n + i] << 24);
            out[i] = (u >>> 1) ^ -(u & 1);
        }
        return out;
    }

    // Running sums of int32 steps (delta-coded coordinates), into a new Int32Array of the same length.
    function cumulate(steps) {
        var out = new Int32Array(steps.length), x = 0;
        for (var i = 0; i < steps.length; i++) { x += steps[i]; out[i] = x; }
        return out;
    }

    // A text column: get(i) for one row. A dictionary keeps its table and codes (the filters use them); a blob is
    // split into strings only for rows() (a search), and get(i) decodes just row i, from the row starts found in
    // one pass over the bytes (reasons of 1M facilities are ~120 MB as strings).
    function textColumn(reader, spec) {
        var decoder = new TextDecoder('utf-8');
        if (spec.kind === 'dict') {
            var codes = reader.array(spec.codes);
            var table = decoder.decode(reader.array(spec.table)).split('\0');
            return {get: function (i) { return table[codes[i]]; }, table: table, codes: codes};
        }
        var all = null, bytes = null, starts = null;
        function rows() { all = all || decoder.decode(reader.array(spec.blob)).split('\0'); return all; }
        function rowStarts() {
            bytes = reader.array(spec.blob);
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

    // The columns of one inflated buffer: array(name) as its typed array, text(spec) and texts({name: spec}).
    function open(buf, layout) {
        var reader = {
            has: function (name) { return Object.prototype.hasOwnProperty.call(layout, name); },
            array: function (name) {
                var l = layout[name];
                if (l[0] === 'Zig32') { return unzigzag(new Uint8Array(buf, l[1], 4 * l[2]), l[2]); }
                return new TYPED[l[0]](buf, l[1], l[2]);
            },
            text: function (spec) { return textColumn(reader, spec); },
            texts: function (specs) {
                var out = {};
                for (var k in specs) {
                    if (Object.prototype.hasOwnProperty.call(specs, k)) { out[k] = textColumn(reader, specs[k]); }
                }
                return out;
            }
        };
        return reader;
    }

    // Row i of a text column, for a loop over every row: a blob is split once instead of decoded row by row.
    function everyRow(column) {
        if (!column.rows) { return column.get; }
        var all = column.rows();
        return function (i) { return all[i]; };
    }

    return {unzigzag: unzigzag, cumulate: cumulate, open: open, everyRow: everyRow};
}());
