// Popups: what a popup or tooltip says of a facility, a zone or an overview circle, built with Dom (text only).
/* global Dom */
/* exported Popups */
var Popups = (function () {
    'use strict';

    // A facility's popup: its name, then one line per popup field ([label, field], meta.popup; "level" is the
    // level with its dot); a field without a value for this facility (e.g. no adjustment) is left out.
    function facility(fac, i, popup, levels) {
        var box = Dom.el('div', 'riskmap-popup'), level = levels[fac.level[i]];
        Dom.el('div', 'riskmap-popup-title', fac.fields.name.get(i), box);
        var table = Dom.el('table', null, null, box);
        popup.forEach(function (line) {
            var field = line[1], value = field === 'level' ? null : fac.fields[field].get(i);
            if (field !== 'level' && (value === '' || value === undefined)) { return; }
            var tr = Dom.el('tr', null, null, table);
            Dom.el('th', null, line[0], tr);
            var td = Dom.el('td', null, null, tr);
            if (field === 'level') {
                Dom.dot(level, td);
                Dom.text(td, level.label);
            } else {
                Dom.lines(td, value);  // reasons: one a line
            }
        });
        return box;
    }

    // The mouse over a facility: its name, sector and level.
    function facilityTip(fac, i, levels) {
        var box = Dom.el('div'), level = levels[fac.level[i]];
        Dom.el('div', 'riskmap-popup-title', fac.fields.name.get(i), box);
        if (fac.fields.sector) { Dom.el('div', null, fac.fields.sector.get(i), box); }
        var line = Dom.el('div', null, null, box);
        Dom.dot(level, line);
        Dom.text(line, level.label);
        return box;
    }

    // Zone f of layer z: name, code, level, facilities per level, hidden dangers, the enterprises placed in it by
    // the register's zone column; then the lines of more ([label, value]: workload, sensitivity).
    function zone(z, f, T, levels, more) {
        var p = z.props, box = Dom.el('div', 'riskmap-popup'), level = levels[z.level[f]];
        Dom.el('div', 'riskmap-popup-title', p.name.get(f), box);
        var table = Dom.el('table', null, null, box);
        function line(label, value, withDot) {
            var tr = Dom.el('tr', null, null, table);
            Dom.el('th', null, label, tr);
            var td = Dom.el('td', null, null, tr);
            if (withDot) { Dom.dot(withDot, td); }
            Dom.text(td, value);
        }
        line(T.zone_code, p.code.get(f));
        line(T.level, level.label, level);
        levels.forEach(function (l) {
            if (p['n_' + l.key]) { line(T.n_level.replace('{label}', l.label), p['n_' + l.key].get(f)); }
        });
        if (p.hidden_dangers) { line(T.hidden_dangers, p.hidden_dangers.get(f)); }
        if (p.placed && p.placed.get(f)) { line(T.placed, p.placed.get(f)); }
        if (p.decision && p.decision.get(f)) { line(T.decision, p.decision.get(f)); }
        if (p.level_computed && p.level_computed.get(f)) { line(T.level_computed, p.level_computed.get(f)); }
        (more || []).forEach(function (m) { line(m[0], m[1]); });
        return box;
    }

    // What an overview circle counts.
    function circle(T, levels, c) {
        return T.bubble.replace('{label}', levels[c.level].label).replace('{n}', String(c.n));
    }

    return {facility: facility, facilityTip: facilityTip, zone: zone, circle: circle};
}());
