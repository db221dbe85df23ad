// The query editor's map view: a YASR plugin that shows SELECT results with GeoSPARQL WKT literals
// (datatype geo:wktLiteral) as points on the vendored country outlines (map.js). It offers itself only when the
// results hold such a literal. Each point is labelled by the row's first other literal and linked to the row's
// first IRI (our own IRIs to their page on this server). Registered before editor.js creates the editor.
(function () {
  "use strict";

  var WKT = "http://www.opengis.net/ont/geosparql#wktLiteral";
  var CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
  var EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"; // latitude first
  var POINT = /^\s*(?:<([^>]*)>\s*)?POINT\s*\(\s*([-+]?[0-9.eE+-]+)\s+([-+]?[0-9.eE+-]+)\s*\)\s*$/i;
  var GLOBE = "M8 0a8 8 0 1 0 0 16A8 8 0 0 0 8 0zm5.9 7h-2.4a12 12 0 0 0-1-4.6A6 6 0 0 1 13.9 7zM8 2c.6.8 1.4 2.5 1.5 5h-3C6.6 4.5 " +
    "7.4 2.8 8 2zM5.5 2.4A12 12 0 0 0 4.5 7H2.1a6 6 0 0 1 3.4-4.6zM2.1 9h2.4a12 12 0 0 0 1 4.6A6 6 0 0 1 2.1 9zM8 14c-.6-.8-1.4-2.5" +
    "-1.5-5h3c-.1 2.5-.9 4.2-1.5 5zm2.5-.4a12 12 0 0 0 1-4.6h2.4a6 6 0 0 1-3.4 4.6z";

  var Yasgui = window.Yasgui;
  if (!Yasgui || !Yasgui.Yasr || !window.kgMap || typeof d3 === "undefined" || typeof topojson === "undefined") return;
  var config = JSON.parse(document.getElementById("kg-editor-config").textContent);

  function isWkt(term) {
    return !!term && (term.type === "literal" || term.type === "typed-literal") && term.datatype === WKT;
  }

  /** [longitude, latitude] of a WKT POINT on WGS 84; null for other geometries and reference systems. */
  function parsePoint(wkt) {
    var match = POINT.exec(wkt);
    if (!match) return null;
    var crs = match[1] || CRS84;
    var x = parseFloat(match[2]);
    var y = parseFloat(match[3]);
    if (crs === EPSG_4326) { var t = x; x = y; y = t; } else if (crs !== CRS84) return null;
    if (!isFinite(x) || !isFinite(y) || Math.abs(x) > 180 || Math.abs(y) > 90) return null;
    return [x, y];
  }

  /** Our IRIs open their page on this server (the path after the base is the route); others are themselves. */
  function href(iri) {
    return config.base && iri.indexOf(config.base) === 0 && iri.length > config.base.length
      ? new URL("/" + iri.slice(config.base.length), window.location.href).pathname : iri;
  }

  function shorten(iri, prefixes) {
    var best = null;
    Object.keys(prefixes || {}).forEach(function (prefix) {
      var ns = prefixes[prefix];
      if (iri.indexOf(ns) === 0 && (!best || ns.length > prefixes[best].length)) best = prefix;
    });
    return best === null ? iri : best + ":" + iri.slice(prefixes[best].length);
  }

  function MapView(yasr) {
    this.yasr = yasr;
    this.label = "Map";
    this.priority = 5; // below the table: the table stays what results open with
  }

  MapView.prototype.canHandleResults = function () {
    var results = this.yasr.results;
    var bindings = results && results.getBindings ? results.getBindings() || [] : [];
    var handles = bindings.some(function (row) {
      return Object.keys(row).some(function (name) { return isWkt(row[name]); });
    });
    this.yasr.rootEl.classList.toggle("kg-has-wkt", handles); // the Map button shows only then (map.css)
    return handles;
  };

  /** The rows' points, and how many WKT values were not points. */
  MapView.prototype.read = function () {
    var results = this.yasr.results;
    var variables = results.getVariables();
    var prefixes = this.yasr.getPrefixes();
    var points = [];
    var skipped = 0;
    var wktColumns = {};
    var linkColumns = {};
    results.getBindings().forEach(function (row) {
      var iriVar = variables.find(function (v) { return row[v] && row[v].type === "uri"; });
      var labelVar = variables.find(function (v) {
        return row[v] && (row[v].type === "literal" || row[v].type === "typed-literal") && !isWkt(row[v]);
      });
      variables.forEach(function (v) {
        if (!isWkt(row[v])) return;
        wktColumns[v] = true;
        var point = parsePoint(row[v].value);
        if (!point) { skipped++; return; }
        var iri = iriVar ? row[iriVar].value : null;
        if (iriVar) linkColumns[iriVar] = true;
        var label = labelVar ? row[labelVar].value : iri ? shorten(iri, prefixes) : row[v].value;
        var title = label + (iri && label !== shorten(iri, prefixes) ? " (" + shorten(iri, prefixes) + ")" : "");
        points.push({ lon: point[0], lat: point[1], label: label, title: title, iri: iri, href: iri ? href(iri) : null,
          wkt: row[v].value });
      });
    });
    return { points: points, skipped: skipped, wktColumns: Object.keys(wktColumns), linkColumns: Object.keys(linkColumns) };
  };

  MapView.prototype.draw = function () {
    var found = this.read();
    var figure = document.createElement("figure");
    figure.className = "kg-map kg-map-results";
    var canvas = document.createElement("div");
    canvas.className = "kg-map-canvas";
    var caption = document.createElement("figcaption");
    var names = function (vars) { return vars.map(function (v) { return "?" + v; }).join(", "); };
    caption.textContent = found.points.length + " point" + (found.points.length === 1 ? "" : "s") + " from " +
      names(found.wktColumns) + (found.linkColumns.length ? ", each a link to the row's " + names(found.linkColumns) : "") + "." +
      (found.skipped ? " " + found.skipped + " WKT value" + (found.skipped === 1 ? " is" : "s are") +
        " not a point on WGS 84 and not shown." : "") + " Country outlines from Natural Earth.";
    figure.appendChild(canvas);
    figure.appendChild(caption);
    this.yasr.resultsEl.appendChild(figure);
    return window.kgMap.draw(canvas, {
      kind: "results", points: found.points, atlas: config.atlas, title: "Map of the query results",
      description: found.points.length + " result" + (found.points.length === 1 ? "" : "s") +
        " with a point, on an outline map of the world's countries.",
    }).then(function () { figure.setAttribute("data-state", "drawn"); });
  };

  MapView.prototype.getIcon = function () {
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", GLOBE);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    var icon = document.createElement("span");
    icon.appendChild(svg);
    return icon;
  };

  /** The points as GeoJSON, for the download button. */
  MapView.prototype.download = function (filename) {
    var view = this;
    return {
      getData: function () {
        return JSON.stringify({ type: "FeatureCollection", features: view.read().points.map(function (p) {
          return { type: "Feature", geometry: { type: "Point", coordinates: [p.lon, p.lat] },
            properties: { label: p.label, iri: p.iri } };
        }) }, null, 1);
      },
      filename: (filename || "queryResults") + ".geojson",
      contentType: "application/geo+json",
      title: "Download the points as GeoJSON",
    };
  };

  Yasgui.Yasr.registerPlugin("map", MapView);
})();
