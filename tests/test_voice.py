"""Vietnamese number reading and announcement composition (hallserver.voice)."""

import re

import pytest

from hallserver.voice import (
    CHIME,
    DEFAULT_RECALL_TEMPLATE,
    DEFAULT_RECALL_TEMPLATE_EN,
    DEFAULT_TEMPLATE,
    DIALECTS,
    MAX_NUMBER,
    PAUSE,
    REPEATS,
    VOICES,
    Announcement,
    clip_catalogue,
    clip_ids,
    compose_announcement,
    digit_words,
    english_number_words,
    number_clip_id,
    number_vocabulary,
    number_words,
    parse_ticket_number,
    phrase_clip_id,
    read_number,
    template_error,
    word_slug,
)

# (n, northern reading, southern reading); the rule each row checks is in the comment.
NUMBER_CASES = [
    (0, "không", "không"),
    (1, "một", "một"),
    (4, "bốn", "bốn"),
    (5, "năm", "năm"),  # lăm only after mười / mươi
    (10, "mười", "mười"),  # mười, not một mươi
    (11, "mười một", "mười một"),  # mốt only after mươi
    (14, "mười bốn", "mười bốn"),  # tư only after mươi
    (15, "mười lăm", "mười lăm"),  # lăm after mười
    (20, "hai mươi", "hai mươi"),  # mươi for tens >= 2
    (21, "hai mươi mốt", "hai mươi mốt"),
    (24, "hai mươi tư", "hai mươi tư"),
    (25, "hai mươi lăm", "hai mươi lăm"),
    (55, "năm mươi lăm", "năm mươi lăm"),
    (90, "chín mươi", "chín mươi"),
    (99, "chín mươi chín", "chín mươi chín"),
    (100, "một trăm", "một trăm"),
    (101, "một trăm linh một", "một trăm lẻ một"),  # no mốt after linh
    (104, "một trăm linh bốn", "một trăm lẻ bốn"),  # no tư after linh
    (105, "một trăm linh năm", "một trăm lẻ năm"),  # no lăm after linh
    (110, "một trăm mười", "một trăm mười"),
    (115, "một trăm mười lăm", "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt", "một trăm hai mươi mốt"),
    (999, "chín trăm chín mươi chín", "chín trăm chín mươi chín"),
    (1000, "một nghìn", "một ngàn"),
    (1005, "một nghìn không trăm linh năm", "một ngàn không trăm lẻ năm"),
    (1010, "một nghìn không trăm mười", "một ngàn không trăm mười"),
    (1015, "một nghìn không trăm mười lăm", "một ngàn không trăm mười lăm"),
    (1021, "một nghìn không trăm hai mươi mốt", "một ngàn không trăm hai mươi mốt"),
    (1023, "một nghìn không trăm hai mươi ba", "một ngàn không trăm hai mươi ba"),
    (1024, "một nghìn không trăm hai mươi tư", "một ngàn không trăm hai mươi tư"),
    (1100, "một nghìn một trăm", "một ngàn một trăm"),
    (1105, "một nghìn một trăm linh năm", "một ngàn một trăm lẻ năm"),
    (2002, "hai nghìn không trăm linh hai", "hai ngàn không trăm lẻ hai"),
    (4004, "bốn nghìn không trăm linh bốn", "bốn ngàn không trăm lẻ bốn"),
    (5555, "năm nghìn năm trăm năm mươi lăm", "năm ngàn năm trăm năm mươi lăm"),
    (10000, "mười nghìn", "mười ngàn"),
    (10005, "mười nghìn không trăm linh năm", "mười ngàn không trăm lẻ năm"),
    (11011, "mười một nghìn không trăm mười một", "mười một ngàn không trăm mười một"),
    (15000, "mười lăm nghìn", "mười lăm ngàn"),
    (21000, "hai mươi mốt nghìn", "hai mươi mốt ngàn"),
    (24104, "hai mươi tư nghìn một trăm linh bốn", "hai mươi tư ngàn một trăm lẻ bốn"),
    (
        99999,
        "chín mươi chín nghìn chín trăm chín mươi chín",
        "chín mươi chín ngàn chín trăm chín mươi chín",
    ),
]


@pytest.mark.parametrize("n, north, south", NUMBER_CASES)
def test_read_number_both_dialects(n, north, south):
    assert read_number(n) == north
    assert read_number(n, "north") == north
    assert read_number(n, dialect="south") == south
    assert number_words(n, "south") == south.split()


