"""Citizens' pages: the kiosk, numbers from home, live tracking and the browser hall screen.

The kiosk is a device, not a person: it is paired once with a kiosk token (kept in its
signed cookie) and then issues tickets through ``POST /kiosk/tickets``. Numbers from home
are capped per phone and per address and rate-limited. Tracking pages and the browser
screen are public and carry no personal data.
"""

import hashlib
from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from ...core import ascii_number
from ...errors import HallError, Unauthorized
from ...voice.pack import voice_pack_dir
from .. import access
from ..extensions import client_address, get_hall, limiter, setting
from ..inputs import field, json_body
from ..tickets import deferred_print, print_deferred, print_ticket, qr_svg, rating_choices, track_url

bp = Blueprint("citizen", __name__)

SHIPPED_SOUNDS = Path(__file__).resolve().parents[3] / "sounds"  # the repository's pack


def address_hash():
    """Who asked, for per-address caps, without storing the address itself."""
    secret = current_app.secret_key or ""
    return hashlib.sha256(f"{secret}|{client_address()}".encode()).hexdigest()[:32]


# -- the kiosk ----------------------------------------------------------------------

@bp.route("/kiosk/ghep-noi", methods=["GET", "POST"])
def kiosk_pair():
    """Pair this browser with a kiosk token, once, by whoever installs the kiosk."""
    return access.pair_view("kiosk", title=_("Ghép nối kiosk"), done_url=url_for("citizen.kiosk"))


KIOSK_LANGUAGES = ("vi", "en")
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}   # each in its own language: never translated
KIOSK_IDLE_SECONDS = 60     # a sub-screen (priority, appointment, English) left alone goes back to the start
KIOSK_RESULT_SECONDS = 20   # the ticket screen goes back by itself, counting down


def kiosk_texts():
    """The kiosk's words in the current language: the page shows them and its script switches them."""
    return {
        "hint": _("Chạm vào dịch vụ bạn cần để lấy số thứ tự"),
        "hint_priority": _("Chạm vào dịch vụ để lấy số ưu tiên"),
        "priority_open": _("Tôi thuộc diện ưu tiên"), "priority_title": _("Bạn thuộc diện ưu tiên nào?"),
        "priority_chosen": _("Ưu tiên: %(name)s", name="{name}"), "priority_cancel": _("Bỏ ưu tiên"),
        "back": _("Quay lại"), "appointment_open": _("Tôi có lịch hẹn"),
        "appointment_help": _("Quét mã QR trên phiếu hẹn vào đầu đọc, hoặc nhập mã lịch hẹn rồi bấm “Nhận số”."),
        "code_placeholder": _("Mã lịch hẹn"), "check_in": _("Nhận số"),
        "result_label": _("Số thứ tự của bạn"), "qr_help": _("Quét mã QR để theo dõi lượt của bạn trên điện thoại"),
        "hotline": _("Đường dây nóng"), "done": _("Xong"),
        "countdown": _("Màn hình tự trở về sau %(seconds)s giây", seconds="{seconds}"),
        "unavailable": {"outside_hours": _("Ngoài giờ làm việc"), "cap_reached": _("Đã hết số hôm nay"),
                        "block_exhausted": _("Đã hết số hôm nay"), "no_counter": _("Chưa có quầy phục vụ")},
        # plurals: English says "1 person", "2 people"; the script picks by the count
        "waiting": [ngettext("Đang chờ: %(count)s người", "Đang chờ: %(count)s người", n, count="{count}")
                    for n in (1, 2)],
        "ahead": [ngettext("Số người đang chờ trước bạn: %(count)s", "Số người đang chờ trước bạn: %(count)s", n,
                           count="{count}") for n in (1, 2)],
        "eta": _("Thời gian chờ dự kiến: khoảng %(minutes)s phút", minutes="{minutes}"),
        "eta_now": _("Bạn sắp được gọi"),
        "eta_range": _("Thời gian chờ dự kiến: khoảng %(low)s–%(high)s phút", low="{low}", high="{high}"),
        "eta_after_closure": _("Thời gian chờ dự kiến: sau giờ nghỉ trưa, khoảng %(time)s", time="{time}"),
        "printing": _("Đang in phiếu…"),
        "printed": _("Phiếu đã được in. Vui lòng nhận phiếu."),
        "not_printed": _("Máy in chưa xác nhận — hãy ghi lại số của bạn trên màn hình"),
        "no_printer": _("Hãy ghi nhớ số của bạn hoặc chụp mã QR."),
        "failed": _("Không lấy được số. Vui lòng thử lại hoặc hỏi cán bộ hướng dẫn."),
        "offline": _("Mất kết nối với máy chủ. Vui lòng chờ trong giây lát."),
        "appointment": _("Lịch hẹn lúc %(time)s: bạn được gọi từ giờ hẹn, trước người lấy số thường.", time="{time}")
        if get_hall().config.booking.appointments_first
        else _("Lịch hẹn lúc %(time)s: bạn được gọi theo thứ tự nhận số, như người lấy số thường.", time="{time}"),
        "appointment_again": _("Lịch hẹn này đã nhận số trước đó; đây là số của bạn."),
        "fallback": _("Lấy số thường — %(service)s", service="{service}"),
        "check_in_failed": _("Không nhận được lịch hẹn. Vui lòng thử lại hoặc hỏi cán bộ hướng dẫn."),
    }


