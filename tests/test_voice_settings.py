"""``[announcement]`` recall_template, repeat and voice: parsed, checked, and heard in the
``called`` events a real Hall records (hallserver.config, hallserver.core)."""

import pytest

from hallserver.config import parse_config
from hallserver.errors import ConfigError
from hallserver.hall import Hall
from hallserver.store import open_store
from hallserver.voice import PAUSE, compose_announcement, phrase_clip_id
from tests.helpers import small_hall_mapping


def announcement(**settings):
    return parse_config(small_hall_mapping(announcement=settings)).announcement


def test_defaults_say_a_call_twice_in_the_northern_voice_and_a_recall_in_its_own_words():
    settings = announcement()
    assert settings.repeat == "twice"
    assert settings.voice == "vi"
    assert settings.recall_template == "Xin mời lại công dân có số thứ tự {number} đến quầy số {counter}"


def test_settings_are_read():
    settings = announcement(recall_template="Mời lại số {number}, quầy {counter}", repeat="number_and_counter",
                            voice="vi-vn-x-central", dialect="south")
    assert (settings.recall_template, settings.repeat, settings.voice, settings.dialect) == (
        "Mời lại số {number}, quầy {counter}", "number_and_counter", "vi-vn-x-central", "south")


@pytest.mark.parametrize("key, value, message", [
    ("repeat", "thrice", "announcement.repeat: expected one of twice, number_and_counter, once, got 'thrice'"),
    ("repeat", 2, "announcement.repeat: "),
    ("voice", "central", "announcement.voice: expected one of vi, vi-vn-x-central, vi-vn-x-south, got 'central'"),
    ("recall_template", "Mời lại số {number}", "announcement.recall_template: the template has no {counter}"),
    ("recall_template", "Mời lại {number} quầy {counter} tầng 2", "announcement.recall_template: the fixed text"),
])
def test_bad_settings_are_refused_naming_the_key(key, value, message):
    with pytest.raises(ConfigError) as error:
        announcement(**{key: value})
    assert str(error.value).startswith(message)


@pytest.fixture
def hall_with(tmp_path, clock):
    stores = []

    def make(**settings):
        store = open_store(tmp_path / f"hall{len(stores)}.db")
        stores.append(store)
        store.apply_config(parse_config(small_hall_mapping(announcement=settings)))
        hall = Hall(store, clock=clock)
        events = []
        hall.subscribe(lambda batch, *rest: events.extend(e for e in batch if e.type in ("called", "recalled")))
        return hall, events

    yield make
    for store in stores:
        store.close()


def call_and_recall(hall):
    hall.issue_ticket("HT")
    hall.counter_action(1, "call-next")
    hall.counter_action(1, "recall")


def test_a_recall_is_announced_with_the_recall_words_and_the_call_twice(hall_with):
    hall, events = hall_with(second_language="en")
    call_and_recall(hall)
    first, recall = (event.data for event in events)
    assert (first["recall"], recall["recall"]) == (False, True)
    assert first["text"] == "Xin mời công dân có số thứ tự 1001 đến quầy số 1"
    assert recall["text"] == "Xin mời lại công dân có số thứ tự 1001 đến quầy số 1"
    assert recall["text_en"] == "Again, ticket number 1001, please go to counter 1"
    recall_phrase = phrase_clip_id("xin mời lại công dân có số thứ tự".split())
    assert recall["clips"][:2] == ["chime", recall_phrase] and recall_phrase not in first["clips"]
    assert "en.phrase.again" in recall["clips"] and "en.phrase.again" not in first["clips"]
    # said twice: one chime, the sentence, a pause, the sentence again, then English once
    sentence = list(compose_announcement("1001", 1).clips[1:])
    assert first["clips"][:2 * len(sentence) + 2] == ["chime", *sentence, PAUSE, *sentence]
    assert first["clips"].count("chime") == 1 and first["clips"].count("en.phrase.ticket_number") == 1
    assert first["voice"] == recall["voice"] == "vi"


def test_the_halls_own_recall_template_repeat_and_voice_are_used(hall_with):
    hall, events = hall_with(recall_template="Mời lại số {number}, đến quầy {counter}", repeat="number_and_counter",
                             voice="vi-vn-x-south")
    call_and_recall(hall)
    first, recall = (event.data for event in events)
    assert recall["text"] == "Mời lại số 1001, đến quầy 1"
    assert recall["clips"] == list(compose_announcement(
        "1001", 1, template="Mời lại số {number}, đến quầy {counter}", repeat="number_and_counter").clips)
    one_thousand_and_one = ["num.mo6t5", "num.nghin2", "num.kho6ng", "num.tra8m", "num.linh", "num.mo6t5"]
    assert first["clips"][-10:] == [PAUSE, "phrase.so61", *one_thousand_and_one, "phrase.d9e6n1_qua6y2_so61",
                                    "num.mo6t5"]  # "Số 1001, đến quầy số 1"
    assert recall["voice"] == "vi-vn-x-south"


def test_once_says_the_sentence_once(hall_with):
    hall, events = hall_with(repeat="once")
    call_and_recall(hall)
    assert events[0].data["clips"] == list(compose_announcement("1001", 1).clips)
    assert PAUSE not in events[1].data["clips"]
