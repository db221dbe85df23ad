// The query editor page: YASGUI on our endpoint, with our prefixes and the competency questions as examples.
(function () {
  "use strict";

  function readJson(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }

  var config = readJson("kg-editor-config");
  var examples = readJson("examples");
  var status = document.getElementById("editor-status");
  var container = document.getElementById("yasgui");
  // The endpoint is this server's /sparql, wherever the site is mounted.
  var endpoint = new URL(config.endpoint, window.location.href).href;

  function announce(message) {
    if (status) status.textContent = message;
  }

  var Yasgui = window.Yasgui;
  if (!Yasgui) {
    container.textContent = "The query editor could not be loaded. You can still send queries to " + endpoint + ".";
    return;
  }

  // Work offline: the "property" and "class" autocompleters ask lov.linkeddata.es, so only keep the local ones,
  // and complete prefix declarations from our own prefix table instead of prefix.cc.
  Yasgui.Yasqe.defaults.autocompleters = ["variables", "prefixes"];
  var prefixTable = URL.createObjectURL(new Blob([JSON.stringify(config.prefixes)], { type: "application/json" }));

  var yasgui = new Yasgui(container, {
    persistenceId: "kg-yasgui",
    // YASGUI focuses the editor whenever a tab is shown, the page's first one too: the skip link and the site's
    // navigation must come first for a keyboard user, as on every other page.
    autofocus: false,
    tabName: "Query",
    copyEndpointOnNewTab: false,
    requestConfig: { endpoint: endpoint, method: "POST" },
    endpointCatalogueOptions: {
      getData: function () {
        return [{ endpoint: endpoint }];
      },
    },
    yasqe: {
      value: config.defaultQuery,
      collapsePrefixesOnLoad: true,
      prefixCcApi: prefixTable,
    },
    // Results show our IRIs with our prefixes (the query's own declarations take precedence).
    yasr: { prefixes: config.prefixes },
  });

  // Results: links to our own IRIs open our page for them in this tab (YASR opens every IRI in a new window,
  // at its persistent address); literals read as their value, with the language or datatype set apart, rather
  // than as SPARQL syntax ("Amsterdam"@en).
  var base = config.base;
  function localise(link) {
    var href = link.getAttribute("href") || "";
    if (href.indexOf(base) !== 0 || href.length === base.length) return;
    link.setAttribute("href", new URL(href.substring(base.length - 1), window.location.href).pathname);
    link.removeAttribute("target");
    link.removeAttribute("rel");
    link.title = href;
  }
  function readable(cell) {
    var first = cell.firstChild;
    if (!first || first.nodeType !== Node.TEXT_NODE) return;
    var text = first.textContent;
    if (text.length < 2 || text.charAt(0) !== '"') return;
    var tag = cell.querySelector("sup");
    first.textContent = text.replace(/^"/, "").replace(/"$/, "");
    if (tag) {
      var label = document.createElement("span");
      label.className = "literal-tag";
      label.textContent = tag.textContent.replace(/^@|^\^\^/, "");
      tag.replaceWith(label);
    }
  }
  // YASGUI's controls without a name, as axe-core finds them (tests/test_accessibility.py): each gets one.
  var NAMES = [
    [".CodeMirror textarea", "SPARQL query"],
    [".yasgui input.autocomplete", "SPARQL endpoint"],
    [".yasr .tableFilter", "Filter the results"],
    [".yasr .tableSizer", "Results per page"],
  ];
  function name(root) {
    NAMES.forEach(function (pair) {
      root.querySelectorAll(pair[0] + ":not([aria-label])").forEach(function (control) {
        control.setAttribute("aria-label", pair[1]);
      });
    });
    // The tab list may hold only tabs: the "+" that adds one is announced as a tab that is not selected.
    root.querySelectorAll(".tabsList button.addTab:not([role])").forEach(function (button) {
      button.setAttribute("role", "tab");
      button.setAttribute("aria-selected", "false");
    });
    // The results' row-number column has an empty header.
    root.querySelectorAll(".yasr table.dataTable thead th:first-child .dt-column-title:empty").forEach(function (title) {
      var text = document.createElement("span");
      text.className = "visually-hidden";
      text.textContent = "Row";
      title.appendChild(text);
    });
  }
  function tidy(root) {
    name(root);
    root.querySelectorAll(".yasr table a.iri:not([data-kg])").forEach(function (link) {
      link.setAttribute("data-kg", "");
      localise(link);
    });
    root.querySelectorAll(".yasr table .nonIri:not([data-kg])").forEach(function (cell) {
      cell.setAttribute("data-kg", "");
      readable(cell);
    });
  }
  new MutationObserver(function () {
    tidy(container);
  }).observe(container, { childList: true, subtree: true });

  // A query the endpoint cannot parse: say so in words, point at the place, and put the cursor there. YASR
  // only shows the endpoint's terse "error at 1:25: expected one of …".
  var PARSE_ERROR = /error at (\d+):(\d+): expected (.*)$/m;
  function explain(tab) {
    var panel = document.getElementById(tab.getId());
    if (!panel) return;
    var old = panel.querySelector(".query-problem");
    if (old) old.remove();
    var results = tab.getYasr().results;
    var error = results && results.getError && results.getError();
    var match = PARSE_ERROR.exec((error && error.text) || "");
    if (!match) return;
    var line = parseInt(match[1], 10), column = parseInt(match[2], 10);
    var yasqe = tab.getYasqe();
    var before = (yasqe.getLine(line - 1) || "").substring(0, column - 1).trim().slice(-30);
    var note = document.createElement("p");
    note.className = "query-problem";
    note.setAttribute("role", "alert");
    note.textContent = "The query could not be read at line " + line + ", column " + column +
      (before ? ", just after \u201c" + before + "\u201d" : "") + ": SPARQL expected something else there (" +
      match[3].trim() + "). Look for a missing value, bracket, full stop or quotation mark; the cursor is at that place.";
    var yasr = panel.querySelector(".yasr");
    yasr.parentNode.insertBefore(note, yasr);
    yasqe.focus();
    yasqe.setCursor({ line: line - 1, ch: column - 1 });
  }
  yasgui.on("queryResponse", function (_yasgui, tab) {
    setTimeout(function () {
      explain(tab);
    }, 0); // the tab hands the response to YASR after this event
  });

  var byName = {};
  examples.forEach(function (example) {
    byName[example.name] = example;
  });

  function openExample(name) {
    var example = byName[name];
    if (!example) return;
    var label = example.title;
    var tab = yasgui.addTab(
      true,
      { name: label, yasqe: { value: example.query }, requestConfig: { endpoint: endpoint, method: "POST" } },
      { avoidDuplicateTabs: true }
    );
    yasgui.selectTabId(tab.getId());
    var yasqe = tab.getYasqe();
    if (yasqe) {
      yasqe.collapsePrefixes(false); // an example's few declarations are part of what it shows
      yasqe.focus();
    }
    announce("Opened " + name + " in the editor tab " + label + ". Run it with Ctrl+Enter.");
  }

  document.querySelectorAll("button.example").forEach(function (button) {
    button.addEventListener("click", function () {
      openExample(button.getAttribute("data-example"));
    });
  });

  window.kgEditor = { yasgui: yasgui, openExample: openExample, endpoint: endpoint };
})();
