"""A disk that refuses a write (full, failing). SQLite's own refusal is produced by capping the
file's size (``PRAGMA max_page_count``): the same SQLITE_FULL a full disk gives, through the
same code. A kiosk asking for a number then hears, in Vietnamese, that nothing was saved; no
number is used up, nothing hangs, and once there is room the hall goes on where it was."""

import threading

import pytest

from hallserver.errors import StorageFailed
from tests.helpers import bearer


def full_disk(store):
    """From now on the hub's writer may not grow the database file."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def room_again(store):
    store.db.execute("PRAGMA max_page_count = 1073741823")


def answered_within(seconds, request):
    """``request()``'s answer, failing the test (instead of hanging it) after ``seconds``."""
    answers = []
    worker = threading.Thread(target=lambda: answers.append(request()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert answers, f"no answer within {seconds} s"
    return answers[0]


def test_a_full_disk_refuses_a_number_in_words_and_the_numbers_go_on_after(app, client, tokens):
    store = app.extensions["hall"].store

    def take_number():
        return client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))

    numbers = [take_number().json["ticket"]["number"] for _ in range(3)]
    full_disk(store)
    refusals = []
    for _ in range(400):   # until the pages that had room are full
        answer = answered_within(10, take_number)
        if answer.status_code != 201:
            refusals.append(answer)
            break
        numbers.append(answer.json["ticket"]["number"])
    assert refusals, "the capped file never filled up"
    refused = refusals[0]
    assert refused.status_code == 503
    error = refused.json["error"]
    assert error["code"] == "storage_failed" and "chưa có gì được ghi" in error["message"]

    assert answered_within(10, take_number).json["error"]["code"] == "storage_failed"  # still full: the same
    room_again(store)
    after = take_number()
    assert after.status_code == 201
    assert int(after.json["ticket"]["number"]) == int(numbers[-1]) + 1   # no number was used up by a refusal
    state = client.get("/api/v1/state").json
    assert next(service for service in state["services"] if service["code"] == "HT")["waiting"] == len(numbers) + 1


def test_a_write_the_disk_refuses_in_a_transaction_is_storage_failed_and_rolled_back(store):
    with store.transaction() as db:
        db.execute("CREATE TABLE scratch (payload TEXT)")
    full_disk(store)
    with pytest.raises(StorageFailed) as refused:
        with store.transaction() as db:
            for _ in range(1000):
                db.execute("INSERT INTO scratch VALUES (?)", ["x" * 500])
    assert refused.value.status == 503 and refused.value.code == "storage_failed"
    assert store.db.execute("SELECT COUNT(*) FROM scratch").fetchone()[0] == 0
    room_again(store)
    with store.transaction() as db:
        db.execute("INSERT INTO scratch VALUES ('after')")
    assert store.db.execute("SELECT payload FROM scratch").fetchall() == [("after",)]
