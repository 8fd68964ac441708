#!/usr/bin/env bash
# Run every hub benchmark (about 80 s):
#   bash bench/run_all.sh [--quick] [--only issue,push,eventlet] [--ref HEAD] [--variant nagle] [--json FILE]
# Needs wrk (Debian: apt-get install wrk) and the project's virtualenv (.venv) with
# aiohttp (python-socketio's asyncio client uses it); aiohttp is installed into .venv
# when it is missing. eventlet is optional (the eventlet smoke run is skipped without it).
set -euo pipefail
cd "$(dirname "$0")/.."
python=".venv/bin/python"
[ -x "$python" ] || python="python3"
if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk is missing: apt-get install -y wrk (the issuance bench is skipped without it)" >&2
fi
if ! "$python" -c "import aiohttp" 2>/dev/null; then
    if [ "$python" = ".venv/bin/python" ]; then
        echo "installing aiohttp into .venv (the bench's Socket.IO clients need it)" >&2
        "$python" -m pip install -q "aiohttp>=3.9"
    else
        echo "aiohttp is missing: $python -m pip install aiohttp" >&2
        exit 2
    fi
fi
exec timeout 600 "$python" -m bench "$@"
