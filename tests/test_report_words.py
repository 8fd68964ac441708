"""Figures as people read them on the reports and admin pages: durations in minutes and
seconds, Vietnamese dates, satisfaction as a share, refusals in both languages."""

from hallserver.config import demo_mapping
from hallserver.errors import ConfigError, Invalid
from hallserver.services import reports
from hallserver.web.pages import admin


def test_durations_dates_and_satisfaction_in_words():
    assert [reports.duration_text(s) for s in (None, 0, 45, 60, 270, 269.6, 3600, 3900)] == [
        "—", "0 s", "45 s", "1 ph", "4 ph 30 s", "4 ph 30 s", "1 giờ", "1 giờ 5 ph"]
    assert reports.minutes_text(4.5) == "4 ph 30 s" and reports.minutes_text(None) == "—"
    assert reports.day_text("2026-11-26") == "Thứ Năm 26/11/2026"
    assert reports.day_text("2026-11-29", weekday=False) == "29/11/2026"
    assert reports.range_text("2026-11-23", "2026-11-29") == "Thứ Hai 23/11/2026 – Chủ Nhật 29/11/2026"
    assert reports.moment_text("2026-11-26T09:05:00+07:00") == "09:05 Thứ Năm 26/11/2026"
    figures = reports.Figures(ratings={4: 2, 3: 1, 2: 1, 1: 0}, rating_count=4)
    assert reports.satisfaction_text(figures) == "75 % hài lòng, 4 lượt"
    assert reports.satisfaction_text(figures, "en") == "75 % satisfied, 4 ratings"
    assert reports.satisfaction_text(reports.Figures()) == "chưa có đánh giá"


def test_refusals_say_which_box_in_vietnamese_and_keep_the_key_in_english():
    source = demo_mapping()
    said = admin.explain(ConfigError("services[1].daily_cap: must be at least 1, got 0"), source)
    assert said == ("Chưa lưu: ô «giới hạn/ngày» của lĩnh vực «Chứng thực» phải từ 1 trở lên (đã nhập 0).",
                    "Not saved: services[1].daily_cap: must be at least 1, got 0")
    said = admin.explain(ConfigError("counters[0].services: unknown service 'ZZ'"), source)
    assert said[0] == "Chưa lưu: ô «dịch vụ» của quầy số 1 không có lĩnh vực mã 'ZZ'."
    said = admin.explain(ConfigError("hours.monday[0]: expected \"HH:MM-HH:MM\", got '8h-11h'"), source)
    assert said[0].startswith("Chưa lưu: ô «Thứ Hai» của giờ làm việc cần dạng")
    # already bilingual: kept as it is
    assert admin.explain(Invalid("Số quầy phải là số", "The counter must be a number"), source) == (
        "Số quầy phải là số", "The counter must be a number")
