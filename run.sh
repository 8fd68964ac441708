#!/usr/bin/env bash
# Hall Queue: set up and run.
#   ./run.sh [serve ...] set up, initialise var/hall.db with the demo hall, start the hub on :5000
#                       (HALL_HOST, HALL_PORT; words after serve go to hallserver serve)
#   ./run.sh test [...] set up, lint (ruff) and run the tests (extra arguments go to pytest,
#                       e.g. ./run.sh test -m "not browser" for a fast loop)
#   ./run.sh display    start the hall screen client against the local hub (or HALL_HUB)
#   ./run.sh bench      run the benchmarks (bench/README.md)
#   ./run.sh lock       refresh the pinned versions in requirements/ from setup.cfg
#
# Python packages install at the exact versions of requirements/lock-py<version>.txt, so
# every machine runs what the tests passed with; upgrades happen on purpose (./run.sh lock).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV=".venv"
EXTRAS="display,test"
export HALL_DB="${HALL_DB:-var/hall.db}"
# Debian packages: venv (Debian's Python makes none without it), the offline voice and sound
# tools, fonts with Vietnamese glyphs, the browser the page tests drive (Playwright uses Debian's chromium), systemd-analyze to
# check the unit files under deploy/, and Redis and nginx that several hub processes run with
# (the tests run deploy/nginx-hall-queue.conf before two hubs).
DEBIAN_PACKAGES=(python3-venv espeak-ng sox libsox-fmt-mp3 fonts-dejavu-core fonts-noto-core chromium systemd libusb-1.0-0
                 redis-server nginx)

debian_packages() {
    local missing=()
    local wanted=("${DEBIAN_PACKAGES[@]}" "$@")
    command -v dpkg-query >/dev/null || return 0
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        echo "Cài gói Debian / installing Debian packages: ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "Thiếu gói / missing Debian packages: sudo apt-get install ${missing[*]}" >&2
        return 1
    fi
}

python_env() {
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "Cần Python 3.11 trở lên / Python 3.11 or newer is required ($PYTHON)" >&2
        exit 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV" || {
            echo "Không tạo được môi trường ảo / cannot create a venv: apt-get install python3-venv" >&2
            exit 1
        }
    fi
    local lock
    lock="$(lock_file)"
    # Reinstall only when the project's metadata or the lock changed since the last install.
    if [ ! -f "$VENV/.installed" ] || [ setup.cfg -nt "$VENV/.installed" ] ||
       [ pyproject.toml -nt "$VENV/.installed" ] || { [ -f "$lock" ] && [ "$lock" -nt "$VENV/.installed" ]; }; then
        echo "Cài đặt / installing the project into $VENV (log: var/install.log) ..."
        pip_install "$EXTRAS"
        touch "$VENV/.installed"
    fi
}

# requirements/lock-py3.11.txt for Python 3.11, and so on.
lock_file() {
    echo "requirements/lock-py$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])').txt"
}

# Install the project with the given extras, pinned by the lock of this Python.
pip_install() {
    local lock constraint=()
    lock="$(lock_file)"
    if [ -f "$lock" ]; then
        constraint=(-c "$lock")
    else
        echo "Chưa có bản khoá cho Python này / no lock for this Python ($lock): versions are not pinned;" \
             "run ./run.sh lock and commit it" >&2
    fi
    mkdir -p var
    # pip's own chatter goes to the log; it is shown only if the install fails.
    if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
           "$VENV/bin/python" -m pip install -q "${constraint[@]}" -e ".[$1]"; } > var/install.log 2>&1; then
        cat var/install.log >&2
        echo "Cài đặt thất bại / install failed (see above)" >&2
        exit 1
    fi
}

hall_db() {
    if [ ! -f "$HALL_DB" ]; then
        "$VENV/bin/hallserver" init
    fi
}

command="${1:-serve}"
[ $# -gt 0 ] && shift
case "$command" in
    serve)
        debian_packages || true
        python_env
        hall_db
        exec "$VENV/bin/hallserver" serve --host "${HALL_HOST:-0.0.0.0}" --port "${HALL_PORT:-5000}" "$@"
        ;;
    test)
        debian_packages
        python_env
        hall_db
        echo "ruff check ..."
        "$VENV/bin/ruff" check --quiet . || { echo "Lint thất bại / lint failed: ruff check ." >&2; exit 1; }
        # Two workers (pytest-xdist): most of a test's time is a hub process or Chromium starting,
        # so two cores run the suite in about half the time. HALL_TEST_WORKERS=0 runs it in one process.
        exec "$VENV/bin/python" -m pytest -n "${HALL_TEST_WORKERS:-2}" "$@"
        ;;
    display)
        debian_packages || true
        python_env
        exec "$VENV/bin/hall-display" --hub "${HALL_HUB:-http://127.0.0.1:${HALL_PORT:-5000}}" "$@"
        ;;
    bench)
        debian_packages wrk
        python_env
        pip_install "$EXTRAS,bench"
        exec bash bench/run_all.sh "$@"
        ;;
    lock)
        python_env
        pip_install "$EXTRAS,lock"
        lock="$(lock_file)"
        mkdir -p requirements
        # Every extra, so one lock pins whatever a machine installs; index URLs stay out of it.
        "$VENV/bin/pip-compile" --quiet --all-extras --strip-extras --allow-unsafe --no-emit-index-url \
            --no-emit-find-links --upgrade --output-file="$lock" pyproject.toml
        echo "Đã cập nhật / refreshed $lock: run ./run.sh test, then commit it"
        ;;
    *)
        echo "usage: ./run.sh [serve|test|display|bench|lock]" >&2
        exit 2
        ;;
esac
