"""The printed ticket (hallserver.printing): the rendered image, the ESC/POS bytes, the
printer drivers (memory, file, network, USB) and how faults come back without losing
the ticket. Sample tickets are kept in test-artifacts/ticket-*.png for people to look at."""

import errno
import logging
import socket
import sys
import time
import unicodedata
from pathlib import Path

import pytest
import segno
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

from hallserver.errors import HallError
from hallserver.services import printing
from hallserver.services.printing import (
    FONT_CANDIDATES,
    VIETNAMESE_LETTERS,
    HallInfo,
    PrinterError,
    TicketInfo,
    TicketPrinter,
    find_font,
    font_has_letters,
    format_issued,
    format_wait,
    parse_printer_spec,
    print_ticket_safely,
    printer_from_config,
    qr_image,
    qr_module_px,
    render_ticket,
    shared_printer,
    ticket_font,
    ticket_width_px,
)
from tests.helpers import FakeNetworkPrinter, closed_port

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ESC, GS = b"\x1b", b"\x1d"
INIT = ESC + b"@"
FEED_AND_FULL_CUT = ESC + b"d\x06" + GS + b"V\x00"  # python-escpos's cut(): feed 6 lines, full cut

TRACK_URL = "http://192.168.1.10:5000/t/q1S0r8Xy-3kLmNoPqRsTuVw"
TICKET_VIEW = {  # as public_ticket(..., with_token=True) returns it
    "number": "1004", "service": "HT", "service_name": "Hộ tịch", "status": "waiting",
    "priority": "elderly", "channel": "kiosk", "position": 4, "ahead": 3, "eta_minutes": 12,
    "counter": None, "issued_at": "2026-11-26T09:13:00+07:00", "called_at": None,
    "track_token": "q1S0r8Xy-3kLmNoPqRsTuVw",
}
HALL = {"name": "Trung tâm Phục vụ hành chính công xã Tân Lập", "hotline": "0210 3 888 999",
        "timezone": "Asia/Ho_Chi_Minh"}


def ticket(**changes):
    return TicketInfo.from_view({**TICKET_VIEW, **changes}, priority_name="Người cao tuổi")


def keep_artifact(image, name):
    ARTIFACTS.mkdir(exist_ok=True)
    image.save(ARTIFACTS / f"{name}.png")


def ink_bbox(image, box=None):
    """Bounding box of the black dots (of a region)."""
    region = image.crop(box) if box else image
    return ImageOps.invert(region.convert("L")).getbbox()


# -- rendering ----------------------------------------------------------------------------


@pytest.mark.parametrize("width_mm, dpi, dots", [(80, 203, 576), (58, 203, 384), (80, 180, 512)])
def test_printable_width_in_whole_bytes(width_mm, dpi, dots):
    assert ticket_width_px(width_mm, dpi) == dots


def test_unknown_paper_width_is_refused():
    with pytest.raises(ValueError, match=r"paper width must be one of \[58, 80\] mm, got 76"):
        ticket_width_px(76)


@pytest.mark.parametrize("width_mm, dots", [(80, 576), (58, 384)])
def test_ticket_is_a_1_bit_image_as_wide_as_the_paper(width_mm, dots):
    image = render_ticket(ticket(), HALL, width_mm=width_mm, track_url=TRACK_URL)
    keep_artifact(image, f"ticket-{width_mm}mm")
    assert image.mode == "1"
    assert image.width == dots
    assert dots * 1.4 < image.height < dots * 3.5  # a ticket, not a banner nor a scroll
    left, top, right, bottom = ink_bbox(image)
    assert left > 0 and top > 0 and right < dots and bottom < image.height  # white margins all round


def test_sample_tickets_without_priority_wait_or_link():
    plain = render_ticket(
        TicketInfo(number="2017", service_name="Đất đai", issued_at="2026-11-26T14:05:00+07:00"),
        HallInfo(name="UBND phường Đông Hồ"), width_mm=58,
    )
    keep_artifact(plain, "ticket-58mm-plain")
    full = render_ticket(ticket(), HALL, width_mm=58)
    assert plain.height < full.height


