#!/usr/bin/env bash
# Vendor axe-core (Deque's accessibility engine) from npm into tests/vendor/axe-core/, so the browser tests
# (tests/test_accessibility.py) run it offline. Run it again (after changing VERSION) to upgrade; needs node
# and npm. Copies, unchanged, axe.min.js and LICENSE (MPL-2.0) of the package, and writes VERSION with the
# package's version and the tarball's integrity hash as npm reports it.
set -euo pipefail

PACKAGE=axe-core
VERSION=4.14.1

cd "$(dirname "$0")/.."
. scripts/_npm.sh
dest=tests/vendor/axe-core
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm_install_exact "$work" "$PACKAGE@$VERSION"
package="$work/node_modules/$PACKAGE"
integrity=$(node -p 'require(process.argv[1]).packages["node_modules/axe-core"].integrity' "$work/package-lock.json")

rm -rf "$dest"
mkdir -p "$dest"
cp "$package/axe.min.js" "$package/LICENSE" "$dest/"
cat > "$dest/VERSION" <<TXT
$PACKAGE $VERSION from npm (https://www.npmjs.com/package/$PACKAGE), source https://github.com/dequelabs/axe-core
tarball integrity $integrity
axe.min.js and LICENSE are the package's own files, copied unchanged by scripts/update-axe.sh.
TXT
ls -l "$dest"
