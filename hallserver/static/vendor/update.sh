#!/usr/bin/env bash
# Refresh the vendored libraries from the npm registry: ./update.sh
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent socket.io-client@4.8.4 >/dev/null && tar xzf socket.io-client-*.tgz)
cp "$work/package/dist/socket.io.min.js" "$work/package/LICENSE" socket.io/
echo "socket.io-client: $(node -p "require('$work/package/package.json').version")"
