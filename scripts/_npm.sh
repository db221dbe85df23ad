# Sourced by the scripts/update-*.sh that vendor npm packages: one way to fetch exact versions.
#
#   npm_install_exact WORK NAME@VERSION...
# installs the packages (no scripts run, no dev dependencies) into a fresh npm project in WORK and fails
# unless npm installed exactly each version asked for; the packages are then in WORK/node_modules.

npm_install_exact() {
    local work=$1 spec name version installed
    shift
    (
        cd "$work"
        npm init --yes >/dev/null
        npm install --no-audit --no-fund --ignore-scripts --omit=dev --loglevel=error "$@" >/dev/null
    )
    for spec in "$@"; do
        name=${spec%@*} version=${spec##*@}
        installed=$(node -p 'require(process.argv[1]).version' "$work/node_modules/$name/package.json")
        [ "$installed" = "$version" ] || { echo "expected $name $version, npm installed $installed" >&2; return 1; }
    done
}
