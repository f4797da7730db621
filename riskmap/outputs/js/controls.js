// Controls: the search over facility and zone names, and the two boxes on the map: filters (level, sector, town,
// the count shown, what the overview's circles mean) and search, wired to the page (add). Every label is text.
/* global Dom, Columns, Facilities */
/* exported Controls */
var Controls = (function () {
    'use strict';

    // Up to limit facilities whose name or id holds q ({kind: 'facility', i, text}), then the zones whose name or
    // code holds it ({kind: 'zone', k (layer), f, text}: up to 10 more). An id also matches in upper case.
    function search(fac, zones, zoneLabels, q, limit) {
        var out = [];
        if (!q) { return out; }
        var qu = q.toUpperCase(), names = Columns.everyRow(fac.fields.name), ids = Columns.everyRow(fac.fields.id);
        for (var i = 0; i < fac.n && out.length < limit; i++) {
            var nm = names(i), id = ids(i);
            if (nm.indexOf(q) >= 0 || id.indexOf(q) >= 0 || id.indexOf(qu) >= 0) {
                out.push({kind: 'facility', i: i, text: nm + ' · ' + id});
            }
        }
        zones.forEach(function (z, k) {
            for (var f = 0; f < z.meta.n && out.length < limit + 10; f++) {
                var zn = z.props.name.get(f), zc = z.props.code.get(f);
                if (zn.indexOf(q) >= 0 || zc.indexOf(q) >= 0) {
                    out.push({kind: 'zone', k: k, f: f, text: zn + ' · ' + zoneLabels[k]});
                }
            }
        });
        return out;
    }

    // A box of ours on the map: clicks and wheel turns inside it stay in it.
    function box(cls) {
        var e = Dom.el('div', 'riskmap-box ' + cls);
        L.DomEvent.disableClickPropagation(e);
        L.DomEvent.disableScrollPropagation(e);
        return e;
    }

    // The filter box (top right). o: T, levels, levelCounts (a level without facilities gets no checkbox),
    // sectors / towns (names, or null: no such select), onLevel(code, on), onSector(code), onTown(code) (-1: any).
    // Returns {control}; once the control is on the map, also count (the element of the count shown) and note (of
    // the overview).
    function filters(o) {
        var parts = {};
        var Filters = L.Control.extend({
            onAdd: function () {
                var b = box('riskmap-filters');
                Dom.el('div', 'riskmap-legend-title', o.T.filter, b);
                o.levels.forEach(function (l, code) {
                    if (!o.levelCounts[code]) { return; }
                    var label = Dom.el('label', 'riskmap-filter-level', null, b);
                    var cb = Dom.el('input', null, null, label);
                    cb.type = 'checkbox';
                    cb.checked = true;
                    cb.setAttribute('data-level', l.key);
                    Dom.dot(l, label);
                    Dom.text(label, l.label);
                    cb.addEventListener('change', function () { o.onLevel(code, cb.checked); });
                });
                function select(cls, all, options, set) {
                    var s = Dom.el('select', cls, null, Dom.el('div', null, null, b));
                    Dom.el('option', null, all, s).value = '-1';
                    options.forEach(function (name, code) { Dom.el('option', null, name, s).value = String(code); });
                    s.addEventListener('change', function () { set(parseInt(s.value, 10)); });
                }
                if (o.sectors) { select('riskmap-filter-sector', o.T.all_sectors, o.sectors, o.onSector); }
                if (o.towns) { select('riskmap-filter-town', o.T.all_towns, o.towns, o.onTown); }
                parts.count = Dom.el('div', 'riskmap-filter-count', null, b);
                parts.note = Dom.el('div', 'riskmap-overview-note', null, b);
                return b;
            }
        });
        parts.control = new Filters({position: 'topright'});
        return parts;
    }

    // The search box (top left): find(q) gives the hits (each with its text), go(hit) shows one.
    function searchBox(T, find, go) {
        var Search = L.Control.extend({
            onAdd: function () {
                var b = box('riskmap-search');
                var input = Dom.el('input', 'riskmap-search-input', null, b);
                input.type = 'search';
                input.placeholder = T.search;
                var list = Dom.el('ul', 'riskmap-search-results', null, b);
                var timer = null;
                input.addEventListener('input', function () {
                    clearTimeout(timer);
                    timer = setTimeout(function () {
                        list.textContent = '';
                        var q = input.value.trim();
                        if (!q) { return; }
                        var hits = find(q);
                        if (!hits.length) { Dom.el('li', 'riskmap-search-none', T.not_found, list); }
                        hits.forEach(function (hit) {
                            var li = Dom.el('li', 'riskmap-search-hit', hit.text, list);
                            li.addEventListener('click', function () { go(hit); });
                        });
                    }, 150);
                });
                return b;
            }
        });
        return new Search({position: 'topleft'});
    }

    // The filter box on the map, wired to the page's filter: a change counts the facilities shown and redraws
    // them; the note says what the overview's circles count while they are drawn. Returns apply().
    function addFilters(page) {
        var map = page.map, fac = page.fac, T = page.T, layer = page.facilityLayer, filter = page.filter;
        function apply() {
            showCount(Facilities.countShown(fac, page.shown));
            layer.redraw();
        }
        var parts = filters({
            T: T, levels: page.levels, levelCounts: page.meta.levelCounts,
            sectors: fac.sector ? fac.sector.table : null, towns: fac.town ? fac.towns : null,
            onLevel: function (code, on) { filter.levels[code] = on; apply(); },
            onSector: function (code) { filter.sector = code; apply(); },
            onTown: function (code) { filter.town = code; apply(); }
        });
        function showCount(n) {
            parts.count.textContent = T.shown.replace('{n}', String(n)).replace('{total}', String(fac.n));
        }
        function showNote() {
            var target = layer.target, on = map.hasLayer(layer) && layer.overview && target >= 0;
            parts.note.textContent = on ? T.overview_note.replace('{label}', page.levels[target].label) : '';
            parts.note.style.display = on ? '' : 'none';
        }
        parts.control.addTo(map);
        showCount(fac.n);
        showNote();
        layer.onDrawn = showNote;
        map.on('overlayremove', function (e) { if (e.layer === layer) { showNote(); } });
        return apply;
    }

    // Showing a search hit: a facility (its layer back on, zoomed to, its popup) or a zone (its layer on, fitted,
    // its popup).
    function goToOf(page) {
        var map = page.map;
        return function goTo(hit) {
            if (hit.kind === 'facility') {
                if (!map.hasLayer(page.facilityLayer)) { page.facilityLayer.addTo(map); }
                map.setView(page.latLngOf(hit.i), Math.max(map.getZoom(), 16), {animate: false});
                page.openFacility(hit.i);
                return;
            }
            var bb = hit.layer.options.zone.bbox, f = hit.f;
            var bounds = L.latLngBounds([bb[4 * f + 1] / 1e6, bb[4 * f] / 1e6], [bb[4 * f + 3] / 1e6, bb[4 * f + 2] / 1e6]);
            if (!map.hasLayer(hit.layer)) { hit.layer.addTo(map); }
            map.fitBounds(bounds, {maxZoom: Math.max(16, hit.layer.options.minZoom), animate: false});
            var content = page.zoneContent(hit.layer, f);
            L.popup({maxWidth: 380}).setLatLng(bounds.getCenter()).setContent(content).openOn(map);
        };
    }

    // Both boxes on the page's map; returns {apply (the filters), countShown, search(q, limit), goTo(hit)}.
    function add(page) {
        var apply = addFilters(page), goTo = goToOf(page);
        // The layers' names as text (spec.label is the layer control's HTML).
        var labels = page.meta.zoneLayers.map(function (spec) { return spec.text; });
        function find(q, limit) {
            return search(page.fac, page.zones, labels, q, limit).map(function (hit) {
                if (hit.kind === 'zone') { hit.layer = page.zoneCanvas[hit.k].layer; }
                return hit;
            });
        }
        searchBox(page.T, function (q) { return find(q, 20); }, goTo).addTo(page.map);
        return {
            apply: apply, search: find, goTo: goTo,
            countShown: function () { return Facilities.countShown(page.fac, page.shown); }
        };
    }

    return {search: search, filters: filters, searchBox: searchBox, add: add};
}());