@pytest.mark.parametrize("bad", [-1, MAX_NUMBER + 1, 100000, 1.0, "12", None, True, False])
def test_read_number_rejects_values_outside_the_range_and_non_ints(bad):
    with pytest.raises(ValueError):
        read_number(bad)


@pytest.mark.parametrize("dialect", ["central", "North", "", None])
def test_read_number_rejects_unknown_dialects(dialect):
    with pytest.raises(ValueError):
        read_number(5, dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_number_uses_only_the_dialects_vocabulary(dialect):
    vocabulary = set(number_vocabulary(dialect))
    used = set()
    for n in range(MAX_NUMBER + 1):
        used.update(number_words(n, dialect))
    assert used == vocabulary


def test_digit_words():
    assert digit_words("1003") == ["một", "không", "không", "ba"]
    with pytest.raises(ValueError):
        digit_words("12a")


def test_english_number_words():
    assert english_number_words(3) == ["three"]
    assert english_number_words(15) == ["fifteen"]
    assert english_number_words(20) == ["twenty"]
    assert english_number_words(42) == ["forty", "two"]
    assert english_number_words(105) == ["one", "zero", "five"]


# ---------------------------------------------------------------------------
# Clip ids


@pytest.mark.parametrize(
    "word, slug",
    [
        ("mười", "mu7o7i2"),
        ("mươi", "mu7o7i"),
        ("năm", "na8m"),
        ("lăm", "la8m"),
        ("một", "mo6t5"),
        ("mốt", "mo6t1"),
        ("nghìn", "nghin2"),
        ("ngàn", "ngan2"),
        ("lẻ", "le3"),
        ("đến", "d9e6n1"),
        ("Quầy", "qua6y2"),
        ("ticket", "ticket"),
    ],
)
def test_word_slug(word, slug):
    assert word_slug(word) == slug


def test_words_that_differ_only_by_diacritics_get_different_ids():
    pairs = [("mười", "mươi"), ("năm", "lăm"), ("một", "mốt"), ("mười", "muối"), ("số", "sổ")]
    for a, b in pairs:
        assert number_clip_id(a) != number_clip_id(b)


def test_clip_ids_are_filename_safe_and_distinct_per_text():
    catalogue = clip_catalogue()
    for clip_id in catalogue:
        assert re.fullmatch(r"[a-z0-9._]+", clip_id), clip_id
    texts = [(c.language, c.text) for c in catalogue.values() if c.language]
    assert len(texts) == len(set(texts))
    assert {c.id for c in catalogue.values() if not c.language} == {CHIME, PAUSE}  # generated, not spoken


@pytest.mark.parametrize("word", ["", "12", "a b", "ñ", "aa\u0301\u0300"])
def test_word_slug_rejects_non_words(word):
    with pytest.raises(ValueError):
        word_slug(word)


# ---------------------------------------------------------------------------
# Composition

PHRASE_CALL = phrase_clip_id("xin mời công dân có số thứ tự".split())
PHRASE_COUNTER = phrase_clip_id("đến quầy số".split())


def num(*words):
    return [number_clip_id(w) for w in words]


def test_compose_whole_number():
    announcement = compose_announcement("1003", 3)
    assert announcement == Announcement(
        text="Xin mời công dân có số thứ tự 1003 đến quầy số 3",
        clips=tuple(
            [CHIME, PHRASE_CALL]
            + num("một", "nghìn", "không", "trăm", "linh", "ba")
            + [PHRASE_COUNTER]
            + num("ba")
        ),
        text_en=None,
    )
    assert PHRASE_CALL == "phrase.xin_mo7i2_co6ng_da6n_co1_so61_thu71_tu75"
    assert PHRASE_COUNTER == "phrase.d9e6n1_qua6y2_so61"


def test_compose_south_reads_le_and_ngan():
    announcement = compose_announcement("2005", 15, dialect="south")
    assert announcement.clips[2:-3] == tuple(num("hai", "ngàn", "không", "trăm", "lẻ", "năm"))
    assert announcement.clips[-2:] == tuple(num("mười", "lăm"))


def test_compose_digits_reading():
    announcement = compose_announcement("1003", 21, reading="digits")
    assert announcement.clips == tuple(
        [CHIME, PHRASE_CALL]
        + num("một", "không", "không", "ba")
        + [PHRASE_COUNTER]
        + num("hai", "mươi", "mốt")  # the counter is always read whole
    )


def test_compose_prefix_letter_drops_leading_zeros():
    announcement = compose_announcement("A012", 2)
    assert announcement.text == "Xin mời công dân có số thứ tự A012 đến quầy số 2"
    assert announcement.clips[2:5] == ("letter.a", "num.mu7o7i2", "num.hai")
    digits = compose_announcement("A012", 2, reading="digits")
    assert digits.clips[2:6] == ("letter.a", "num.kho6ng", "num.mo6t5", "num.hai")


def test_compose_reads_letters_by_vietnamese_name():
    catalogue = clip_catalogue()
    clips = compose_announcement("Đ7", 1).clips
    assert clips[2] == "letter.d9"
    assert catalogue["letter.d9"].text == "đê"
    assert catalogue[compose_announcement("L1", 1).clips[2]].text == "e-lờ"
    assert catalogue[compose_announcement("C1", 1).clips[2]].text == "xê"


def test_compose_zero_ticket():
    assert compose_announcement("0000", 1).clips[2] == "num.kho6ng"


def test_compose_custom_template_with_counter_first():
    template = "Mời đến quầy {counter}, số {number}"
    announcement = compose_announcement("7", 4, template=template)
    assert announcement.text == "Mời đến quầy 4, số 7"
    assert announcement.clips == (
        CHIME,
        "phrase.mo7i2_d9e6n1_qua6y2",
        "num.bo6n1",
        "phrase.so61",
        "num.bay3",
    )
    assert set(announcement.clips) <= set(clip_catalogue([template]))


def test_compose_accepts_vietnamese_placeholder_names():
    announcement = compose_announcement("12", 3, template="Số {số} mời đến quầy {quầy}")
    assert announcement.text == "Số 12 mời đến quầy 3"


def test_compose_second_language_english():
    announcement = compose_announcement("B105", 12, second_language="en")
    assert announcement.text_en == "Ticket number B105, please go to counter 12"
    vietnamese = compose_announcement("B105", 12).clips
    assert announcement.clips[: len(vietnamese)] == vietnamese
    assert announcement.clips[len(vietnamese):] == (
        "en.phrase.ticket_number",
        "en.letter.b",
        "en.num.one",
        "en.num.zero",
        "en.num.five",
        "en.phrase.please_go_to_counter",
        "en.num.twelve",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dialect": "central"},
        {"reading": "spell"},
        {"second_language": "fr"},
        {"template": "no placeholders"},
    ],
)
def test_compose_rejects_bad_options(kwargs):
    with pytest.raises(ValueError):
        compose_announcement("1", 1, **kwargs)