@pytest.mark.parametrize("width_mm", [80, 58])
def test_number_is_drawn_huge_across_the_ticket(width_mm):
    width = ticket_width_px(width_mm)
    first = render_ticket(ticket(number="1004"), HALL, width_mm=width_mm)
    second = render_ticket(ticket(number="1005"), HALL, width_mm=width_mm)
    assert first.size == second.size
    # Only the last digit differs: its box is the number's band.
    _, top, _, bottom = ImageChops.difference(first.convert("L"), second.convert("L")).getbbox()
    assert bottom - top >= 88  # at least 11 mm tall at 203 dpi, even on 58 mm paper
    left, _, right, _ = ink_bbox(first, (0, top, width, bottom))
    assert right - left >= 0.75 * width
    # A line of ordinary text is far smaller.
    assert bottom - top > 3 * ticket_font(24).getbbox("Số")[3]


def test_long_numbers_still_fit():
    image = render_ticket(ticket(number="A-10234"), HALL, width_mm=58)
    left, _, right, _ = ink_bbox(image)
    assert left > 0 and right < image.width


def test_qr_code_is_the_tracking_link_module_for_module():
    image = render_ticket(ticket(), HALL, track_url=TRACK_URL)
    module_px = qr_module_px(TRACK_URL, image.width)
    assert 4 <= module_px <= 8
    code = qr_image(TRACK_URL, module_px=module_px)
    x = (image.width - code.width) // 2
    drawn_at = [
        y for y in range(image.height - code.height)
        if image.crop((x, y, x + code.width, y + code.height)).tobytes() == code.tobytes()
    ]
    assert len(drawn_at) == 1
    # ... and that image is segno's matrix: sample every module at its centre.
    matrix = segno.make(TRACK_URL, error="m", micro=False).matrix
    border = printing.QR_BORDER_MODULES
    for row, modules in enumerate(matrix):
        for column, dark in enumerate(modules):
            centre = ((column + border) * module_px + module_px // 2, (row + border) * module_px + module_px // 2)
            assert (code.getpixel(centre) == 0) == bool(dark), (row, column)


def test_qr_code_decodes_back_to_the_link():
    import zxingcpp

    for width_mm in (80, 58):
        image = render_ticket(ticket(), HALL, width_mm=width_mm, track_url=TRACK_URL)
        decoded = [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]
        assert decoded == [TRACK_URL]


def test_no_link_no_qr_code():
    with_link = render_ticket(ticket(), HALL, track_url=TRACK_URL)
    without = render_ticket(ticket(), HALL)
    assert without.height < with_link.height - 200


# -- Vietnamese text ------------------------------------------------------------------------


def glyph(font, char):
    mask = font.getmask(char)
    return mask.size, bytes(mask)


@pytest.mark.parametrize("bold", [False, True])
def test_chosen_font_draws_every_vietnamese_letter(bold):
    path = find_font(bold)
    assert path in FONT_CANDIDATES[bold]
    font = ImageFont.truetype(path, 24)
    tofu = glyph(font, "\U000f0000")
    assert glyph(font, "ạ") != tofu
    assert all(glyph(font, letter) != tofu for letter in VIETNAMESE_LETTERS)
    assert glyph(font, "ạ") != glyph(font, "a")  # the dot below is drawn


def test_a_font_without_vietnamese_is_recognised_by_its_tofu():
    aileron = ImageFont.load_default(24)  # Pillow's own font: Latin only
    assert font_has_letters(aileron, "abc")
    assert glyph(aileron, "ạ") == glyph(aileron, "\U000f0000")
    assert not font_has_letters(aileron)
    assert font_has_letters(ImageFont.truetype(find_font(), 24))


@pytest.fixture
def font_candidates(monkeypatch):
    """Replace the font search list (and forget the fonts already found)."""
    def use(regular, bold=()):
        monkeypatch.setitem(FONT_CANDIDATES, False, tuple(regular))
        monkeypatch.setitem(FONT_CANDIDATES, True, tuple(bold))
        find_font.cache_clear()
    yield use
    find_font.cache_clear()


def test_fonts_without_vietnamese_or_missing_are_skipped(tmp_path, font_candidates):
    latin_only = tmp_path / "Aileron.ttf"
    latin_only.write_bytes(ImageFont.load_default(24).path.getvalue())
    dejavu = find_font()
    font_candidates([str(tmp_path / "missing.ttf"), str(latin_only), dejavu])
    assert find_font() == dejavu


def test_no_vietnamese_font_is_a_clear_error(tmp_path, font_candidates):
    missing = str(tmp_path / "missing.ttf")
    font_candidates([missing], [missing])
    with pytest.raises(PrinterError) as caught:
        find_font()
    assert caught.value.message == (
        f"Máy in gặp sự cố: không tìm thấy phông chữ tiếng Việt (thường) trong {missing}; "
        "cài bằng: apt-get install fonts-dejavu-core"
    )
    assert caught.value.message_en == (
        f"Printer fault: no TrueType font with Vietnamese letters (regular) among {missing}; "
        "install one: apt-get install fonts-dejavu-core"
    )
    ok, message = printer_from_config("dummy").print_ticket_safely(ticket(), HALL)
    assert (ok, message) == (False, caught.value.message.replace("(thường)", "(đậm)"))


def test_decomposed_text_is_drawn_like_precomposed():
    decomposed = unicodedata.normalize("NFD", "Hộ tịch")  # as some keyboards and Mac file names store it
    assert len(decomposed) == 10
    first = render_ticket(ticket(service_name=decomposed), HALL)
    second = render_ticket(ticket(service_name="Hộ tịch"), HALL)
    assert first.tobytes() == second.tobytes()


def printed_line(image, text, size):
    """Whether ``text``, centred in the ticket font of ``size`` as the ticket draws its lines,
    is printed somewhere on ``image``, dot for dot."""
    line = Image.new("L", (image.width, 3 * size), 255)
    ImageDraw.Draw(line).text((image.width // 2, 0), text, font=ticket_font(size), fill=0, anchor="ma")
    box = ink_bbox(line.convert("1", dither=Image.Dither.NONE))
    glyphs = line.convert("1", dither=Image.Dither.NONE).crop(box).convert("L")
    page = image.convert("L")
    return any(ImageChops.difference(page.crop((box[0], top, box[2], top + glyphs.height)), glyphs).getbbox() is None
               for top in range(image.height - glyphs.height))


def test_every_line_is_vietnamese_then_english():
    image = render_ticket(ticket(), HALL)
    assert printed_line(image, "Vui lòng giữ phiếu đến khi được phục vụ", 18)
    assert printed_line(image, "Please keep this ticket until you are served", 18)


def test_the_priority_mark_and_the_time_issued_have_their_english_too():
    image = render_ticket(ticket(), HALL)
    assert printed_line(image, "Priority ticket", 18)
    assert printed_line(image, "Thời gian lấy số: 09:13 ngày 26/11/2026", 24)
    assert printed_line(image, "Issued at 09:13, 26/11/2026", 18)
    assert not printed_line(render_ticket(ticket(priority=None), HALL), "Priority ticket", 18)


def test_a_ticket_next_in_line_says_very_soon_as_the_kiosk_does():
    image = render_ticket(ticket(ahead=0, eta_minutes=0, eta_low_minutes=0, eta_high_minutes=3), HALL)
    assert printed_line(image, "Thời gian chờ dự kiến: sắp đến lượt", 24)
    assert printed_line(image, "Estimated wait: very soon", 18)
    later = render_ticket(ticket(eta_minutes=12, eta_low_minutes=8, eta_high_minutes=17), HALL)
    assert printed_line(later, "Thời gian chờ dự kiến: khoảng 8–17 phút", 24)
    assert printed_line(later, "Estimated wait: about 8–17 min", 18)


# -- words and times ------------------------------------------------------------------------


@pytest.mark.parametrize("minutes, words", [
    (0, ("sắp đến lượt", "very soon")),
    (1, ("khoảng 1 phút", "about 1 min")),
    (12, ("khoảng 12 phút", "about 12 min")),
    (60, ("khoảng 1 giờ", "about 1 h")),
    (75, ("khoảng 1 giờ 15 phút", "about 1 h 15 min")),
])
def test_wait_in_words(minutes, words):
    assert format_wait(minutes) == words


def test_issued_time_in_the_halls_time_zone():
    assert format_issued("2026-11-26T02:13:00+00:00", "Asia/Ho_Chi_Minh") == "09:13 ngày 26/11/2026"
    assert format_issued("2026-11-26T23:59:00+07:00") == "23:59 ngày 26/11/2026"
    assert format_issued("2026-11-26T09:13:00", "Asia/Ho_Chi_Minh") == "09:13 ngày 26/11/2026"


def test_ticket_from_the_public_view():
    info = TicketInfo.from_view(TICKET_VIEW, priority_name="Người cao tuổi")
    assert (info.number, info.service_name, info.ahead, info.eta_minutes, info.priority_name) == (
        "1004", "Hộ tịch", 3, 12, "Người cao tuổi")
    assert HallInfo.from_view({"name": "X", "name_en": "Y", "hotline": "1900"}) == HallInfo("X", "1900")


# -- the bytes ------------------------------------------------------------------------------


def parse_job(data):
    """Split an ESC/POS job into (init, raster blocks, tail); each block (mode, width bytes, height, dots)."""
    assert data.startswith(INIT)
    position, blocks = len(INIT), []
    while data.startswith(GS + b"v0", position):
        mode, x_low, x_high, y_low, y_high = data[position + 3:position + 8]
        width_bytes, height = x_low + 256 * x_high, y_low + 256 * y_high
        start = position + 8
        blocks.append((mode, width_bytes, height, data[start:start + width_bytes * height]))
        position = start + width_bytes * height
    return blocks, data[position:]


def escpos_encoding(image):
    """python-escpos's own bytes for: init, the image, cut."""
    from escpos.printer import Dummy

    reference = Dummy()
    reference.hw("INIT")
    reference.image(image, impl="bitImageRaster")
    reference.cut()
    return reference.output


@pytest.mark.parametrize("width_mm", [80, 58])
def test_job_bytes_are_init_raster_image_and_cut(width_mm, capsys):
    printer = printer_from_config("dummy", width_mm=width_mm)
    printer.print_ticket(ticket(), HALL, track_url=TRACK_URL)
    sent = printer.driver.output
    image = render_ticket(ticket(), HALL, width_mm=width_mm, track_url=TRACK_URL)
    blocks, tail = parse_job(sent)
    assert tail == FEED_AND_FULL_CUT
    width_bytes = ticket_width_px(width_mm) // 8
    assert [(mode, width) for mode, width, _, _ in blocks] == [(0, width_bytes)] * len(blocks)
    assert all(height <= 960 for _, _, height, _ in blocks)  # python-escpos's fragment height
    assert sum(height for _, _, height, _ in blocks) == image.height
    # Raster dots are 1 = burn: the image's bits inverted (Pillow's 1-bit images store white as 1).
    assert b"".join(dots for *_, dots in blocks) == bytes(byte ^ 0xFF for byte in image.tobytes())
    assert capsys.readouterr().out == ""  # python-escpos knows the paper width: no warning on stdout
    assert sent == escpos_encoding(image)


def test_jobs_follow_each_other_whole():
    printer = printer_from_config("dummy")
    printer.print_ticket(ticket(), HALL)
    first = printer.driver.output
    printer.print_ticket(ticket(), HALL)
    assert printer.driver.output == first * 2


def test_file_printer_writes_the_job(tmp_path):
    device = tmp_path / "lp0"
    printer = printer_from_config(f"file:{device}")
    assert printer.print_ticket_safely(ticket(), HALL, track_url=TRACK_URL) == (True, None)
    assert device.read_bytes() == escpos_encoding(render_ticket(ticket(), HALL, track_url=TRACK_URL))




def test_network_printer_receives_the_job():
    fake = FakeNetworkPrinter()
    try:
        printer = printer_from_config(f"network:127.0.0.1:{fake.port}")
        assert printer.print_ticket_safely(ticket(), HALL, track_url=TRACK_URL) == (True, None)
    finally:
        fake.close()
    assert fake.jobs == [escpos_encoding(render_ticket(ticket(), HALL, track_url=TRACK_URL))]
    assert fake.queries == [1, 2, 4, 1, 2, 4]  # asked before the job, and after it for the proof it was read


# -- printing tells the truth ---------------------------------------------------------------


def print_on(fake, **options):
    """Print the sample ticket on a fake network printer with short timeouts: (PrintResult, seconds)."""
    printer = printer_from_config(fake.spec, timeout=1, status_timeout=0.3, **options)
    started = time.monotonic()
    try:
        result = printer.print_ticket_checked(ticket(), HALL, track_url=TRACK_URL)
    finally:
        fake.close()
    return result, time.monotonic() - started


def test_a_printer_that_answers_confirms_the_ticket():
    result, _ = print_on(FakeNetworkPrinter())
    assert (result.printed, result.confirmed, result.message, result.alert) == (True, True, None, None)


def test_a_printer_that_accepts_and_never_reads_is_doubt_not_printed():
    fake = FakeNetworkPrinter(reads=False)
    result, elapsed = print_on(fake)
    assert result.printed is False and result.confirmed is False
    assert result.alert == f"Máy in kiosk không phản hồi (mạng 127.0.0.1:{fake.port}): kiểm tra giấy, nắp và cáp"
    assert result.alert_en == (f"The kiosk printer does not answer (network 127.0.0.1:{fake.port}): "
                               "check paper, cover and cable")
    assert "không trả lời câu hỏi trạng thái" in result.message
    assert elapsed < 2


def test_a_printer_that_reads_but_never_answers_gets_no_job():
    fake = FakeNetworkPrinter(status=None)
    result, _ = print_on(fake)
    assert result.printed is False and "không phản hồi" in result.alert
    assert fake.queries == [1] and fake.jobs == [b""]  # asked once, heard nothing, sent nothing


def test_a_printer_silent_after_the_job_did_not_confirm_it():
    fake = FakeNetworkPrinter(answers=3)  # answers before the job, then falls silent
    result, _ = print_on(fake)
    assert result.printed is False
    assert result.alert == (f"Máy in kiosk không xác nhận đã in phiếu (mạng 127.0.0.1:{fake.port}): "
                            "kiểm tra giấy, nắp và cáp")
    assert fake.jobs[0].startswith(INIT)  # the job went out; nobody knows whether it came out


@pytest.mark.parametrize("status, alert", [
    ({1: 0x1A, 2: 0x32, 4: 0x72}, "Máy in kiosk hết giấy ({where}): thay cuộn giấy"),
    ({1: 0x1A, 2: 0x16, 4: 0x12}, "Máy in kiosk đang mở nắp ({where}): đóng nắp máy in"),
    ({1: 0x1A, 2: 0x52, 4: 0x12}, "Máy in kiosk báo lỗi ({where}): tắt rồi bật lại máy in, kiểm tra dao cắt giấy"),
    ({1: 0x1A, 2: 0x12, 4: 0x12}, "Máy in kiosk đang ngoại tuyến ({where}): kiểm tra giấy, nắp và nút nạp giấy"),
])
def test_a_printer_that_is_not_ready_says_why_and_gets_no_job(status, alert):
    fake = FakeNetworkPrinter(status)
    result, _ = print_on(fake)
    assert result.printed is False
    assert result.alert == alert.format(where=f"mạng 127.0.0.1:{fake.port}")
    assert fake.jobs == [b""]


def test_paper_near_end_prints_and_warns_the_supervisor():
    fake = FakeNetworkPrinter({1: 0x12, 2: 0x12, 4: 0x1E})
    result, _ = print_on(fake)
    assert result.printed is True and result.confirmed is True
    assert result.alert == f"Máy in kiosk sắp hết giấy (mạng 127.0.0.1:{fake.port}): chuẩn bị cuộn giấy mới"


def test_a_lasting_fault_or_warning_alerts_once_an_hour():
    now = [0.0]
    for status, printed in (({1: 0x1A, 2: 0x32, 4: 0x72}, False), ({1: 0x12, 2: 0x12, 4: 0x1E}, True)):
        fake = FakeNetworkPrinter(status)   # out of paper; then paper running low
        printer = TicketPrinter(printer_from_config(fake.spec, timeout=1).driver, status_timeout=0.3,
                                where=("mạng", "network"), clock=lambda: now[0])
        try:
            results = []
            for at in (0, 60, 3599, 3600, 3700):
                now[0] = at
                results.append(printer.print_ticket_checked(ticket(), HALL))
        finally:
            fake.close()
        assert [result.printed for result in results] == [printed] * 5
        assert [result.alert is not None for result in results] == [True, False, False, True, False]
        assert [result.alert_en is not None for result in results] == [True, False, False, True, False]


def test_an_answer_no_printer_gives_is_doubt():
    result, _ = print_on(FakeNetworkPrinter({1: 0xFF, 2: 0xFF, 4: 0xFF}))
    assert result.printed is False and "không phản hồi" in result.alert


def test_a_refused_connection_alert_has_no_errno():
    port = closed_port()
    result = printer_from_config(f"network:127.0.0.1:{port}").print_ticket_checked(ticket(), HALL)
    assert "[Errno 111]" in result.message  # the technician's detail, for the log
    assert result.alert == (f"Máy kiosk không kết nối được máy in (mạng 127.0.0.1:{port}): "
                            "kiểm tra máy in đã bật và cáp")


def test_one_way_devices_cannot_confirm_but_print(tmp_path):
    for spec in ("dummy", f"file:{tmp_path}/lp0"):
        result = printer_from_config(spec).print_ticket_checked(ticket(), HALL)
        assert (result.printed, result.confirmed, result.alert) == (True, None, None)


def test_usb_needs_pyusb_only_when_printing(monkeypatch, caplog):
    printer = printer_from_config("usb:04b8:0202")  # constructing touches no USB library
    monkeypatch.setitem(sys.modules, "usb", None)  # as if pyusb were not installed
    monkeypatch.setitem(sys.modules, "usb.core", None)
    with caplog.at_level(logging.WARNING, logger="hallserver.services.printing"):
        assert printer.print_ticket_safely(ticket(), HALL) == (
            False,
            "Máy in gặp sự cố: in qua USB cần thư viện pyusb và libusb "
            "(pip install pyusb; apt-get install libusb-1.0-0)",
        )
    assert "ticket 1004 not printed on usb:04b8:0202: Printer fault: printing over USB needs pyusb" in caplog.text


def _file_the_account_may_not_open():
    """What python-escpos raises opening a device file the hub's account may not write: 'not found'."""
    from escpos.exceptions import DeviceNotFoundError

    try:
        raise PermissionError(errno.EACCES, "Permission denied", "/dev/usb/lp0")
    except OSError as error:
        raise DeviceNotFoundError(f"Could not open the specified file /dev/usb/lp0:\n{error}")  # noqa: B904


def _usb_device_the_account_may_not_write():
    """What pyusb raises writing to a USB printer without a udev rule for the hub's account."""
    import usb.core

    raise usb.core.USBError("Access denied (insufficient permissions)", errno=errno.EACCES)


@pytest.mark.parametrize("spec, refusal", [("file:/dev/usb/lp0", _file_the_account_may_not_open),
                                           ("usb:04b8:0202", _usb_device_the_account_may_not_write)])
def test_a_printer_the_hub_may_not_open_is_alerted_as_such_not_as_a_cable(spec, refusal):
    printer = TicketPrinter(refusal, name=spec, where=printing.printer_where(spec))
    result = printer.print_ticket_checked(ticket(), HALL)
    assert not result.printed and result.message.startswith(f"Máy in gặp sự cố: không có quyền mở máy in {spec}")
    where, where_en = printing.printer_where(spec)
    assert result.alert.startswith(f"Máy chủ không có quyền mở máy in ({where}): báo quản trị viên")
    assert result.alert_en.startswith(f"The hub may not open the printer ({where_en})")
    assert "cáp" not in result.alert


def test_usb_printer_not_plugged_in():
    ok, message = printer_from_config("usb:04b8:0202").print_ticket_safely(ticket(), HALL)
    assert not ok
    # No such device here; without libusb installed the hint says what to install.
    assert message.startswith(("Máy in gặp sự cố: không kết nối được máy in usb:04b8:0202 (",
                               "Máy in gặp sự cố: in qua USB cần thư viện libusb"))


# -- faults ---------------------------------------------------------------------------------


def test_refused_connection_comes_back_quickly_as_a_message(caplog):
    port = closed_port()
    printer = printer_from_config(f"network:127.0.0.1:{port}")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="hallserver.services.printing"):
        ok, message = print_ticket_safely(printer, ticket(), HALL, track_url=TRACK_URL)
    assert time.monotonic() - started < 1
    assert ok is False
    assert message == (f"Máy in gặp sự cố: không kết nối được máy in network:127.0.0.1:{port} "
                       "([Errno 111] Connection refused)")
    assert f"ticket 1004 not printed on network:127.0.0.1:{port}: Printer fault: cannot open printer" in caplog.text


def test_printer_that_does_not_answer_times_out():
    # A listener with a backlog of 0 whose one queued connection is never accepted:
    # the next connection attempt hangs, as with a printer that is switched off.
    server = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = server.getsockname()[1]
    queued = socket.create_connection(("127.0.0.1", port))
    try:
        printer = printer_from_config(f"network:127.0.0.1:{port}", timeout=0.5)
        started = time.monotonic()
        ok, message = printer.print_ticket_safely(ticket(), HALL)
        elapsed = time.monotonic() - started
    finally:
        queued.close()
        server.close()
    assert ok is False
    assert message == f"Máy in gặp sự cố: không kết nối được máy in network:127.0.0.1:{port} (timed out)"
    assert 0.4 < elapsed < 2


def test_unwritable_device_file(tmp_path):
    device = tmp_path / "no-such-dir" / "lp0"
    ok, message = printer_from_config(f"file:{device}").print_ticket_safely(ticket(), HALL)
    assert (ok, message) == (
        False,
        f"Máy in gặp sự cố: không kết nối được máy in file:{device} "
        f"([Errno 2] No such file or directory: '{device}')",
    )


def test_printer_works_again_once_the_fault_is_fixed(tmp_path):
    device = tmp_path / "usb" / "lp0"
    printer = printer_from_config(f"file:{device}")
    assert printer.print_ticket_safely(ticket(), HALL)[0] is False
    device.parent.mkdir()  # the printer is plugged in
    assert printer.print_ticket_safely(ticket(), HALL) == (True, None)
    assert device.read_bytes() == escpos_encoding(render_ticket(ticket(), HALL))


def test_printer_error_is_a_hall_error():
    error = PrinterError("hết giấy", "out of paper")
    assert isinstance(error, HallError)
    assert error.as_dict() == {"code": "printer_error", "message": "Máy in gặp sự cố: hết giấy",
                               "message_en": "Printer fault: out of paper"}


def test_print_ticket_raises_printer_error(tmp_path):
    with pytest.raises(PrinterError, match="không kết nối được máy in file:"):
        printer_from_config(f"file:{tmp_path}/missing/lp0").print_ticket(ticket(), HALL)


def test_ticket_wider_than_the_printers_paper():
    from escpos.printer import Dummy

    printer = TicketPrinter(Dummy(profile="TM-T88V"), name="tm-t88v")  # 512 dots across
    ok, message = printer.print_ticket_safely(ticket(), HALL)
    assert (ok, message) == (False, "Máy in gặp sự cố: phiếu rộng hơn khổ giấy của máy in tm-t88v (576 > 512 điểm)")
    narrow = TicketPrinter(Dummy(profile="TM-T88V"), width_mm=58)
    assert narrow.print_ticket_safely(ticket(), HALL) == (True, None)


class NoBackendError(ValueError):
    """Stands in for pyusb's usb.core.NoBackendError (libusb missing)."""


@pytest.mark.parametrize("fault, message", [
    (TimeoutError("timed out"), "máy in stalled không phản hồi sau 5 giây"),
    (OSError(5, "Input/output error"), "lỗi khi gửi phiếu tới máy in stalled ([Errno 5] Input/output error)"),
    (NoBackendError("No backend available"),
     "in qua USB cần thư viện libusb (pip install pyusb; apt-get install libusb-1.0-0)"),
    (RuntimeError("firmware says no"), "lỗi máy in stalled (RuntimeError: firmware says no)"),
])
def test_faults_while_sending_in_words(fault, message):
    from escpos.printer import Dummy

    class FailingPrinter(Dummy):
        def _raw(self, msg):
            raise fault

    printer = TicketPrinter(FailingPrinter(), name="stalled", timeout=5)
    assert printer.print_ticket_safely(ticket(), HALL) == (False, f"Máy in gặp sự cố: {message}")


def test_unexpected_error_is_logged_and_still_never_raised(caplog):
    printer = printer_from_config("dummy")
    with caplog.at_level(logging.ERROR, logger="hallserver.services.printing"):
        ok, message = printer.print_ticket_safely(ticket(issued_at="not a time"), HALL)
    assert (ok, message) == (False, "Máy in gặp sự cố: lỗi không xác định (ValueError)")
    assert caplog.records[-1].exc_info  # the traceback is in the log
    assert printer.driver.output == b""


def test_no_printer_prints_nothing_and_reports_no_fault():
    assert printer_from_config("none") is None
    assert print_ticket_safely(None, ticket(), HALL) == (False, None)
    assert print_ticket_safely("none", ticket(), HALL) == (False, None)


def test_printing_by_setting_value_shares_one_printer_per_value():
    shared = shared_printer("dummy", width_mm=58)
    shared.driver.clear()
    assert print_ticket_safely("dummy", ticket(), HALL, width_mm=58) == (True, None)
    assert print_ticket_safely(" dummy ", ticket(), HALL, width_mm=58) == (True, None)
    assert shared_printer("dummy", width_mm=58) is shared
    assert shared.driver.output == escpos_encoding(render_ticket(ticket(), HALL, width_mm=58)) * 2


def test_wrong_setting_value_is_a_logged_fault_not_a_crash(caplog):
    with caplog.at_level(logging.ERROR, logger="hallserver.services.printing"):
        assert print_ticket_safely("network:printer:abc", ticket(), HALL) == (
            False,
            "Máy in gặp sự cố: cấu hình máy in sai (HALL_PRINTER: the port must be a whole number "
            "from 1 to 65535 (not 'abc'), got 'network:printer:abc')",
        )
    assert "ticket 1004 not printed: HALL_PRINTER: the port must be" in caplog.text


# -- the HALL_PRINTER setting ---------------------------------------------------------------

FORMS = "none, dummy, usb:VENDOR:PRODUCT, network:HOST[:PORT] or file:PATH"
USB_FORM = "expected usb:VENDOR:PRODUCT with two 4-digit hex ids as lsusb shows them, such as usb:04b8:0202"
NETWORK_FORM = "expected network:HOST or network:HOST:PORT, such as network:192.168.1.50:9100"


@pytest.mark.parametrize("spec, canonical", [
    ("none", "none"),
    ("dummy", "dummy"),
    (" USB:04B8:0202 ", "usb:04b8:0202"),
    ("network:printer.local", "network:printer.local:9100"),
    ("network:10.0.0.5:9101", "network:10.0.0.5:9101"),
    ("file:/dev/usb/lp0", "file:/dev/usb/lp0"),
])
def test_good_specs(spec, canonical):
    assert str(parse_printer_spec(spec)) == canonical


@pytest.mark.parametrize("spec, message", [
    ("", f"HALL_PRINTER: expected {FORMS}, got ''"),
    (None, f"HALL_PRINTER: expected {FORMS}, got None"),
    ("serial:/dev/ttyS0", f"HALL_PRINTER: unknown printer kind 'serial'; expected {FORMS}, got 'serial:/dev/ttyS0'"),
    ("epson", f"HALL_PRINTER: unknown printer kind 'epson'; expected {FORMS}, got 'epson'"),
    ("none:x", "HALL_PRINTER: 'none' takes nothing after it, got 'none:x'"),
    ("usb:04b8", f"HALL_PRINTER: {USB_FORM}, got 'usb:04b8'"),
    ("usb:4b8:202", f"HALL_PRINTER: {USB_FORM}, got 'usb:4b8:202'"),
    ("usb:04b8:zz02", f"HALL_PRINTER: {USB_FORM}, got 'usb:04b8:zz02'"),
    ("network:", f"HALL_PRINTER: {NETWORK_FORM}, got 'network:'"),
    ("network:printer:", f"HALL_PRINTER: {NETWORK_FORM}, got 'network:printer:'"),
    ("network:printer:9100:1", f"HALL_PRINTER: {NETWORK_FORM}, got 'network:printer:9100:1'"),
    ("network:printer:abc",
     "HALL_PRINTER: the port must be a whole number from 1 to 65535 (not 'abc'), got 'network:printer:abc'"),
    ("network:printer:70000",
     "HALL_PRINTER: the port must be a whole number from 1 to 65535 (not '70000'), got 'network:printer:70000'"),
    ("file:", "HALL_PRINTER: expected file:PATH, such as file:/dev/usb/lp0, got 'file:'"),
])
def test_bad_specs_name_the_setting_and_the_problem(spec, message):
    with pytest.raises(ValueError) as caught:
        printer_from_config(spec)
    assert str(caught.value) == message


def test_network_timeout_reaches_the_driver():
    printer = printer_from_config("network:10.0.0.5", timeout=3)
    assert (printer.driver.host, printer.driver.port, printer.driver.timeout) == ("10.0.0.5", 9100, 3)
    assert repr(printer) == "<TicketPrinter network:10.0.0.5:9100 80 mm>"