def _seconds(name, default):
    """A timeout from the query (``/kiosk?idle=90&result=30``: set where the kiosk is installed), or the default."""
    value = ascii_number(request.args.get(name, ""), maximum=3600)
    return value if value else default


@bp.get("/kiosk")
def kiosk():
    """The touch kiosk, always starting in Vietnamese; its language button switches to English
    in the page (both languages' words and names are in its data block)."""
    if access.kiosk_principal() is None:
        return redirect(url_for("citizen.kiosk_pair"))
    texts = {}
    for language in KIOSK_LANGUAGES:
        with force_locale(language):
            texts[language] = kiosk_texts()
        # the language button offers the other language, by its own name
        texts[language]["lang_button"] = next(LANGUAGE_NAMES[other] for other in KIOSK_LANGUAGES if other != language)
    config = get_hall().config
    state = get_hall().state()
    data = {"text": texts, "languages": list(KIOSK_LANGUAGES), "services": state["services"],
            "hall": {"name": config.name, "name_en": config.name_en or config.name},
            "priorities": [{"code": p.code, "name": p.name, "name_en": p.name_en} for p in config.priorities],
            "timeouts": {"idle_seconds": _seconds("idle", KIOSK_IDLE_SECONDS),
                         "result_seconds": _seconds("result", KIOSK_RESULT_SECONDS)},
            "urls": {"state": url_for("api.state"), "issue": url_for("citizen.kiosk_issue"),
                     "check_in": url_for("booking.kiosk_check_in")}}
    page = make_response(render_template("citizen/kiosk.html", state=state, text=texts["vi"], kiosk_data=data))
    return access.keep_paired(page)  # opened every morning: the pairing never runs out


@bp.post("/kiosk/tickets")
def kiosk_issue():
    """Issue, commit, then print: a printer fault never costs the citizen the number.

    With ``"print_later": true`` (the kiosk page) the answer comes at once with ``print``
    (``{"url", "token"}``, or null without a printer) and the page asks for the print in a
    second request, showing the number meanwhile; otherwise the ticket is printed first.
    """
    if access.kiosk_principal() is None:
        raise Unauthorized(_("Kiosk chưa được ghép nối"), "This kiosk is not paired", code="unauthorized")
    data = json_body()
    later = field(data, "print_later", bool, required=False)
    ticket = get_hall().issue_ticket(field(data, "service", str), priority=field(data, "priority", str, required=False),
                                     channel="kiosk")
    url = track_url(ticket["track_token"])
    token = ticket.pop("track_token")
    answer = {"ticket": ticket, "track_url": url, "qr_svg": qr_svg(url)}
    if later:
        answer.update(printed=None, print_error=None, print=deferred_print(token))
    else:
        printed, print_error = print_ticket(ticket, url)
        answer.update(printed=printed, print_error=print_error)
    return jsonify(answer), 201


