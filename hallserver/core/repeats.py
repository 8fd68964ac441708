"""A counter's repeated requests: a request sent again with its ``request_id`` (a double key
press, a retry after a lost answer) acts once, and every repeat gets the first answer.

The action's own transaction records the request with what its answer is built from
(``{"unanswered": done}``). The answer is built after the commit (the screens' frames go
first) and stored in place of that record before it is given (:func:`store_answer`). When the
process stopped in between, the first repeat builds the answer and stores it
(:func:`first_answer`). Records older than two days are dropped at the end of the day.
"""

import json

from ..errors import Conflict

UNANSWERED = "unanswered"


def earlier_response(db, *, counter, request_id, action):
    """What an earlier request with this id recorded (JSON text), or None for a new request.
    The same id for another action is a client's mistake, refused (409 ``request_id_reused``):
    acting or not acting would both be silent."""
    row = db.execute("SELECT action, response FROM requests WHERE counter = ? AND request_id = ?",
                     [counter, request_id]).fetchone()
    if row and row[0] != action:
        raise Conflict(f"Mã yêu cầu {request_id!r} đã dùng cho thao tác {row[0]}",
                       f"request_id {request_id!r} was used for {row[0]}", code="request_id_reused")
    return row[1] if row else None


def record(db, *, counter, request_id, action, done, now):
    """Record a new request in the action's transaction, still unanswered; the record (JSON text)."""
    recorded = json.dumps({UNANSWERED: done}, ensure_ascii=False)
    db["requests"].insert({"counter": counter, "request_id": request_id, "action": action,
                           "response": recorded, "at": now})
    return recorded


def first_answer(db, *, counter, request_id, response, build):
    """The answer to every repeat of a request whose record is ``response``: the stored one, or,
    when none was stored, ``build(done)``'s, stored now."""
    recorded = json.loads(response)
    if UNANSWERED not in recorded:
        return recorded
    answer = build(recorded[UNANSWERED])
    db.execute("UPDATE requests SET response = ? WHERE counter = ? AND request_id = ?",
               [json.dumps(answer, ensure_ascii=False), counter, request_id])
    return answer


def store_answer(db, *, counter, request_id, answer, recorded, build):
    """Store ``answer`` in place of the request's record ``recorded``; the answer to give: this
    one, or the one a repeat (through another process) stored first."""
    if db.execute("UPDATE requests SET response = ? WHERE counter = ? AND request_id = ? AND response = ?",
                  [json.dumps(answer, ensure_ascii=False), counter, request_id, recorded]).rowcount:
        return answer
    response = db.execute("SELECT response FROM requests WHERE counter = ? AND request_id = ?",
                          [counter, request_id]).fetchone()[0]
    return first_answer(db, counter=counter, request_id=request_id, response=response, build=build)
