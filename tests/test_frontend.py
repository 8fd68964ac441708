"""The web front end's shape: one shared live connection (static/live.js), labels from the
pages' data blocks, every page on base.html with its top bar, links through url_for."""

import json
import re
from pathlib import Path

from tests.helpers import add_user, sign_in, text

WEB = Path(__file__).resolve().parent.parent / "hallserver" / "web"
STATIC = WEB / "static"
TEMPLATES = WEB / "templates"
LIVE_PAGES = {"board.js": "citizen/display.html", "counter.js": "staff/counter.html",
              "dashboard.js": "supervisor/dashboard.html", "kiosk.js": "citizen/kiosk.html",
              "rating.js": "feedback/rating_tablet.html", "track.js": "citizen/track.html"}
PARTIALS = {"base.html", "_lang.html", "feedback/_rating_form.html", "booking/slots.html"}
VIETNAMESE = re.compile(r"[À-ỹ]")


def code_of(script):
    """A script without its comments."""
    script = re.sub(r"/\*.*?\*/", "", script, flags=re.S)
    return "\n".join(line for line in script.splitlines() if not line.strip().startswith("//"))


def test_only_live_js_opens_the_socket():
    for name, template in LIVE_PAGES.items():
        script = (STATIC / name).read_text(encoding="utf-8")
        assert not re.search(r"\bio\(", script) and "HallLive.connect(" in script, name
        page = (TEMPLATES / template).read_text(encoding="utf-8")
        assert page.index("filename='live.js'") < page.index(f"filename='{name}'"), template
    assert len(re.findall(r"\bio\(", (STATIC / "live.js").read_text(encoding="utf-8"))) == 1


def test_page_scripts_hold_no_words_and_no_paths():
    for path in STATIC.glob("*.js"):
        script = code_of(path.read_text(encoding="utf-8"))
        assert not VIETNAMESE.search(script), f"{path.name}: labels belong in the page's data block"
        assert not re.search(r"""["'`]/[a-z]""", script), f"{path.name}: URLs belong in the page's data block"


def test_every_page_extends_base_and_links_through_url_for():
    for path in TEMPLATES.rglob("*.html"):
        name = path.relative_to(TEMPLATES).as_posix()
        page = path.read_text(encoding="utf-8")
        assert not re.search(r"""(href|action|src)=["']/""", page), name
        if name not in PARTIALS:
            assert page.startswith('{% extends "base.html" %}'), name


def test_top_bar_with_the_signed_in_account(app, store, client):
    home = text(client.get("/"))
    assert 'id="topbar"' in home and "Hàng đợi hiện tại" in home and 'id="signed-in"' not in home
    add_user(store, "lan", counters=(1,), display_name="Nguyễn Thị Lan")
    sign_in(client, "lan")
    page = text(client.get("/counter/1"))
    bar = page[page.index('id="topbar"'):page.index("</header>")]
    assert "Nguyễn Thị Lan" in bar and 'action="/dang-xuat"' in bar and 'id="connection"' in bar
    data = json.loads(re.search(r'id="hall-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert data["counter"] == 1 and data["urls"]["action"] == "/counter/1/action/ACTION"
    assert data["text"]["status"]["waiting"] == "Đang chờ"


def test_full_screen_pages_hide_the_top_bar(client):
    display = text(client.get("/display"))
    assert 'id="topbar"' not in display and "Bấm để bật âm thanh" in display
    data = json.loads(re.search(r'id="board-data" type="application/json">(.*?)</script>', display, re.S).group(1))
    assert data["text"]["counter"] == "Quầy {counter}" and data["urls"]["manifest"] == "/sounds/manifest.json"
    assert 'id="topbar"' in text(client.get("/lay-so"))
