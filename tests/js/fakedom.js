// A document with just what the map's modules call (createElement, createTextNode, appendChild, textContent,
// className, style, setAttribute), in which parsing HTML is impossible: setting innerHTML or outerHTML throws.
'use strict';

class Text {
  constructor(data) { this.nodeType = 3; this.data = String(data); }
  get textContent() { return this.data; }
}

class Element {
  constructor(tag) {
    this.nodeType = 1;
    this.tagName = tag.toUpperCase();
    this.className = '';
    this.childNodes = [];
    this.style = {};
    this.attributes = {};
  }
  appendChild(node) { this.childNodes.push(node); return node; }
  setAttribute(name, value) { this.attributes[name] = String(value); }
  addEventListener() {}
  get textContent() { return this.childNodes.map((n) => n.textContent).join(''); }
  set textContent(value) { this.childNodes = value === '' ? [] : [new Text(value)]; }
  set innerHTML(_) { throw new Error('innerHTML: the map must never parse HTML'); }
  set outerHTML(_) { throw new Error('outerHTML: the map must never parse HTML'); }
  insertAdjacentHTML() { throw new Error('insertAdjacentHTML: the map must never parse HTML'); }
}

const document = {
  createElement: (tag) => new Element(tag),
  createTextNode: (data) => new Text(data),
};

/** Every element under (and including) node, depth first. */
function elements(node) {
  return node.nodeType === 1 ? [node, ...node.childNodes.flatMap(elements)] : [];
}

/** The texts under node, in order, one string a text node. */
function texts(node) {
  return node.nodeType === 3 ? [node.data] : node.childNodes.flatMap(texts);
}

module.exports = {document, elements, texts};
