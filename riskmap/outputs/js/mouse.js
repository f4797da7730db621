// Mouse: what the map does under the mouse. A click on an overview circle zooms in two levels there, on a
// facility opens its popup, on a zone the zone's; hovering shows the circle's count, the facility's name, sector
// and level, or the zone's tooltip (and highlights the zone); the cursor is a pointer over all of them.
/* global Dom, Popups */
/* exported Mouse */
var Mouse = (function () {
    'use strict';

    function listen(page) {
        var map = page.map;
        map.on('click', function (e) { click(page, e); });
        var tip = L.tooltip({sticky: true, direction: 'top', offset: [0, -6]});
        var pending = null;
        map.on('mousemove', function (e) {
            // At most one look a frame: the latest position when the frame comes.
            if (pending) { pending = e; return; }
            pending = e;
            requestAnimationFrame(function () {
                var ev = pending;
                pending = null;
                if (!ev) { return; }  // the mouse left meanwhile
                map.getContainer().style.cursor = hover(page, tip, ev) ? 'pointer' : '';
            });
        });
        map.on('mouseout', function () {
            pending = null;
            map.closeTooltip(tip);
            page.highlight.show(null);
            map.getContainer().style.cursor = '';
        });
    }

    function click(page, e) {
        var map = page.map, c = page.circleAt(e.containerPoint);
        if (c) {
            map.setView(map.containerPointToLatLng([c.x, c.y]), Math.min(map.getZoom() + 2, map.getMaxZoom()));
            return;
        }
        var i = page.facilityAt(e.containerPoint);
        if (i >= 0) { page.openFacility(i); return; }
        var hit = page.zoneHit(e.latlng);
        if (hit) {
            L.popup({maxWidth: 380}).setLatLng(e.latlng).setContent(page.zoneContent(hit.layer, hit.f)).openOn(map);
        }
    }

    // What is under the mouse, most specific first: a circle of the overview, a facility, a zone. Whether
    // anything is.
    function hover(page, tip, ev) {
        var map = page.map, c = page.circleAt(ev.containerPoint), i = c ? -1 : page.facilityAt(ev.containerPoint);
        var hit = c || i >= 0 ? null : page.zoneHit(ev.latlng);
        function showTip(latlng, content) {
            tip.setLatLng(latlng).setContent(content);
            if (!map.hasLayer(tip)) { map.openTooltip(tip); }
        }
        page.highlight.show(hit);
        if (c) {
            showTip(ev.latlng, Dom.el('div', null, Popups.circle(page.T, page.levels, c)));
        } else if (i >= 0) {
            showTip(page.latLngOf(i), Popups.facilityTip(page.fac, i, page.levels));
        } else if (hit) {
            showTip(ev.latlng, page.zoneContent(hit.layer, hit.f));
        } else {
            map.closeTooltip(tip);
            return false;
        }
        return true;
    }

    return {listen: listen};
}());