@bp.post("/kiosk/in-phieu")
def kiosk_print():
    """Print a ticket this kiosk has just issued (``{"token"}`` from its answer): ``printed`` is
    true only once the printer confirmed it."""
    if access.kiosk_principal() is None:
        raise Unauthorized(_("Kiosk chưa được ghép nối"), "This kiosk is not paired", code="unauthorized")
    printed, print_error = print_deferred(field(json_body(), "token", str, max_length=500))
    return jsonify({"printed": printed, "print_error": print_error})


# -- numbers from home ------------------------------------------------------------

def _take_number_page(form, error=None):
    hall = get_hall()
    # the phone also gets "Sắp đến lượt" by SMS when the hall has a gateway (services.reminders)
    texts_near_turn = bool(hall.config.booking.reminder_url)
    return render_template("citizen/take_number.html", state=hall.state(), error=error, form=form,
                           texts_near_turn=texts_near_turn)


@bp.get("/lay-so")
def take_number():
    # ?dich_vu=HT preselects a service (the "Lấy số" button of a procedure page); links
    # printed before page parameters were Vietnamese say ?service=HT.
    form = {"service": request.args.get("dich_vu") or request.args.get("service", "")}
    return _take_number_page(form)


@bp.post("/lay-so")
@limiter.limit(lambda: setting("remote_rate_limit"), methods=["POST"])
def take_number_post():
    form = {"service": request.form.get("service", ""), "phone": request.form.get("phone", "")}
    try:
        if not form["service"]:
            raise HallError(_("Hãy chọn một dịch vụ."), "Choose a service.", code="missing_field")
        ticket = get_hall().issue_remote_ticket(form["service"], phone=form["phone"] or None,
                                                address_hash=address_hash())
    except HallError as error:
        return _take_number_page(form, error), error.status
    return redirect(url_for("citizen.track", track_token=ticket["track_token"], moi=1))


# -- live tracking ------------------------------------------------------------------

@bp.get("/t/<track_token>")
def track(track_token):
    ticket = get_hall().ticket_by_token(track_token)
    if ticket is None:
        return render_template("citizen/not_found.html"), 404
    url = track_url(track_token)
    config = get_hall().config
    # both languages of every name a push may bring (a transfer changes the service)
    names = {"services": {service.code: {"name": service.name, "name_en": service.name_en}
                          for service in config.services},
             "priorities": {priority.code: {"name": priority.name, "name_en": priority.name_en}
                            for priority in config.priorities}}
    return render_template("citizen/track.html", ticket=ticket, track_token=track_token, url=url, qr=qr_svg(url),
                           names=names, is_new=request.args.get("moi") == "1", rated=get_hall().is_rated(track_token),
                           rating_result=request.args.get("danh_gia"), **rating_choices())


# -- the browser hall screen -------------------------------------------------------------

def sounds_dir():
    """The pack of the hall's regional voice (``[announcement] voice``) under HALL_SOUNDS_DIR."""
    configured = setting("sounds_dir")
    return voice_pack_dir(Path(configured) if configured else SHIPPED_SOUNDS, get_hall().config.announcement.voice)


@bp.get("/display")
def display():
    """The browser hall screen; ``now`` (the hub's clock) sets its clock, whatever the TV's says."""
    hall = get_hall()
    return render_template("citizen/display.html", state=hall.state(), now=hall.clock())


@bp.get("/sounds/<path:name>")
def sound_file(name):
    """The voice clip pack (manifest.json and clips) for browser screens and phones."""
    # send_from_directory refuses paths that leave the folder (404), "../" included.
    return send_from_directory(sounds_dir(), name, max_age=3600)
