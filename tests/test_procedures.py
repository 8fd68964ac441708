"""Procedures: the demo catalogue, accent-insensitive search, the pages, admin editing,
files refused with the key that is wrong, and the command line."""

import json
import re

import pytest

from hallserver.config import demo_config
from hallserver.core.procedures import demo_procedures, fold, parse_procedures, read_procedures_file
from hallserver.errors import ConfigError
from tests.helpers import add_user, csrf, run_cli, signed_in, text

SERVICES = {service.code for service in demo_config().services}


@pytest.fixture
def hall(web_app):
    return web_app.extensions["hall"]


def test_fold_drops_accents_and_folds_d():
    assert fold("Đăng ký KHAI SINH") == "dang ky khai sinh"
    assert fold("  Chứng thực, bản sao!  ") == "chung thuc ban sao"
    assert fold("Hòa giải tranh chấp đất đai") == "hoa giai tranh chap dat dai"


def test_the_demo_catalogue_is_complete():
    procedures = demo_procedures(SERVICES)
    assert 15 <= len(procedures) <= 20
    assert {procedure["service"] for procedure in procedures} == SERVICES
    for procedure in procedures:
        details = procedure["details"]
        assert details["documents"] and details["fee"] and details["processing_time"] and details["who"]
        assert details["legal_basis"] and details["online_url"].startswith("https://dichvucong.gov.vn")
        assert procedure["name_en"] != procedure["name"]


@pytest.mark.parametrize("query", ["đăng ký khai sinh", "dang ky khai sinh", "DANG KY KHAI SINH", "khai sinh",
                                   "Birth registration", "giay khai sinh"])
def test_search_is_accent_insensitive(hall, query):
    assert hall.procedures(query)[0]["code"] == "HT-KHAISINH"


def test_search_ranks_names_first_and_filters_by_service(hall):
    assert [p["code"] for p in hall.procedures("cu tru")] == ["TP-THUONGTRU", "TP-TAMTRU"]
    assert [p["code"] for p in hall.procedures("dat dai")][0] == "DD-HOAGIAI"
    assert {p["service"] for p in hall.procedures("", service="CT")} == {"CT"}
    assert hall.procedures("khong co thu tuc nay") == []
    assert len(hall.procedures("")) == len(demo_procedures(SERVICES))


def test_the_catalogue_page_searches_without_accents(web_app):
    web = web_app.test_client()
    page = text(web.get("/thu-tuc?q=dang ky khai sinh"))
    assert "Đăng ký kết hôn" not in page and "thủ tục phù hợp với “dang ky khai sinh”" in page
    assert page.index('data-code="HT-KHAISINH"') < page.index('data-code="HT-CAICHINH"')   # "sửa giấy khai sinh"
    assert 'href="/dat-lich?thu_tuc=HT-KHAISINH"' in page and 'href="/lay-so?dich_vu=HT"' in page
    assert "Chứng thực chữ ký" in text(web.get("/thu-tuc?dich_vu=CT"))
    assert "Không tìm thấy thủ tục phù hợp" in text(web.get("/thu-tuc?q=xyz"))


def test_a_procedure_page_says_what_to_bring(web_app):
    web = web_app.test_client()
    page = text(web.get("/thu-tuc/CT-BANSAO"))
    for expected in ("Chứng thực bản sao từ bản chính", "Giấy tờ cần mang", "Bản chính giấy tờ",
                     "2.000 đồng/trang", "Nghị định 23/2015/NĐ-CP", "https://dichvucong.gov.vn",
                     'id="book"', 'id="take-number"'):
        assert expected in page, expected
    assert web.get("/thu-tuc/KHONG-CO").status_code == 404
    english = text(web.get("/thu-tuc/CT-BANSAO?lang=en"))
    assert "Certified copy from the original" in english and "What to bring" in english


def test_the_take_number_button_preselects_the_service(web_app):
    for query in ("dich_vu=CT", "service=CT"):   # the page's word, and the one older printed links carry
        page = text(web_app.test_client().get(f"/lay-so?{query}"))
        assert re.search(r'value="CT"\s+checked', page) and not re.search(r'value="HT"\s+checked', page)


