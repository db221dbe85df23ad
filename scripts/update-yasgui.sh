#!/usr/bin/env bash
# Vendor YASGUI's browser bundle from npm into kg/web/static/yasgui/, so the query editor needs no CDN
# at run time and works offline. Run it again (after changing VERSION) to upgrade; needs node and npm.
#
# Copies, unchanged, build/yasgui.min.js and build/yasgui.min.css of @zazuko/yasgui, and writes
# LICENSE: YASGUI's licence (the npm package declares MIT but ships no licence file) followed by the
# licence of every package bundled into those two files.
set -euo pipefail

PACKAGE=@zazuko/yasgui
VERSION=4.6.2

cd "$(dirname "$0")/.."
. scripts/_npm.sh
dest=kg/web/static/yasgui
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm_install_exact "$work" "$PACKAGE@$VERSION"
package="$work/node_modules/$PACKAGE"

rm -rf "$dest"
mkdir -p "$dest"
cp "$package/build/yasgui.min.js" "$package/build/yasgui.min.css" "$dest/"

node - "$work/node_modules" "$PACKAGE" > "$dest/LICENSE" <<'JS'
const fs = require("fs");
const path = require("path");
const [modules, main] = process.argv.slice(2);
const LICENSE_FILE = /^(licen[cs]e|copying)(\.(md|txt))?$/i;
const MIT = `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`;

function packages(dir) {  // every installed package under a node_modules folder, nested ones too
  const found = [];
  for (const entry of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, entry);
    if (entry.startsWith(".")) continue;
    if (entry.startsWith("@")) { found.push(...packages(full)); continue; }
    if (!fs.existsSync(path.join(full, "package.json"))) continue;
    found.push(full);
    const nested = path.join(full, "node_modules");
    if (fs.existsSync(nested)) found.push(...packages(nested));
  }
  return found;
}
const person = (p) => (typeof p === "string" ? p : p && p.name) || "";
const licenseText = (dir) => {
  const file = fs.readdirSync(dir).sort().find((f) => LICENSE_FILE.test(f));
  return file ? fs.readFileSync(path.join(dir, file), "utf8").trim() : null;
};

const dir = path.join(modules, main);
const pkg = require(path.join(dir, "package.json"));
const holders = [person(pkg.author), ...(pkg.contributors || []).map(person)].filter(Boolean).join(", ");
const out = [];
out.push(`YASGUI: ${pkg.name} ${pkg.version} from npm (https://www.npmjs.com/package/${pkg.name}),`);
out.push(`source ${(pkg.repository && pkg.repository.url) || pkg.homepage}.`);
out.push(`yasgui.min.js and yasgui.min.css are the package's build/ files, copied unchanged by`);
out.push(`scripts/update-yasgui.sh.`, "");
const own = licenseText(dir);
if (own) out.push(own);
else out.push(`License: ${pkg.license} (declared in the package's package.json; the package ships no licence file).`,
              `Authors: ${holders}.`, "", `${pkg.license} License`, "", `Copyright (c) ${holders}`, "", MIT);

out.push("", "", "Third-party packages bundled into yasgui.min.js and yasgui.min.css",
         "=================================================================", "",
         "As installed by npm for the version above; the licence texts are those the packages ship.");
for (const d of packages(modules)) {
  const p = require(path.join(d, "package.json"));
  if (p.name === main || p.name.startsWith("@types/")) continue;
  const license = typeof p.license === "string" ? p.license : (p.license && p.license.type) || "see below";
  out.push("", "-".repeat(72), `${p.name} ${p.version} (${license.replace(/^\((.*)\)$/, "$1")})`, "");
  out.push(licenseText(d) || "(The package ships no licence file.)");
}
process.stdout.write(out.join("\n") + "\n");
JS

ls -l "$dest"
du -sh "$dest"
