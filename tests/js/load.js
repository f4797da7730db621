// Loads the map's modules as the page does (riskmap/outputs/js, concatenated in the order of modules.json, in one
// function) and returns their names; the browser's globals a test needs are passed in (a fake document ...).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const JS = path.join(__dirname, '..', '..', 'riskmap', 'outputs', 'js');
const VENDOR = path.join(JS, '..', 'vendor', 'tiny-inflate.js');
const ORDER = JSON.parse(fs.readFileSync(path.join(JS, 'modules.json'), 'utf8'));
const GLOBALS = ['document', 'window', 'L', 'riskmapInflateRaw', 'Path2D'];

/** The vendored inflater (its only global, riskmapInflateRaw). */
function inflater() {
  return vm.runInThisContext(`(function () {\n${fs.readFileSync(VENDOR, 'utf8')}\nreturn riskmapInflateRaw;\n})`,
    {filename: VENDOR})();
}

/** The modules' names; globals: {document, window, L, riskmapInflateRaw, Path2D} as a test needs them. */
function load(globals = {}) {
  const files = ORDER.map((name) => fs.readFileSync(path.join(JS, name), 'utf8'));
  // Each module names what it defines in its /* exported ... */ line (eslint checks it is so).
  const names = files.map((text, k) => {
    const exported = /\/\* exported (\w+) \*\//.exec(text);
    if (!exported) { throw new Error(`${ORDER[k]}: no /* exported Name */ line`); }
    return exported[1];
  });
  const source = files.join('\n');
  const make = vm.runInThisContext(
    `(function (${GLOBALS.join(', ')}) {\n'use strict';\n${source}\nreturn {${names.join(', ')}};\n})`,
    {filename: path.join(JS, 'modules.json')});
  return make(...GLOBALS.map((g) => globals[g]));
}

module.exports = {load, inflater, ORDER, JS};
