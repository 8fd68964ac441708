"""The hub used as a stranger would: what people in the hall and on the internet send that
the other tests did not. Each test is a defect found that way, through public interfaces."""

import pytest

from tests.helpers import shown_text


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
