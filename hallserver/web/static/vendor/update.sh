#!/usr/bin/env bash
# Refresh the vendored libraries from the npm registry: ./update.sh
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() {  # fetch PACKAGE@VERSION into $work/NAME
    mkdir -p "$work/$2"
    (cd "$work/$2" && npm pack --silent "$1" >/dev/null && tar xzf ./*.tgz)
}
fetch socket.io-client@4.8.4 socketio
cp "$work/socketio/package/dist/socket.io.min.js" "$work/socketio/package/LICENSE" socket.io/
fetch chart.js@4.6.1 chartjs
cp "$work/chartjs/package/dist/chart.umd.min.js" "$work/chartjs/package/LICENSE.md" chart.js/