@pytest.mark.parametrize("ticket", ["", "12345678", "A-", "ABCD1", "1.5", "٣"])
def test_compose_rejects_bad_ticket_numbers(ticket):
    with pytest.raises(ValueError):
        compose_announcement(ticket, 1)


@pytest.mark.parametrize("counter", [0, -1, 100000, 1.0, "3", True])
def test_compose_rejects_bad_counters(counter):
    with pytest.raises(ValueError):
        compose_announcement("1", counter)


def test_parse_ticket_number():
    assert parse_ticket_number("A012") == ("A", "012")
    assert parse_ticket_number(" b-7 ") == ("B", "7")
    assert parse_ticket_number("1003") == ("", "1003")


# ---------------------------------------------------------------------------
# Templates


def test_default_template_is_valid():
    assert template_error(DEFAULT_TEMPLATE) is None
    assert template_error("{number} {counter}") is None
    assert template_error("Mời số {number}, mời số {number}, đến quầy {counter}") is None


@pytest.mark.parametrize(
    "template, message",
    [
        ("Mời {foo} {number} {counter}", "unknown placeholder '{foo}'"),
        ("Mời đến quầy {counter}", "no {number}"),
        ("Mời số {number}", "no {counter}"),
        ("Mời số {number} quầy {counter", "unmatched"),
        ("Mời số {number} quầy {counter} tầng 2", "digit '2'"),
        ("Mời số {number} @ quầy {counter}", "unsupported character '@'"),
        ("x" * 300 + " {number} {counter}", "longer than"),
        (" ".join(["mời"] * 40) + " {number} {counter}", "split it with a comma"),
    ],
)
def test_template_error_explains_the_problem(template, message):
    error = template_error(template)
    assert error is not None and message in error
    with pytest.raises(ValueError):
        compose_announcement("1", 1, template=template)


@pytest.mark.parametrize("template", [None, 12, ["{number}", "{counter}"]])
def test_template_error_for_non_text(template):
    assert template_error(template) == "the template must be text"


