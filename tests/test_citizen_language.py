"""Which language a citizen's page speaks (a choice, else the browser's Accept-Language on
the citizen's own device, else Vietnamese), English names and plurals, language links that
keep the query, and what a tracking page says after a no-show."""

import html
import json
import re

import pytest

from tests.helpers import bearer, shown_text


def lay_so(client, accept_language=None, query=""):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    return shown_text(client.get(f"/lay-so{query}", headers=headers))


@pytest.mark.parametrize("accept_language, english", [
    (None, False),
    ("en-US,en;q=0.9", True),
    ("en-GB", True),
    ("vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", False),
    ("en;q=0.5,vi;q=0.9", False),       # by quality, not by place in the header
    ("fr-FR,fr;q=0.9,en;q=0.8", True),  # English before Vietnamese
    ("fr-FR,de;q=0.8", False),
    ("*", False),
])
def test_the_browser_language_chooses_when_nothing_was_picked(client, accept_language, english):
    text = lay_so(client, accept_language)
    assert ("Take a number online" in text) is english
    assert ("Lấy số trực tuyến" in text) is not english


def test_a_choice_beats_the_browser_and_is_remembered(client):
    assert "Lấy số trực tuyến" in lay_so(client, "en-US", "?lang=vi")
    assert "Lấy số trực tuyến" in lay_so(client, "en-US")
    assert "Take a number online" in lay_so(client, "vi-VN", "?lang=en")
    assert "Take a number online" in lay_so(client, "vi-VN")


@pytest.mark.parametrize("path", ["/kiosk/ghep-noi", "/danh-gia/1/ghep-noi", "/dang-nhap"])
def test_the_halls_devices_and_staff_pages_start_in_vietnamese(client, path):
    """A kiosk or tablet whose browser says English still greets the hall in Vietnamese."""
    answer = client.get(path, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert answer.status_code == 200
    assert "Ghép nối" in shown_text(answer) or "Đăng nhập" in shown_text(answer)


def test_language_links_keep_the_query(client):
    page = client.get("/thu-tuc?q=ket+hon&dich_vu=HT").get_data(as_text=True)
    links = dict(re.findall(r'<a href="([^"]+)" hreflang="(\w+)"', page))
    hrefs = {language: html.unescape(href) for href, language in links.items()}
    assert hrefs == {"vi": "/thu-tuc?q=ket+hon&dich_vu=HT&lang=vi", "en": "/thu-tuc?q=ket+hon&dich_vu=HT&lang=en"}
    again = client.get("/thu-tuc?q=ket+hon&lang=en").get_data(as_text=True)
    assert 'href="/thu-tuc?q=ket+hon&amp;lang=vi"' in again  # lang replaced, not repeated


def test_english_names_and_plurals_on_take_number(client, tokens):
    for _ in range(3):
        client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    client.post("/api/v1/tickets", json={"service": "CT"}, headers=bearer(tokens["kiosk"]))
    english = lay_so(client, query="?lang=en")
    assert "Civil status" in english and "Hộ tịch" not in english
    assert "Demo Commune Public Administration Service Center" in english
    assert "Waiting: 3 people" in english and "Waiting: 1 person" in english
    vietnamese = lay_so(client, query="?lang=vi")
    assert "Hộ tịch" in vietnamese and "Đang chờ: 3 người" in vietnamese and "Đang chờ: 1 người" in vietnamese


def track_data(page):
    return json.loads(re.search(r'<script id="track-data" type="application/json">(.*?)</script>', page, re.S)[1])


def test_tracking_page_carries_both_names_and_plural_forms(client, tokens):
    ticket = client.post("/api/v1/tickets", json={"service": "HT", "priority": "elderly"},
                         headers=bearer(tokens["kiosk"])).get_json()["ticket"]
    page = client.get(f"/t/{ticket['track_token']}?lang=en").get_data(as_text=True)
    assert 'id="service">Civil status<' in page
    assert "Priority: <span id=\"priority-name\">Elderly</span>" in page
    data = track_data(page)
    assert data["lang"] == "en"
    assert data["names"]["services"]["CT"] == {"name": "Chứng thực", "name_en": "Certification"}
    assert data["names"]["priorities"]["elderly"] == {"name": "Người cao tuổi", "name_en": "Elderly"}
    assert data["text"]["ahead"] == {"one": "{count} person ahead", "other": "{count} people ahead"}
    assert data["text"]["minutes"] == {"one": "about {count} minute", "other": "about {count} minutes"}
    vietnamese = track_data(client.get(f"/t/{ticket['track_token']}?lang=vi").get_data(as_text=True))
    assert vietnamese["text"]["ahead"] == {"one": "{count} người phía trước", "other": "{count} người phía trước"}


def test_a_no_show_is_told_where_to_go_and_offered_a_new_number(client, tokens):
    kiosk, counter = bearer(tokens["kiosk"]), bearer(tokens["counter1"])
    ticket = client.post("/api/v1/tickets", json={"service": "HT"}, headers=kiosk).get_json()["ticket"]
    for action in ("call-next", "no-show"):
        assert client.post(f"/api/v1/counters/1/{action}", json={}, headers=counter).status_code == 200
    tracked = client.get(f"/api/v1/tickets/{ticket['track_token']}").get_json()["ticket"]
    assert tracked["status"] == "no_show" and tracked["counter"] == 1   # where to ask to be called again
    page = client.get(f"/t/{ticket['track_token']}")
    text = shown_text(page)
    assert "Bạn đã bị đánh dấu vắng mặt: hãy đến quầy số 1 hôm nay để được gọi lại, hoặc lấy số mới." in text
    assert 'href="/lay-so?dich_vu=HT"' in page.get_data(as_text=True)
    english = shown_text(client.get(f"/t/{ticket['track_token']}?lang=en"))
    assert "You were marked absent: go to counter 1 today to be called again, or take a new number." in english
