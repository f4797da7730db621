// Mercator: Web Mercator in world units (0..1 across the world at zoom 0, as Leaflet's CRS at 256 px). The map
// keeps coordinates as Float32 offsets from the data's corner (meta.origin): exact to < 1 px at zoom 19, and half
// the memory of Float64.
/* exported Mercator */
var Mercator = (function () {
    'use strict';

    var MAX_LAT = 85.0511287798;

    function x(lonMicro) { return lonMicro / 360e6 + 0.5; }

    function y(latMicro) {
        var phi = Math.max(Math.min(latMicro / 1e6, MAX_LAT), -MAX_LAT) * Math.PI / 180;
        return 0.5 - Math.log(Math.tan(Math.PI / 4 + phi / 2)) / (2 * Math.PI);
    }

    // The world position of the data's corner ([lon, lat] in micro-degrees): what every offset is taken from.
    function origin(corner) { return {x: x(corner[0]), y: y(corner[1])}; }

    // Everything a redraw needs to turn offsets into canvas pixels (x * scale + dx), and the view's bounds in
    // degrees.
    function view(map, o) {
        var size = map.getSize();
        var topLeft = map.containerPointToLayerPoint([0, 0]);
        var pixelOrigin = map.getPixelOrigin();
        var scale = 256 * Math.pow(2, map.getZoom());
        var b = map.getBounds();
        return {
            size: size, topLeft: topLeft, scale: scale,
            dx: o.x * scale - pixelOrigin.x - topLeft.x, dy: o.y * scale - pixelOrigin.y - topLeft.y,
            bounds: {west: b.getWest(), south: b.getSouth(), east: b.getEast(), north: b.getNorth()}
        };
    }

    return {x: x, y: y, origin: origin, view: view};
}());
