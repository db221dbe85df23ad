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

  var byName = {};
  examples.forEach(function (example) {
    byName[example.name] = example;
  });

  function openExample(name) {
    var example = byName[name];
    if (!example) return;
    var label = name.split("-")[0];
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