def test_admins_edit_procedures_in_the_browser(web_app, hall):
    add_user(hall.store, "quantri", role="admin")
    add_user(hall.store, "lan")
    assert signed_in(web_app, "lan").get("/thu-tuc/moi").status_code == 403
    admin = signed_in(web_app, "quantri")
    assert "Thêm thủ tục" in text(admin.get("/thu-tuc"))
    form = {"csrf_token": csrf(admin, "/thu-tuc/moi"), "code": "HT-GIAMHO", "name": "Đăng ký giám hộ",
            "service": "HT", "documents": "Tờ khai đăng ký giám hộ\n\nVăn bản cử người giám hộ\n",
            "fee": "Miễn lệ phí", "active": "1"}
    saved = admin.post("/thu-tuc/moi", data=form)
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/thu-tuc/HT-GIAMHO")
    assert hall.procedure("HT-GIAMHO")["documents"] == ["Tờ khai đăng ký giám hộ", "Văn bản cử người giám hộ"]
    assert hall.procedures("giam ho")[0]["code"] == "HT-GIAMHO"
    edit = text(admin.get("/thu-tuc/HT-GIAMHO/sua"))
    assert "Văn bản cử người giám hộ" in edit and "readonly" in edit
    hidden = admin.post("/thu-tuc/HT-GIAMHO/sua", data={**form, "active": ""})
    assert hidden.status_code == 302 and hall.procedures("giam ho") == []
    bad = admin.post("/thu-tuc/moi", data={**form, "code": "1 sai"})
    assert bad.status_code == 422 and "code: expected letters" in text(bad)


@pytest.mark.parametrize("item, message", [
    ({"code": "X", "name": "A", "service": "ZZ"}, "procedures[0].service: unknown service 'ZZ'"),
    ({"code": "X", "name": "A", "service": "HT", "documents": "one"}, "procedures[0].documents: expected a list"),
    ({"code": "X", "name": "A", "service": "HT", "fees": "1"}, "procedures[0].fees: unknown key"),
    ({"code": "X", "service": "HT"}, "procedures[0].name: missing"),
    ({"code": "X", "name": "A", "service": "HT", "online_url": "dichvucong"}, "procedures[0].online_url: expected"),
])
def test_wrong_procedure_files_name_the_key(item, message):
    with pytest.raises(ConfigError) as refused:
        parse_procedures({"procedures": [item]}, SERVICES)
    assert message in refused.value.message


def test_json_files_and_duplicates(tmp_path):
    path = tmp_path / "procedures.json"
    path.write_text(json.dumps([{"code": "A", "name": "A", "service": "HT"}] * 2), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"procedures\[1\].code: duplicate 'A'"):
        read_procedures_file(path, SERVICES)
    with pytest.raises(ConfigError, match="không tìm thấy tệp"):
        read_procedures_file(tmp_path / "missing.toml", SERVICES)


def test_init_gives_the_demo_hall_its_procedures_and_load_replaces_them(tmp_path):
    db = tmp_path / "hall.db"
    run_cli("init", db=db)
    listed = run_cli("procedures", "list", db=db).stdout
    assert "HT-KHAISINH" in listed and listed.count("shown") == len(demo_procedures(SERVICES))
    own = tmp_path / "own.toml"
    own.write_text('[[procedures]]\ncode = "HT-GIAMHO"\nname = "Đăng ký giám hộ"\nservice = "HT"\n', encoding="utf-8")
    assert "loaded 1" in run_cli("procedures", "load", str(own), "--replace", db=db).stdout
    listed = run_cli("procedures", "list", db=db).stdout
    assert listed.count("shown") == 1 and "HT-GIAMHO" in listed
    run_cli("init", db=db)                                            # an initialised hall keeps its catalogue
    assert run_cli("procedures", "list", db=db).stdout.count("shown") == 1
    own.write_text('[[procedures]]\ncode = "X"\nname = "X"\nservice = "ZZ"\n', encoding="utf-8")
    wrong = run_cli("procedures", "load", str(own), db=db, check=False)
    assert wrong.returncode == 2 and "procedures[0].service: unknown service 'ZZ'" in wrong.stderr
