"""Citizens' satisfaction: one rating per served ticket, from the counter's tablet or the
tracking page."""

import json

from ..errors import Conflict, Invalid, NotFound
from .events import Outcome, record
from .tickets import local_day

SCORES = {4: ("Rất hài lòng", "Very satisfied"), 3: ("Hài lòng", "Satisfied"),
          2: ("Bình thường", "Neutral"), 1: ("Không hài lòng", "Not satisfied")}
REASONS = {
    "wait_long": ("Chờ lâu", "Long wait"),
    "unclear_guidance": ("Hướng dẫn chưa rõ", "Unclear guidance"),
    "attitude": ("Thái độ chưa tốt", "Unfriendly attitude"),
    "many_trips": ("Phải đi lại nhiều lần", "Had to come back several times"),
    "facilities": ("Cơ sở vật chất chưa tốt", "Poor facilities"),
    "other": ("Lý do khác", "Other"),
}
COMMENT_MAX = 500


def rate(db, config, *, ticket, score, reasons=(), comment="", source, now):
    """Record the rating of a done ticket (``ticket`` is its row); a second one is refused."""
    if isinstance(score, bool) or score not in SCORES:
        raise Invalid("Mức đánh giá phải từ 1 đến 4", "The score must be 1 to 4", code="invalid_score")
    if not isinstance(reasons, (list, tuple)) or any(reason not in REASONS for reason in reasons):
        raise Invalid("Lý do không hợp lệ", f"Reasons must be among {', '.join(REASONS)}", code="invalid_reason")
    comment = (comment or "").strip()
    if not isinstance(comment, str) or len(comment) > COMMENT_MAX:
        raise Invalid(f"Góp ý tối đa {COMMENT_MAX} ký tự", f"At most {COMMENT_MAX} characters", code="invalid_comment")
    if ticket["status"] != "done":
        raise Conflict("Chỉ đánh giá được sau khi đã được phục vụ", "Only a served ticket can be rated",
                       code="not_done")
    if db.execute("SELECT 1 FROM ratings WHERE ticket_id = ?", [ticket["id"]]).fetchone():
        raise Conflict(f"Số {ticket['number']} đã được đánh giá", f"Ticket {ticket['number']} is already rated",
                       code="already_rated")
    db["ratings"].insert({
        "ticket_id": ticket["id"], "counter": ticket["counter"], "service": ticket["service"], "score": score,
        "reasons": json.dumps(sorted(set(reasons))), "comment": comment, "source": source, "at": now,
    })
    event = record(db, "rated", now, ticket=ticket, counter=ticket["counter"], service=ticket["service"],
                   data={"number": ticket["number"], "score": score, "source": source})
    return Outcome(score, [event])


def done_ticket_at_counter(db, config, *, counter, number, now):
    """Today's ticket ``number`` finished at ``counter`` (what a counter's tablet may rate)."""
    rows = list(db.query("SELECT * FROM tickets WHERE day = ? AND number = ? AND counter = ? AND status = 'done'",
                         [local_day(config, now), number, counter]))
    if not rows:
        raise NotFound(f"Quầy {counter} chưa phục vụ xong số {number} hôm nay",
                       f"Counter {counter} has not finished ticket {number} today", code="unknown_ticket")
    return rows[0]


def is_rated(db, ticket_id):
    return db.execute("SELECT 1 FROM ratings WHERE ticket_id = ?", [ticket_id]).fetchone() is not None
