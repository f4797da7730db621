// Data is never markup: the popups, tooltips and search hits carry hostile names as text nodes, exactly as
// written, and no element is made from them (the fake document throws on any attempt to parse HTML).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {load} = require('./load.js');
const {document, elements, texts} = require('./fakedom.js');

const {Dom, Popups, Controls} = load({document});
const XSS = '<img src=x onerror=alert(1)>';
const SCRIPT = '</script><script>alert(2)</script>';
const JINJA = '{{ 7*7 }}{% if x %}';
const LEVELS = [
  {key: 'red', label: '重大风险', color: '#FF0000', outline: '#8B0000'},
  {key: 'orange', label: '较大风险', color: '#FF9900', outline: '#A35200'},
];
const T = {
  zone_code: '区域代码', level: '风险等级', n_level: '{label}企业', hidden_dangers: '隐患', placed: '无坐标, 按所属村落位的企业',
  bubble: '{label}企业 {n} 家，点击放大',
};
const column = (values) => ({get: (i) => values[i]});
// The structure's own elements: nothing else may appear, whatever the data holds.
const STRUCTURE = new Set(['DIV', 'TABLE', 'TR', 'TH', 'TD', 'SPAN', 'BR']);

test('Dom.el sets words as text: one text node, no element', () => {
  const e = Dom.el('div', 'riskmap-popup-title', XSS);
  assert.equal(e.childNodes.length, 1);
  assert.equal(e.childNodes[0].nodeType, 3);
  assert.equal(e.textContent, XSS);
  assert.deepEqual(elements(e).map((x) => x.tagName), ['DIV']);
});

test('Dom.lines: one text node a line, line breaks between them', () => {
  const td = Dom.el('td');
  Dom.lines(td, `${XSS}\n${SCRIPT}`);
  assert.deepEqual(td.childNodes.map((n) => n.nodeType === 3 ? n.data : n.tagName), [XSS, 'BR', SCRIPT]);
});

test("a facility's popup and tooltip: every field as written, no element made from data", () => {
  const fac = {
    level: [1],
    fields: {
      name: column([XSS]), id: column([JINJA]), sector: column([SCRIPT]), reasons: column([`${JINJA}\n${XSS}`]),
      level_method: column(['']),
    },
  };
  const popup = [['编号', 'id'], ['行业', 'sector'], ['风险等级', 'level'], ['定级依据', 'reasons'], ['方法定级', 'level_method']];
  const box = Popups.facility(fac, 0, popup, LEVELS);
  assert.deepEqual(texts(box), [XSS, '编号', JINJA, '行业', SCRIPT, '风险等级', '较大风险', '定级依据', JINJA, XSS]);
  assert.ok(elements(box).every((e) => STRUCTURE.has(e.tagName)));
  assert.equal(elements(box).filter((e) => e.tagName === 'TR').length, 4);  // no line for the empty field
  const dot = elements(box).find((e) => e.className === 'riskmap-dot');
  assert.deepEqual(dot.style, {background: '#FF9900', borderColor: '#A35200'});
  const tip = Popups.facilityTip(fac, 0, LEVELS);
  assert.deepEqual(texts(tip), [XSS, SCRIPT, '较大风险']);
  assert.ok(elements(tip).every((e) => STRUCTURE.has(e.tagName)));
});

test("a zone's tooltip: its name, placed enterprises and extra lines as written", () => {
  const z = {
    level: [0],
    props: {
      name: column([`${XSS}村`]), code: column(['329901001001']), n_red: column(['2']),
      placed: column([`${JINJA}厂、${SCRIPT}`]),
    },
  };
  const box = Popups.zone(z, 0, T, LEVELS, [['改变等级的约定', XSS]]);
  assert.deepEqual(texts(box), [`${XSS}村`, '区域代码', '329901001001', '风险等级', '重大风险', '重大风险企业', '2',
    T.placed, `${JINJA}厂、${SCRIPT}`, '改变等级的约定', XSS]);
  assert.ok(elements(box).every((e) => STRUCTURE.has(e.tagName)));
});

test("a zone's popup: the committee's decision and the computed level as written", () => {
  const z = {
    level: [0],
    props: {
      name: column(['北村']), code: column(['329901002002']),
      decision: column([`${JINJA}${XSS}（=cmd|' /C calc'!A0，2026-03-01）`]), level_computed: column(['较大风险']),
    },
  };
  const t = Object.assign({decision: '专家研判', level_computed: '计算等级 (专家研判前)'}, T);
  const box = Popups.zone(z, 0, t, LEVELS);
  assert.deepEqual(texts(box), ['北村', '区域代码', '329901002002', '风险等级', '重大风险',
    '专家研判', `${JINJA}${XSS}（=cmd|' /C calc'!A0，2026-03-01）`, '计算等级 (专家研判前)', '较大风险']);
  assert.ok(elements(box).every((e) => STRUCTURE.has(e.tagName)));
});

test('search hits carry names as written (the search box sets them as text)', () => {
  const fac = {n: 2, fields: {name: column([XSS, '甲公司']), id: column(['F1', 'F2'])}};
  const zones = [{meta: {n: 1}, props: {name: column([JINJA]), code: column(['329901'])}}];
  const hits = Controls.search(fac, zones, ['村<b>x</b>'], '<img', 20);
  assert.deepEqual(hits, [{kind: 'facility', i: 0, text: `${XSS} · F1`}]);
  assert.deepEqual(Controls.search(fac, zones, ['村'], 'F2', 20).map((h) => h.i), [1]);
  assert.deepEqual(Controls.search(fac, zones, ['村'], 'f2', 20).map((h) => h.i), [1]);  // a credit code typed lower
  assert.deepEqual(Controls.search(fac, zones, ['村'], '{{', 20), [{kind: 'zone', k: 0, f: 0, text: `${JINJA} · 村`}]);
  assert.deepEqual(Controls.search(fac, zones, ['村'], '', 20), []);
});

test('a circle of the overview says what it counts', () => {
  assert.equal(Popups.circle(T, LEVELS, {level: 1, n: 12}), '较大风险企业 12 家，点击放大');
});
