#!/usr/bin/env bash
# Vendor what the maps draw with from npm into kg/web/static/map/, so the pages and the query editor's map
# view need no CDN and no tile server at run time and work offline. Run it again (after changing a version)
# to upgrade; needs node and npm.
#
# Copies, unchanged:
#   d3-array.min.js, d3-geo.min.js    the UMD builds of d3-array (which bundles internmap) and d3-geo, which
#                                     needs d3-array: projections, paths, bounds
#   topojson-client.min.js            TopoJSON -> GeoJSON in the browser
#   countries-110m.json               Natural Earth 1:110m country outlines (world-atlas): what the maps draw
#   countries-50m.json                Natural Earth 1:50m country outlines: drawn by nothing, kept for the test
#                                     that each city's point lies in its country (ISO 3166-1 numeric `id`)
# and writes LICENSE: the licence of every package whose files are copied or bundled into them.
set -euo pipefail

PACKAGES=(d3-array@3.2.5 d3-geo@3.1.2 topojson-client@3.1.0 world-atlas@2.0.2)

cd "$(dirname "$0")/.."
. scripts/_npm.sh
dest=kg/web/static/map
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm_install_exact "$work" "${PACKAGES[@]}"
modules="$work/node_modules"
# d3-geo's UMD build requires d3-array; that d3-array's own build bundles internmap (no require of it).
if grep -q 'require("internmap")' "$modules/d3-array/dist/d3-array.min.js"; then
    echo "d3-array.min.js no longer bundles internmap: vendor it too" >&2; exit 1
fi

rm -rf "$dest"
mkdir -p "$dest"
cp "$modules/d3-array/dist/d3-array.min.js" "$modules/d3-geo/dist/d3-geo.min.js" \
   "$modules/topojson-client/dist/topojson-client.min.js" \
   "$modules/world-atlas/countries-110m.json" "$modules/world-atlas/countries-50m.json" "$dest/"

node - "$modules" d3-array internmap d3-geo topojson-client world-atlas > "$dest/LICENSE" <<'JS'
const fs = require("fs");
const path = require("path");
const [modules, ...names] = process.argv.slice(2);
const LICENSE_FILE = /^(licen[cs]e|copying)(\.(md|txt))?$/i;
const FILES = {
  "d3-array": "d3-array.min.js (dist/d3-array.min.js)",
  "internmap": "bundled into d3-array.min.js by d3-array's own build",
  "d3-geo": "d3-geo.min.js (dist/d3-geo.min.js)",
  "topojson-client": "topojson-client.min.js (dist/topojson-client.min.js)",
  "world-atlas": "countries-110m.json and countries-50m.json",
};
const out = [
  "The files in this folder were copied unchanged from these npm packages by scripts/update-map.sh.",
  "The maps around them (kg/web/static/map.js, editor-map.js) are ours, under the project's licence.",
  "",
  "world-atlas's country outlines are derived from Natural Earth (https://www.naturalearthdata.com/),",
  "whose data are in the public domain; the package itself is under the licence below.",
];
for (const name of names) {
  const dir = path.join(modules, name);
  const p = require(path.join(dir, "package.json"));
  const file = fs.readdirSync(dir).sort().find((f) => LICENSE_FILE.test(f));
  const license = typeof p.license === "string" ? p.license : (p.license && p.license.type) || "see below";
  out.push("", "-".repeat(72), `${p.name} ${p.version} (${license}), https://www.npmjs.com/package/${p.name}`,
           `source ${(p.repository && (p.repository.url || p.repository)) || p.homepage}`, `files: ${FILES[name]}`, "");
  out.push(file ? fs.readFileSync(path.join(dir, file), "utf8").trim() : "(The package ships no licence file.)");
}
process.stdout.write(out.join("\n") + "\n");
JS

ls -l "$dest"
du -sh "$dest"
