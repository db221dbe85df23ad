// Maps drawn in the browser, offline: country outlines from the vendored Natural Earth TopoJSON (map/countries-110m.json,
// from world-atlas) projected with d3-geo, and one circle per point, each a link with an accessible name.
// Used by the pages (every <figure data-kg-map>: the home page, the city index, a city's page) and by the query
// editor's map view (editor-map.js). The map is an enhancement: the pages keep their lists and links without it.
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var GAP_DEGREES = 40; // points this far apart in longitude (Europe, North America) get panels of their own
  var MAX_PANELS = 3;
  var MIN_RADIUS_DEGREES = 5;
  var MAX_LABELS = 15; // the editor's map names its points beside them when there are no more than this // a panel shows at least this far around its points
  var R_MIN = 3.5;
  var R_MAX = 13;
  var atlases = {};
  var counter = 0;

  function atlas(url) {
    if (!url) return Promise.resolve(null);
    if (!atlases[url]) {
      atlases[url] = fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("the country outlines could not be loaded (" + response.status + ")");
          return response.json();
        })
        .then(function (topology) {
          var countries = topology.objects.countries;
          return {
            land: topojson.feature(topology, countries),
            borders: topojson.mesh(topology, countries, function (a, b) { return a !== b; }),
          };
        });
    }
    return atlases[url];
  }

  function node(name, attributes, parent) {
    var element = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) {
      if (attributes[key] !== null && attributes[key] !== undefined) element.setAttribute(key, attributes[key]);
    });
    if (parent) parent.appendChild(element);
    return element;
  }

  function text(name, content, attributes, parent) {
    var element = node(name, attributes, parent);
    element.textContent = content;
    return element;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  /** How much smaller the circles are on a narrow map (a phone's). */
  function scaleFor(width) {
    return Math.max(0.6, Math.min(1, width / 700));
  }

  /** The circle's radius for a weight: its area grows with the weight, the largest one has R_MAX (times scale). */
  function radius(weight, maxWeight, scale) {
    scale = scale || 1;
    if (!maxWeight) return (R_MIN + 1) * scale;
    return (R_MIN + (R_MAX - R_MIN) * Math.sqrt(Math.max(0, weight) / maxWeight)) * scale;
  }

  /** Points in groups split where consecutive longitudes are far apart; the largest group first. */
  function groups(points) {
    var sorted = points.slice().sort(function (a, b) { return a.lon - b.lon; });
    var out = [];
    sorted.forEach(function (p, i) {
      if (i === 0 || p.lon - sorted[i - 1].lon > GAP_DEGREES) out.push([]);
      out[out.length - 1].push(p);
    });
    out.sort(function (a, b) { return b.length - a.length; });
    return out.length > MAX_PANELS ? [points] : out;
  }

  /** Panels of the canvas: the main group on the right (or all of it), the others stacked on the left. */
  function layout(groupsOfPoints, width, height) {
    if (groupsOfPoints.length === 1) return [{ points: groupsOfPoints[0], x: 0, y: 0, w: width, h: height }];
    var side = Math.round(width * 0.27);
    var gap = 6;
    var others = groupsOfPoints.slice(1);
    var h = (height - gap * (others.length - 1)) / others.length;
    var panels = [{ points: groupsOfPoints[0], x: side + gap, y: 0, w: width - side - gap, h: height }];
    others.forEach(function (points, i) {
      panels.push({ points: points, x: 0, y: i * (h + gap), w: side, h: h, inset: true });
    });
    return panels;
  }

  function projectionFor(panel, padding) {
    var multipoint = { type: "MultiPoint", coordinates: panel.points.map(function (p) { return [p.lon, p.lat]; }) };
    var center = d3.geoCentroid(multipoint);
    var circle = d3.geoCircle().center(center).radius(panel.minRadius || MIN_RADIUS_DEGREES)();
    var projection = d3.geoAzimuthalEqualArea().rotate([-center[0], -center[1]]);
    var pad = Math.min(padding, panel.w / 4, panel.h / 4);
    projection.fitExtent([[panel.x + pad, panel.y + pad], [panel.x + panel.w - pad, panel.y + panel.h - pad]],
      { type: "GeometryCollection", geometries: [multipoint, circle] });
    projection.clipExtent([[panel.x, panel.y], [panel.x + panel.w, panel.y + panel.h]]);
    return projection;
  }

  function describe(point, kind) {
    if (point.title) return point.title;
    if (kind === "overview") {
      return point.label + ": " + plural(point.memberships, "membership", "memberships") + ", " +
        plural(point.events, "event", "events");
    }
    return point.label;
  }

  /**
   * Draw a map into ``container`` (emptied first). ``spec``: points [{label, href, lon, lat, weight, ...}], kind
   * ("overview": circles sized by weight; "place": one labelled point; "results": the editor's points), title,
   * description, atlas (URL of the TopoJSON). Resolves to the SVG element.
   */
  function draw(container, spec) {
    var id = "kg-map-" + ++counter;
    var width = Math.round(container.getBoundingClientRect().width) || 640;
    var kind = spec.kind || "results";
    var height = kind === "place" ? Math.round(width * 0.7) : Math.round(Math.max(240, Math.min(560, width * (width < 560 ? 0.8 : 0.6))));
    var points = spec.points.filter(function (p) { return isFinite(p.lon) && isFinite(p.lat); });
    var maxWeight = 0;
    points.forEach(function (p) { maxWeight = Math.max(maxWeight, p.weight || 0); });

    var svg = node("svg", { class: "kg-map-svg", width: width, height: height, viewBox: "0 0 " + width + " " + height,
      role: "group", "aria-labelledby": id + "-title", "aria-describedby": id + "-desc" });
    text("title", spec.title || "Map", { id: id + "-title" }, svg);
    text("desc", spec.description || plural(points.length, "point", "points") + " on an outline map of the world's countries.",
      { id: id + "-desc" }, svg);
    var panels = layout(points.length ? groups(points) : [[]], width, height);
    if (kind === "place") panels[0].minRadius = 6;

    return atlas(spec.atlas).catch(function () { return null; }).then(function (outlines) {
      var markers = [];
      panels.forEach(function (panel, i) {
        var g = node("g", { class: "kg-map-panel" + (panel.inset ? " inset" : "") }, svg);
        node("rect", { class: "kg-map-sea", x: panel.x, y: panel.y, width: panel.w, height: panel.h }, g);
        if (!panel.points.length) return;
        var projection = projectionFor(panel, kind === "place" ? 24 : R_MAX + 12);
        var path = d3.geoPath(projection);
        if (outlines) {
          node("path", { class: "kg-map-land", d: path(outlines.land) || "" }, g);
          node("path", { class: "kg-map-borders", d: path(outlines.borders) || "" }, g);
        }
        node("rect", { class: "kg-map-frame", x: panel.x + 0.5, y: panel.y + 0.5, width: panel.w - 1, height: panel.h - 1 }, g);
        panel.points.forEach(function (p) {
          var xy = projection([p.lon, p.lat]);
          if (xy) markers.push({ point: p, x: xy[0], y: xy[1], panel: i });
        });
      });

      var layer = node("g", { class: "kg-map-markers" }, svg);
      markers.sort(function (a, b) {  // small circles on top of large ones, so every one can be clicked
        return (b.point.weight || 0) - (a.point.weight || 0) || a.point.label.localeCompare(b.point.label);
      });
      markers.forEach(function (m) {
        var p = m.point;
        var label = describe(p, kind);
        var parent = layer;
        if (p.href) {
          parent = node("a", { class: "kg-map-marker", href: p.href, "aria-label": label, "data-iri": p.iri || null }, layer);
        } else {
          parent = node("g", { class: "kg-map-marker", role: "img", "aria-label": label, "data-iri": p.iri || null }, layer);
        }
        text("title", label, {}, parent);
        var r = kind === "overview" ? radius(p.weight || 0, maxWeight, scaleFor(width)) : kind === "place" ? 7 : 5;
        node("circle", { cx: m.x.toFixed(1), cy: m.y.toFixed(1), r: r.toFixed(1) }, parent);
        if (kind === "place" || (kind === "results" && markers.length <= MAX_LABELS)) {
          var right = m.x < width * 0.7;
          text("text", p.label, { class: "kg-map-label", x: (m.x + (right ? r + 4 : -r - 4)).toFixed(1), y: (m.y + 5).toFixed(1),
            "text-anchor": right ? "start" : "end", "aria-hidden": "true" }, parent);
        }
      });
      if (!outlines) {
        text("text", "(The country outlines could not be loaded.)", { class: "kg-map-note", x: 8, y: height - 8 }, svg);
      }
      while (container.firstChild) container.removeChild(container.firstChild);
      container.appendChild(svg);
      return svg;
    });
  }

  /** A small key of circle sizes, for the overview maps (values from 0 to the largest weight). */
  function legend(element, points, unit, scale) {
    var maxWeight = 0;
    points.forEach(function (p) { maxWeight = Math.max(maxWeight, p.weight || 0); });
    var values = [0, Math.round(maxWeight / 2), maxWeight].filter(function (v, i, all) { return all.indexOf(v) === i; });
    var width = values.length * 46 + 4;
    var svg = node("svg", { class: "kg-map-key", width: width, height: 2 * R_MAX + 20, role: "img",
      "aria-label": "Circle sizes: " + values.map(function (v) { return v; }).join(", ") + " " + unit });
    values.forEach(function (v, i) {
      var cx = 20 + i * 46;
      node("circle", { cx: cx, cy: R_MAX + 2, r: radius(v, maxWeight, scale).toFixed(1) }, svg);
      text("text", String(v), { x: cx, y: 2 * R_MAX + 17, "text-anchor": "middle" }, svg);
    });
    while (element.firstChild) element.removeChild(element.firstChild);
    element.appendChild(svg);
    var caption = document.createElement("span");
    caption.textContent = unit;
    element.appendChild(caption);
  }

  /** Every <figure data-kg-map> of the page: its points are in the <script type="application/json"> inside it. */
  function drawFigure(figure) {
    var data = JSON.parse(figure.querySelector("script[type='application/json']").textContent);
    var canvas = figure.querySelector(".kg-map-canvas");
    data.atlas = figure.getAttribute("data-atlas");
    figure.hidden = false;
    var key = figure.querySelector(".kg-map-legend");
    var drawnWidth = 0;
    function render() {
      drawnWidth = canvas.getBoundingClientRect().width;
      if (key && data.kind === "overview") legend(key, data.points, key.getAttribute("data-unit") || "", scaleFor(drawnWidth));
      figure.setAttribute("data-state", "drawing");
      return draw(canvas, data).then(function () { figure.setAttribute("data-state", "drawn"); });
    }
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        if (Math.abs(canvas.getBoundingClientRect().width - drawnWidth) > 2) render();
      }, 150);
    });
    return render();
  }

  window.kgMap = { draw: draw, atlas: atlas, radius: radius };
  if (typeof d3 === "undefined" || typeof topojson === "undefined") return;
  document.querySelectorAll("figure[data-kg-map]").forEach(drawFigure);
})();
