"""The hub used as a stranger would: what people in the hall and on the internet send that
the other tests did not. Each test is a defect found that way, through public interfaces."""

import re

import pytest

from hallserver.core import normalise_phone
from tests.helpers import PHONE, csrf, shown_text


@pytest.fixture
def web(web_app):
    return web_app.test_client()


# -- pages answer in Vietnamese, whatever goes wrong --------------------------------------------

@pytest.mark.parametrize("method, path, body", [
    ("get", "/khong-co-trang-nay", None),          # a mistyped address
    ("get", "/t/", None),                          # a tracking link cut short
    ("get", "/counter/abc", None),                 # not a counter number
    ("delete", "/lay-so", None),                   # a method the page has not
    ("post", "/t/abc/danh-gia", "x" * 20000),      # a comment longer than any body the hub takes
])
def test_pages_never_answer_with_werkzeugs_english_error(web, method, path, body):
    answer = getattr(web, method)(path, data={"comment": body} if body else None)
    assert answer.status_code in (404, 405, 413)
    page = shown_text(answer)
    assert 'lang="vi"' in page and 'role="alert"' in page
    assert "The requested URL was not found" not in page and "Method Not Allowed" not in page
    assert "Request Entity Too Large" not in page
    if answer.status_code == 405:
        assert "POST" in answer.headers["Allow"]


def test_an_unknown_address_leads_a_citizen_back(web, web_app):
    page = shown_text(web.get("/dat-lich-cu"))
    assert "Không tìm thấy" in page and "/thu-tuc" in page and web_app.extensions["hall"].config.hotline in page


# -- phone numbers as people paste them ----------------------------------------------------------

@pytest.mark.parametrize("typed", [
    "\u202a0912 345 678\u202c",        # copied from a phone's contacts: wrapped in direction marks
    "0912\u200b345\u200b678",          # zero-width spaces from a chat message
    "\ufeff0912345678",                # a byte order mark from a pasted file
    "+84 (0) 912 345 678",             # the trunk 0 kept after the country code
    "0084 912 345 678",                # the international prefix dialled from abroad
])
def test_a_pasted_phone_number_is_the_same_phone(web, typed):
    assert normalise_phone(typed) == PHONE
    taken = web.post("/lay-so", data={"service": "HT", "phone": typed, "csrf_token": csrf(web, "/lay-so")})
    assert taken.status_code == 302 and "/t/" in taken.headers["Location"]


def test_a_wrong_phone_is_quoted_short(web):
    refused = web.post("/lay-so", data={"service": "HT", "phone": "0" * 5000, "csrf_token": csrf(web, "/lay-so")})
    assert refused.status_code == 422
    alert = re.search(r'role="alert">([^<]*)<', shown_text(refused)).group(1)
    assert alert == "Số điện thoại không hợp lệ: " + "0" * 20 + "…"
