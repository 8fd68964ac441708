"""What a new hall configuration must keep for the people already in the hall.

A service removed (or left without a counter) while its tickets wait would leave those
citizens waiting for a call that never comes, their tracking pages saying "Sắp đến lượt"
all day; a counter removed with a citizen at its desk would leave that ticket at a counter
no screen shows and no keypad can finish; the day's end (``policy.close_at``) moved to a
time already past would expire everyone still waiting within the minute, what
"Kết thúc ngày" does only after a typed confirmation; a block's start or prefix changed after
today's first number would not take effect (today's numbers go on from the last one) and could
repeat another service's. Booked citizens are in the hall's plans too: a service removed (or left
without a counter), a holiday added or hours cut where bookings are still ahead of their citizen
would have them come to be turned away at the kiosk, or to a closed hall, reminded the day before.
Such a configuration is refused, naming the key.
"""

from datetime import date

from ..config import DAYS
from ..errors import ConfigError
from .bookings import display_code
from .tickets import _ended, local_day

SHOWN_NUMBERS = 5  # numbers quoted in a refusal; the rest are counted
UNFINISHED = "status IN ('waiting', 'called', 'serving')"


def check_nobody_stranded(db, config, now, new_config):
    """Raise ConfigError if ``new_config`` (about to replace ``config``) strands today's waiting
    tickets or a ticket at a counter's desk; the message names the key and the numbers."""
    _check_desks(db, new_config)
    _check_lines(db, config, now, new_config)
    _check_day_end(db, config, now, new_config)
    _check_numbering(db, config, now, new_config)
    _check_bookings(db, config, now, new_config)


def _check_desks(db, new_config):
    counters = {counter.number for counter in new_config.counters}
    for number, ticket, status in db.execute(
            "SELECT counters.number, tickets.number, tickets.status FROM counters "
            "JOIN tickets ON tickets.id = counters.current_ticket "
            "WHERE counters.active = 1 AND tickets.status IN ('called', 'serving') ORDER BY counters.number"):
        if number not in counters:
            state = ("đang được mời", "called") if status == "called" else ("đang được phục vụ", "being served")
            raise ConfigError(
                f"Chưa lưu: quầy số {number} đang có công dân số {ticket} ({state[0]}). Hãy bấm Hoàn thành "
                "hoặc Vắng mặt cho số này trước khi xóa quầy.",
                f"counters: counter {number} is removed while ticket {ticket} is at its desk ({state[1]}); "
                "finish it or mark it absent first")


def _check_lines(db, config, now, new_config):
    served = {code for counter in new_config.counters for code in counter.services}
    offered = {service.code for service in new_config.services}
    waiting = {}
    for service, ticket in db.execute(
            "SELECT service, number FROM tickets WHERE status = 'waiting' AND day = ? ORDER BY id",
            [local_day(config, now)]):
        waiting.setdefault(service, []).append(ticket)
    names = dict(db.execute("SELECT code, name FROM services").fetchall())
    for code, numbers in waiting.items():
        reason = _service_gone(code, offered, served, names)
        if reason is None:
            continue
        vietnamese, english = reason
        raise ConfigError(
            f"Chưa lưu: {vietnamese} trong khi còn {_quoted(numbers)} đang chờ; họ sẽ không bao giờ "
            "được gọi. Hãy gọi hết hoặc chuyển họ sang lĩnh vực khác, hoặc Kết thúc ngày, rồi sửa lại.",
            f"{english} while {_quoted(numbers, 'tickets')} wait; they would never be called: call or "
            "transfer them, or end the day, first")


def _check_day_end(db, config, now, new_config):
    """Tickets the new ``close_at`` would end now that the current one does not (today's waiting)."""
    condition, parameters = _ended(new_config, now)
    current, current_parameters = _ended(config, now)
    numbers = [number for (number,) in db.execute(
        f"SELECT number FROM tickets WHERE {UNFINISHED} AND {condition} AND NOT ({current}) ORDER BY id",
        [*parameters, *current_parameters])]
    if numbers:
        close_at = new_config.policy.close_at
        moment = f"{close_at // 60:02d}:{close_at % 60:02d}"
        raise ConfigError(
            f"Chưa lưu: giờ kết thúc ngày {moment} đã qua: {_quoted(numbers)} đang chờ hôm nay sẽ hết hạn ngay. "
            "Chọn giờ muộn hơn, hoặc dùng «Kết thúc ngày» nếu muốn kết thúc ngay.",
            f"policy.close_at: {moment} has passed: {_quoted(numbers, 'waiting tickets')} of today would "
            "expire at once; choose a later time, or end the day")


