// ESLint for the HTML map's JavaScript (riskmap/outputs/js) and its unit tests (tests/js): `npx eslint`.
// The map's modules are plain scripts that html.py concatenates into one function of the page (modules.json
// gives the order): each defines one name (`/* exported */`) and names the others it uses (`/* global */`).
import js from "@eslint/js";

const readonly = (names) => Object.fromEntries(names.map((n) => [n, "readonly"]));

// What the page uses of the browser and of the ES2015 library (the syntax stays ES5: older intranet
// browsers, 360/QQ builds on Chromium < 80, open the map too) ...
const browser = readonly([
  "window", "document", "L", "Blob", "Response", "DecompressionStream", "TextDecoder", "Path2D",
  "requestAnimationFrame", "setTimeout", "clearTimeout", "atob", "Promise", "Uint8Array", "Uint16Array",
  "Uint32Array", "Int32Array", "Float32Array", "Float64Array",
]);
// ... and of Node, for the tests.
const node = readonly([
  "require", "module", "__dirname", "process", "console", "Buffer", "TextDecoder", "TextEncoder", "atob",
  "btoa", "Blob", "Response", "DecompressionStream",
]);

const TEXT_ONLY = "data reaches the page as text only: build elements with Dom.el (textContent)";

// Data is never markup: no module may parse a string as HTML or code (every text goes through Dom, which
// sets textContent).
const noMarkup = {
  "no-restricted-properties": [
    "error",
    ...["innerHTML", "outerHTML", "insertAdjacentHTML"].map((property) => ({ property, message: TEXT_ONLY })),
    ...["write", "writeln"].map((property) => ({ object: "document", property, message: TEXT_ONLY })),
  ],
  "no-eval": "error",
  "no-implied-eval": "error",
  "no-new-func": "error",
};

export default [
  { ignores: ["node_modules/", ".venv/", "riskmap/outputs/vendor/"] },
  js.configs.recommended,
  {
    files: ["riskmap/outputs/js/**/*.js"],
    languageOptions: { ecmaVersion: 5, sourceType: "script", globals: browser },
    rules: {
      ...noMarkup,
      strict: ["error", "function"],
      "no-var": "off",
      eqeqeq: "error",
      curly: "error",
      "no-shadow": "error",
      "no-use-before-define": ["error", { functions: false, classes: true, variables: true }],
      // As the Python's (tests/test_architecture.py): a long function is several steps with no names.
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ["tests/js/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "commonjs", globals: node },
    rules: { ...noMarkup, eqeqeq: "error" },
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
  },
];
