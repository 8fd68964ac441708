#!/bin/sh
# Hall Queue: the browser hall screen (màn hình sảnh trên trình duyệt) in Chromium kiosk mode.
#
# A TV or mini PC that boots after a power cut must show the board AND speak without anyone
# touching it: Chromium is started full screen with --autoplay-policy=no-user-gesture-required,
# which lets the page play the announcements at once (otherwise it shows "Bấm để bật âm thanh").
#
#   hall-screen-browser.sh [HUB_URL]     e.g. hall-screen-browser.sh http://192.168.1.10:5000
#   hall-screen-browser.sh --print       print the Chromium command instead of running it (once
#                                        the hub answers, like the real start)
#
# Settings (the first found wins): the HUB_URL argument; the environment; the file
# ${XDG_CONFIG_HOME:-~/.config}/hall-screen.conf (shell syntax, e.g. HALL_HUB=http://192.168.1.10:5000).
#   HALL_HUB            the hub's address                    (default http://192.168.1.10:5000)
#   HALL_SCREEN_NAME    how the dashboard names this screen  (e.g. "Sảnh tầng 1"; default: none)
#   HALL_SCREEN_QUERY   more of the page's query, e.g. "counters=1-5" or "sound=off"
#   HALL_CHROMIUM       the browser program                  (default: chromium, else chromium-browser)
#   HALL_CHROMIUM_FLAGS extra flags for it
#   HALL_PROFILE        Chromium's profile folder, kept across reboots: it holds the screen's id
#                       (default ${XDG_CONFIG_HOME:-~/.config}/hall-screen-chromium)
# It waits for the hub to answer before opening the page (hub and screen often boot together
# after a power cut, and Chromium would stay on its error page); the page itself reconnects
# after any later loss. Started by deploy/hall-screen-browser.service (a systemd user unit)
# or deploy/hall-screen-browser.desktop (desktop autostart); see README.md.
set -u

config="${XDG_CONFIG_HOME:-$HOME/.config}/hall-screen.conf"
# shellcheck disable=SC1090
[ -r "$config" ] && . "$config"

print_only=no
case "${1:-}" in
  --print) print_only=yes; shift ;;
  -h|--help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;   # the comment above
esac
[ $# -gt 0 ] && HALL_HUB="$1"

hub="${HALL_HUB:-http://192.168.1.10:5000}"
hub="${hub%/}"
profile="${HALL_PROFILE:-${XDG_CONFIG_HOME:-$HOME/.config}/hall-screen-chromium}"

# The page's address: /display, the screen's name and any extra query, URL-encoded by Python
# when the name has more than plain letters (Vietnamese names do).
url="$hub/display"
query=""
if [ -n "${HALL_SCREEN_NAME:-}" ]; then
  name=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$HALL_SCREEN_NAME" 2>/dev/null) \
    || name=$(printf '%s' "$HALL_SCREEN_NAME" | sed 's/ /%20/g')
  query="name=$name"
fi
if [ -n "${HALL_SCREEN_QUERY:-}" ]; then
  query="${query:+$query&}$HALL_SCREEN_QUERY"
fi
[ -n "$query" ] && url="$url?$query"

browser="${HALL_CHROMIUM:-}"
if [ -z "$browser" ]; then
  for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then browser="$candidate"; break; fi
  done
fi
if [ -z "$browser" ]; then
  echo "hall-screen-browser: no Chromium found (sudo apt install chromium), or set HALL_CHROMIUM" >&2
  exit 1
fi

# Wait for the hub: one try every 3 s, saying so every minute.
answers() {
  if command -v curl >/dev/null 2>&1; then
    curl --silent --fail --max-time 3 --output /dev/null "$hub/api/v1/state"
  else
    wget --quiet --timeout=3 --tries=1 --output-document=/dev/null "$hub/api/v1/state"
  fi
}
tries=0
until answers; do
  [ $((tries % 20)) -eq 0 ] && echo "hall-screen-browser: waiting for the hub at $hub ..." >&2
  tries=$((tries + 1))
  sleep 3
done

# After a power cut Chromium believes it crashed and offers to restore the last session over
# the page: mark the last exit clean.
mkdir -p "$profile"
preferences="$profile/Default/Preferences"
if [ -f "$preferences" ]; then
  sed -i 's/"exited_cleanly":false/"exited_cleanly":true/; s/"exit_type":"[^"]*"/"exit_type":"Normal"/' "$preferences"
fi

# No screen saver or power saving on an X11 desktop (Wayland desktops: see README.md).
if [ -n "${DISPLAY:-}" ] && command -v xset >/dev/null 2>&1; then
  xset s off -dpms s noblank 2>/dev/null || true
fi

# shellcheck disable=SC2086  # HALL_CHROMIUM_FLAGS is a list of flags
set -- "$browser" --kiosk --autoplay-policy=no-user-gesture-required \
  --user-data-dir="$profile" --no-first-run --noerrdialogs --disable-infobars \
  --disable-session-crashed-bubble --disable-features=Translate,TranslateUI \
  --check-for-update-interval=31536000 --overscroll-history-navigation=0 --disable-pinch \
  --password-store=basic ${HALL_CHROMIUM_FLAGS:-} "$url"

if [ "$print_only" = yes ]; then
  printf '%s\n' "$*"
  exit 0
fi
exec "$@"
