// Dom: the map's only way to put words on the page. Every string is set as textContent (or a text node), never
// parsed as HTML, so a name such as <img src=x onerror=...> stays a name (eslint forbids innerHTML & co).
/* exported Dom */
var Dom = (function () {
    'use strict';

    // A new element; its words (if given) are text, never markup.
    function el(tag, cls, words, parent) {
        var e = document.createElement(tag);
        if (cls) { e.className = cls; }
        if (words !== undefined && words !== null) { e.textContent = words; }
        if (parent) { parent.appendChild(e); }
        return e;
    }

    function text(parent, value) {
        parent.appendChild(document.createTextNode(value));
    }

    // A value of several lines ("\n", e.g. one reason a line): the lines as text, line breaks between them.
    function lines(parent, value) {
        value.split('\n').forEach(function (line, k) {
            if (k) { el('br', null, null, parent); }
            text(parent, line);
        });
    }

    // The coloured dot of a level ({color, outline}).
    function dot(level, parent) {
        var s = el('span', 'riskmap-dot', null, parent);
        s.style.background = level.color;
        s.style.borderColor = level.outline;
        return s;
    }

    return {el: el, text: text, lines: lines, dot: dot};
}());