def _check_numbering(db, config, now, new_config):
    """A service that issued numbers today keeps its block's start and prefix until tomorrow."""
    before = {service.code: service for service in config.services}
    issued = dict(db.execute("SELECT service, last_value FROM daily_numbers WHERE day = ? AND issued > 0",
                             [local_day(config, now)]).fetchall())
    for index, service in enumerate(new_config.services):
        old = before.get(service.code)
        if old is None or service.code not in issued or (
                (old.block_start, old.prefix) == (service.block_start, service.prefix)):
            continue
        last = old.format_number(issued[service.code])
        raise ConfigError(
            f"Chưa lưu: lĩnh vực «{old.name}» ({service.code}) đã cấp số hôm nay (đến số {last}): số bắt đầu và "
            f"chữ đầu của dãy số chỉ đổi được sau khi kết thúc ngày (hôm nay số vẫn tiếp theo {last}, có thể trùng "
            "số của lĩnh vực khác). Số cuối của dãy thì đổi được ngay.",
            f"services[{index}].block: {service.code} has issued numbers today (up to {last}): its block's start "
            "and prefix can change only after the day ends (its end can change now)")


def _service_gone(code, offered, served, names):
    """(Vietnamese, English) when the new configuration drops service ``code`` or leaves it
    without a counter, else None."""
    name = f"«{names.get(code) or code}» ({code})"
    if code not in offered:
        return f"lĩnh vực {name} bị xóa", f"services: {code} is removed"
    if code not in served:
        return f"không còn quầy nào phục vụ lĩnh vực {name}", f"counters[].services: no counter serves {code}"
    return None


def _booking_refusal(booking, new_config, served, names):
    """(Vietnamese, English) of why ``new_config`` cannot receive this booking, or None."""
    service, day, minute = booking["service"], date.fromisoformat(booking["day"]), booking["start_minute"]
    offered = {known.code for known in new_config.services}
    gone = _service_gone(service, offered, served, names)
    if gone is not None:
        return gone
    if booking["day"] in new_config.holidays:
        return f"ngày {day:%d/%m/%Y} thành ngày nghỉ lễ", f"hours.holidays: {booking['day']} is made a holiday"
    if not any(begin <= minute < end for begin, end in new_config.hours.get(DAYS[day.weekday()], ())):
        clock = f"{minute // 60:02d}:{minute % 60:02d}"
        return (f"trung tâm không làm việc lúc {clock} ngày {day:%d/%m/%Y} theo giờ mới",
                f"hours: the hall is closed at {clock} on {booking['day']}")
    return None


def _check_bookings(db, config, now, new_config):
    """Bookings still ahead of their citizen that ``new_config`` could not receive."""
    served = {code for counter in new_config.counters for code in counter.services}
    names = dict(db.execute("SELECT code, name FROM services").fetchall())
    refused = {}
    for booking in db.query("SELECT code, service, day, start_minute FROM bookings WHERE status = 'booked' "
                            "AND starts_at + ? >= ? ORDER BY starts_at, id",
                            [config.booking.check_in_after_minutes * 60, now]):
        reason = _booking_refusal(booking, new_config, served, names)
        if reason is not None:
            refused.setdefault(reason, []).append(
                f"{date.fromisoformat(booking['day']):%d/%m} {booking['start_minute'] // 60:02d}:"
                f"{booking['start_minute'] % 60:02d} {display_code(booking['code'])}")
    for (vietnamese, english), bookings in refused.items():
        raise ConfigError(
            f"Chưa lưu: {vietnamese} trong khi còn {_quoted(bookings, 'lịch hẹn')} chưa đến; công dân sẽ đến mà "
            "không được tiếp nhận. Hãy hủy các lịch hẹn đó ở trang Lịch hẹn và báo cho công dân (đặt "
            "booking_capacity = 0 để ngừng nhận lịch mới), rồi sửa lại.",
            f"{english} while {_quoted(bookings, 'bookings')} are still ahead; the citizens would come to be "
            "turned away: cancel those bookings on /lich-hen and tell them first (booking_capacity = 0 stops "
            "new ones)")


def _quoted(numbers, noun="số"):
    """``2 số (1001, 1002)``: how many, and the first few."""
    shown = ", ".join(numbers[:SHOWN_NUMBERS]) + (", …" if len(numbers) > SHOWN_NUMBERS else "")
    return f"{len(numbers)} {noun} ({shown})"