def test_template_phrases_split_at_pause_punctuation():
    catalogue = clip_catalogue(["Xin mời, công dân số {number}. Đến quầy {counter}!"], ["north"], [])
    phrases = {c.text for c in catalogue.values() if c.id.startswith("phrase.")}
    reminder = {"số", "đến quầy số"}  # REMINDER_TEMPLATE's, in every catalogue (repeat = "number_and_counter")
    assert phrases == {"xin mời", "công dân số", "đến quầy"} | reminder


# ---------------------------------------------------------------------------
# The catalogue covers everything the composer emits


def test_catalogue_covers_every_composable_clip():
    catalogue = set(clip_ids())
    emitted = set()
    for dialect in DIALECTS:
        for reading in ("whole", "digits"):
            for n in range(0, MAX_NUMBER + 1, 7):
                emitted.update(
                    compose_announcement(
                        f"{n}", n % 99 + 1, dialect=dialect, reading=reading, second_language="en"
                    ).clips
                )
            for letter in "ABCDĐEFGHIJKLMNOPQRSTUVWXYZ":
                emitted.update(compose_announcement(letter + "1", 1, second_language="en").clips)
    for repeat in REPEATS:
        emitted.update(compose_announcement("7", 1, repeat=repeat, second_language="en").clips)
        emitted.update(compose_announcement("7", 1, repeat=repeat, second_language="en",
                                            template=DEFAULT_RECALL_TEMPLATE,
                                            template_en=DEFAULT_RECALL_TEMPLATE_EN).clips)
    assert emitted <= catalogue
    assert emitted == catalogue  # and nothing in the catalogue is dead weight


def test_catalogue_by_dialect():
    north = set(clip_ids(dialects=["north"], second_languages=[]))
    south = set(clip_ids(dialects=["south"], second_languages=[]))
    assert "num.nghin2" in north and "num.nghin2" not in south
    assert "num.le3" in south and "num.le3" not in north
    assert not any(i.startswith("en.") for i in north | south)


# ---------------------------------------------------------------------------
# Recalls and repeats


def test_a_recall_says_its_own_words():
    first = compose_announcement("1003", 2, second_language="en")
    recall = compose_announcement("1003", 2, second_language="en", template=DEFAULT_RECALL_TEMPLATE,
                                  template_en=DEFAULT_RECALL_TEMPLATE_EN)
    assert recall.text == "Xin mời lại công dân có số thứ tự 1003 đến quầy số 2"
    assert recall.text_en == "Again, ticket number 1003, please go to counter 2"
    assert recall.clips[1] == phrase_clip_id("xin mời lại công dân có số thứ tự".split()) != first.clips[1]
    english = recall.clips[recall.clips.index("en.phrase.again"):]
    assert english[:2] == ("en.phrase.again", "en.phrase.ticket_number")
    assert clip_catalogue()["en.phrase.again"].text == "again"


def test_twice_says_the_sentence_again_after_a_pause():
    once = compose_announcement("A012", 3)
    twice = compose_announcement("A012", 3, repeat="twice")
    assert twice.clips == once.clips + (PAUSE,) + once.clips[1:]  # one chime
    assert twice.text == once.text  # screens show the sentence once


def test_number_and_counter_says_them_again_after_the_sentence():
    once = compose_announcement("1003", 21, second_language="en")
    again = compose_announcement("1003", 21, repeat="number_and_counter", second_language="en")
    vietnamese = len(compose_announcement("1003", 21).clips)
    assert again.clips[vietnamese:vietnamese + 2] == (PAUSE, phrase_clip_id(["số"]))
    english = len(once.clips) - vietnamese
    assert again.clips[vietnamese + 2:-english] == tuple(
        num("một", "nghìn", "không", "trăm", "linh", "ba") + [PHRASE_COUNTER] + num("hai", "mươi", "mốt"))
    assert again.clips[-english:] == once.clips[-english:]  # English once, at the end
    assert once.clips[-english] == "en.phrase.ticket_number"
    assert again.text == once.text and again.text_en == once.text_en


def test_repeat_is_checked():
    with pytest.raises(ValueError, match="unknown repeat 'thrice'"):
        compose_announcement("1", 1, repeat="thrice")
    assert REPEATS == ("twice", "number_and_counter", "once")
    assert set(VOICES) == {"vi", "vi-vn-x-central", "vi-vn-x-south"}
