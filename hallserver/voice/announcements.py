"""Vietnamese announcement composition: number reading, clip ids, templates.

Pure Python (stdlib only), so the hub, the hall screen and the pack builder share it.

An announcement is a sequence of short pre-built clips (chime, fixed phrases, number words)
played back to back, so the hall speaks offline and numbers are always read by our rules,
never by a speech engine (engines misread them, e.g. 15 as "mười năm").

Clip ids
--------
Every id is filename-safe ASCII (``[a-z0-9._]``) and is a pure function of the spoken text:

- ``chime``                        the two-tone ding-dong that opens every announcement
- ``pause``                        half a second of silence between the two sayings of a call
- ``num.<word>``                   a Vietnamese number word, e.g. ``num.mu7o7i2`` (mười)
- ``letter.<letter>``              a ticket prefix letter read by its Vietnamese name,
                                   e.g. ``letter.b`` ("bê"), ``letter.d9`` (Đ, "đê")
- ``phrase.<word>_<word>...``      a fixed phrase of a template, e.g.
                                   ``phrase.d9e6n1_qua6y2_so61`` ("đến quầy số")
- ``en.num.<word>``, ``en.letter.<letter>``, ``en.phrase.<word>_...``   English clips

Vietnamese words are spelled in VNI (the Vietnamese typing convention that writes marks as
digits): a letter is followed by its modifier (6 circumflex â ê ô, 7 horn ơ ư, 8 breve ă,
9 stroke đ) and the word ends with its tone (1 sắc, 2 huyền, 3 hỏi, 4 ngã, 5 nặng). So
words that differ only by diacritics get different ids (mười ``mu7o7i2``, mươi ``mu7o7i``;
năm ``na8m``, lăm ``la8m``), and since template text may not contain digits the mapping is
one-to-one: a hall that changes its template gets new ``phrase.*`` ids for exactly the
phrases that changed, and can rebuild or record just those.

A template's fixed text is split into phrases at the placeholders and at pause punctuation
(, . ; : ! ?); each phrase is one clip, spoken lower-case with single spaces.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

DIALECTS = ("north", "south")
READINGS = ("whole", "digits")
SECOND_LANGUAGES = ("en",)
# How often a call is said: the sentence twice; the sentence then the number and counter
# again (REMINDER_TEMPLATE); or once. The English second language is said once, after.
REPEATS = ("twice", "number_and_counter", "once")
# The regional voices a hall can choose (espeak-ng's names; one shipped pack each). The
# voice is the accent; the dialect (nghìn/ngàn, linh/lẻ) is the words, chosen on its own.
VOICES = ("vi", "vi-vn-x-central", "vi-vn-x-south")
VOICE_NAMES = {"vi": "Miền Bắc / Northern", "vi-vn-x-central": "Miền Trung / Central",
               "vi-vn-x-south": "Miền Nam / Southern"}
MAX_NUMBER = 99_999
MAX_TEMPLATE_LENGTH = 200

DEFAULT_TEMPLATE = "Xin mời công dân có số thứ tự {number} đến quầy số {counter}"
DEFAULT_TEMPLATE_EN = "Ticket number {number}, please go to counter {counter}"
# A recall is heard as one: "lại" (again) right after "xin mời", where the ear expects the call.
DEFAULT_RECALL_TEMPLATE = "Xin mời lại công dân có số thứ tự {number} đến quầy số {counter}"
DEFAULT_RECALL_TEMPLATE_EN = "Again, ticket number {number}, please go to counter {counter}"
# What ``repeat = "number_and_counter"`` says after the sentence.
REMINDER_TEMPLATE = "Số {number}, đến quầy số {counter}"

CHIME = "chime"
PAUSE = "pause"
PAUSE_SECONDS = 0.5

DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

# The two words that differ between the northern and southern ways of reading numbers.
_ZERO_TENS_WORD = {"north": "linh", "south": "lẻ"}  # 105: một trăm linh năm / lẻ năm
_THOUSAND_WORD = {"north": "nghìn", "south": "ngàn"}

# Names of ticket prefix letters as announcers say them. The Vietnamese alphabet names
# (bê, xê, dê...) rather than the phonics sounds taught to children (bờ, cờ, dờ), because
# a single consonant sound is hard to hear in a hall; L M N R S X use the two-syllable names
# that keep them apart (e-lờ, em-mờ, en-nờ, e-rờ, ét-xì, ích-xì). F J W Z are not in the
# Vietnamese alphabet; they get the names people use for them (J "gi", written "di",
# which sounds the same, because engines read a bare "gi" as a lone consonant).
LETTER_NAMES_VI = {
    "A": "a", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e", "F": "ép", "G": "giê",
    "H": "hát", "I": "i-ngắn", "J": "di", "K": "ca", "L": "e-lờ", "M": "em-mờ", "N": "en-nờ",
    "O": "o", "P": "pê", "Q": "quy", "R": "e-rờ", "S": "ét-xì", "T": "tê", "U": "u", "V": "vê",
    "W": "vê-kép", "X": "ích-xì", "Y": "i-dài", "Z": "dét",
}
PREFIX_LETTERS = tuple(LETTER_NAMES_VI)

ENGLISH_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)
ENGLISH_TENS_WORDS = {
    2: "twenty", 3: "thirty", 4: "forty", 5: "fifty",
    6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety",
}

PLACEHOLDERS = {"number": "number", "counter": "counter", "số": "number", "quầy": "counter"}


# ---------------------------------------------------------------------------
# Numbers


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")


def _check_number(n: object, dialect: str) -> None:
    _check_dialect(dialect)
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"number must be an int, not {type(n).__name__}")
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"number {n} is outside 0..{MAX_NUMBER}")


def _tens_and_units(n: int) -> list[str]:
    """Words for 1..99 standing on their own (no "linh" before a lone unit)."""
    tens, units = divmod(n, 10)
    if tens == 0:
        return [DIGIT_WORDS[units]]
    words = ["mười"] if tens == 1 else [DIGIT_WORDS[tens], "mươi"]
    if units == 0:
        return words
    if units == 5:
        words.append("lăm")  # 15 mười lăm, 25 hai mươi lăm
    elif units == 1 and tens >= 2:
        words.append("mốt")  # 21 hai mươi mốt, but 11 mười một
    elif units == 4 and tens >= 2:
        words.append("tư")  # 24 hai mươi tư, but 14 mười bốn
    else:
        words.append(DIGIT_WORDS[units])
    return words


def _hundreds_group(n: int, dialect: str, *, after_thousands: bool) -> list[str]:
    """Words for 0..999; after a thousands word a zero hundreds digit is still read."""
    hundreds, rest = divmod(n, 100)
    if hundreds == 0 and not after_thousands:
        return _tens_and_units(rest) if rest else []
    words = [DIGIT_WORDS[hundreds], "trăm"]  # 1023: một nghìn "không trăm" hai mươi ba
    if rest == 0:
        return words
    if rest < 10:
        # 105 một trăm linh năm: the unit keeps its plain word after linh / lẻ.
        return words + [_ZERO_TENS_WORD[dialect], DIGIT_WORDS[rest]]
    return words + _tens_and_units(rest)


def number_words(n: int, dialect: str = "north") -> list[str]:
    """The words of ``n`` (0..99 999) read the Vietnamese way, one clip per word."""
    _check_number(n, dialect)
    if n == 0:
        return [DIGIT_WORDS[0]]
    thousands, rest = divmod(n, 1000)
    if thousands == 0:
        return _hundreds_group(rest, dialect, after_thousands=False)
    words = _tens_and_units(thousands) + [_THOUSAND_WORD[dialect]]
    if rest:
        words += _hundreds_group(rest, dialect, after_thousands=True)
    return words


def read_number(n: int, dialect: str = "north") -> str:
    """``n`` (0..99 999) in Vietnamese words, e.g. 1023 → "một nghìn không trăm hai mươi ba"."""
    return " ".join(number_words(n, dialect))


def digit_words(digits: str) -> list[str]:
    """Digit-by-digit reading, e.g. "1003" → một không không ba."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"not a string of digits: {digits!r}")
    return [DIGIT_WORDS[int(d)] for d in digits]


def number_vocabulary(dialect: str = "north") -> tuple[str, ...]:
    """Every word ``number_words`` and ``digit_words`` can produce in ``dialect``."""
    _check_dialect(dialect)
    return DIGIT_WORDS + (
        "mười", "mươi", "mốt", "tư", "lăm", "trăm", _ZERO_TENS_WORD[dialect], _THOUSAND_WORD[dialect],
    )


def english_number_words(n: int) -> list[str]:
    """English words for a counter: whole for 0..99 ("twenty", "one"), else digit by digit."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"not a non-negative int: {n!r}")
    if n < 20:
        return [ENGLISH_NUMBER_WORDS[n]]
    if n < 100:
        tens, units = divmod(n, 10)
        return [ENGLISH_TENS_WORDS[tens]] + ([ENGLISH_NUMBER_WORDS[units]] if units else [])
    return [ENGLISH_NUMBER_WORDS[int(d)] for d in str(n)]


# ---------------------------------------------------------------------------
# Clip ids

_MODIFIER_DIGIT = {"\u0302": "6", "\u031b": "7", "\u0306": "8"}  # circumflex, horn, breve
_TONE_DIGIT = {"\u0301": "1", "\u0300": "2", "\u0309": "3", "\u0303": "4", "\u0323": "5"}
_MODIFIER_BASES = {"6": "aeo", "7": "ou", "8": "a"}
_VOWELS = "aeiouy"


@functools.lru_cache(maxsize=1024)
def word_slug(word: str) -> str:
    """A Vietnamese or English word spelled as filename-safe ASCII (VNI, see module doc).

    Raises ValueError for anything that is not a single word of Vietnamese or ASCII letters.
    """
    if not word:
        raise ValueError("empty word")
    out: list[str] = []
    tone = ""
    for char in unicodedata.normalize("NFC", word.lower()):
        if char == "đ":
            out.append("d9")
            continue
        base, *marks = unicodedata.normalize("NFD", char)
        if not ("a" <= base <= "z"):
            raise ValueError(f"unsupported character {char!r} in {word!r}")
        out.append(base)
        for mark in marks:
            if mark in _MODIFIER_DIGIT:
                digit = _MODIFIER_DIGIT[mark]
                if base not in _MODIFIER_BASES[digit]:
                    raise ValueError(f"unsupported character {char!r} in {word!r}")
                out.append(digit)
            elif mark in _TONE_DIGIT and base in _VOWELS:
                if tone:
                    raise ValueError(f"{word!r} has more than one tone mark")
                tone = _TONE_DIGIT[mark]
            else:
                raise ValueError(f"unsupported character {char!r} in {word!r}")
    return "".join(out) + tone


def number_clip_id(word: str) -> str:
    return "num." + word_slug(word)


def letter_clip_id(letter: str) -> str:
    return "letter." + word_slug(letter)


def english_number_clip_id(word: str) -> str:
    return "en.num." + word


def english_letter_clip_id(letter: str) -> str:
    # Đ is not an English letter; it is read as D.
    return "en.letter." + ("d" if letter in "Đđ" else letter.lower())


def phrase_clip_id(words: Iterable[str], language: str = "vi") -> str:
    slug = "_".join(word_slug(w) for w in words)
    return ("phrase." if language == "vi" else f"{language}.phrase.") + slug


# ---------------------------------------------------------------------------
# Templates

_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_PAUSE_PUNCTUATION = ",.;:!?…"
# Punctuation that only separates words; anything else in the fixed text is refused
# rather than silently left unspoken.
_SEPARATORS = " \t-–—'\"“”‘’()/"
_MAX_PHRASE_ID_LENGTH = 150


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]


@dataclass(frozen=True)
class _Slot:
    name: str  # "number" or "counter"


def _split_phrases(text: str, language: str) -> list[_Phrase]:
    phrases: list[_Phrase] = []
    words: list[str] = []
    word = ""
    for char in text + ".":
        if char in _PAUSE_PUNCTUATION or char in _SEPARATORS or char.isspace():
            if word:
                words.append(word)
                word = ""
            if char in _PAUSE_PUNCTUATION and words:
                phrases.append(_Phrase(tuple(w.lower() for w in words)))
                words = []
        elif char.isdigit():
            raise ValueError(
                f"the fixed text has the digit {char!r}; write numbers in words "
                "(speech engines misread digits)"
            )
        elif char.isalpha():
            if language != "vi" and not char.isascii():
                raise ValueError(f"unsupported character {char!r} in the {language} template")
            word += char
        else:
            raise ValueError(f"unsupported character {char!r} in the template")
    for phrase in phrases:
        for w in phrase.words:
            word_slug(w)  # raises for letters outside Vietnamese / ASCII
        if len(phrase_clip_id(phrase.words, language)) > _MAX_PHRASE_ID_LENGTH:
            raise ValueError(
                f"the phrase {' '.join(phrase.words)!r} is too long for one clip; "
                "split it with a comma"
            )
    return phrases


def _parse_template(template: str, language: str = "vi") -> tuple[_Phrase | _Slot, ...]:
    """The template as phrases and placeholder slots; ValueError saying what is wrong."""
    if not isinstance(template, str):
        raise ValueError("the template must be text")
    return _parse_text_template(template, language)


@functools.lru_cache(maxsize=64)  # the hub composes with the same template all day
def _parse_text_template(template: str, language: str) -> tuple[_Phrase | _Slot, ...]:
    template = unicodedata.normalize("NFC", template)
    if len(template) > MAX_TEMPLATE_LENGTH:
        raise ValueError(f"the template is longer than {MAX_TEMPLATE_LENGTH} characters")
    if "{" in _PLACEHOLDER_RE.sub("", template) or "}" in _PLACEHOLDER_RE.sub("", template):
        raise ValueError("the template has an unmatched { or }")
    parts: list[_Phrase | _Slot] = []
    position = 0
    for match in _PLACEHOLDER_RE.finditer(template):
        name = match.group(1).strip()
        if name not in PLACEHOLDERS:
            raise ValueError(
                f"unknown placeholder {match.group(0)!r}; use {{number}} and {{counter}}"
            )
        parts += _split_phrases(template[position:match.start()], language)
        parts.append(_Slot(PLACEHOLDERS[name]))
        position = match.end()
    parts += _split_phrases(template[position:], language)
    slots = {p.name for p in parts if isinstance(p, _Slot)}
    for required in ("number", "counter"):
        if required not in slots:
            raise ValueError(f"the template has no {{{required}}} placeholder")
    return tuple(parts)


def template_error(template: str, language: str = "vi") -> str | None:
    """Why ``template`` cannot be used for announcements, or None if it can."""
    try:
        _parse_template(template, language)
    except ValueError as exc:
        return str(exc)
    return None


def _render_text(template: str, ticket_number: str, counter_number: int) -> str:
    values = {"number": ticket_number, "counter": str(counter_number)}
    return _PLACEHOLDER_RE.sub(
        lambda m: values[PLACEHOLDERS[m.group(1).strip()]], unicodedata.normalize("NFC", template)
    )


# ---------------------------------------------------------------------------
# Composition

_TICKET_RE = re.compile(r"([A-ZĐ]{0,3})[- ]?(\d{1,5})")


def parse_ticket_number(ticket_number: str) -> tuple[str, str]:
    """Split "A012" into ("A", "012"); up to three prefix letters and 1-5 digits."""
    if not isinstance(ticket_number, str):
        raise ValueError(f"ticket number must be text, not {type(ticket_number).__name__}")
    match = _TICKET_RE.fullmatch(ticket_number.strip().upper())
    if not match or not match.group(2).isascii():
        raise ValueError(f"not a ticket number: {ticket_number!r} (expected e.g. 1003 or A012)")
    return match.group(1), match.group(2)


@dataclass(frozen=True)
class Announcement:
    """What the hall shows (``text``, ``text_en``) and plays (``clips``, in order)."""

    text: str
    clips: tuple[str, ...]
    text_en: str | None = None


def _ticket_clips_vi(prefix: str, digits: str, dialect: str, reading: str) -> list[str]:
    clips = [letter_clip_id(letter) for letter in prefix]
    words = digit_words(digits) if reading == "digits" else number_words(int(digits), dialect)
    return clips + [number_clip_id(w) for w in words]


def _ticket_clips_en(prefix: str, digits: str) -> list[str]:
    # Ticket codes are read character by character in English ("A zero one two"), as
    # English-speaking counters do, and it keeps the English clip set small.
    return [english_letter_clip_id(letter) for letter in prefix] + [
        english_number_clip_id(ENGLISH_NUMBER_WORDS[int(d)]) for d in digits
    ]


def _template_clips(parts, language: str, ticket_clips: list[str], counter_clips: list[str]):
    clips: list[str] = []
    for part in parts:
        if isinstance(part, _Phrase):
            clips.append(phrase_clip_id(part.words, language))
        elif part.name == "number":
            clips += ticket_clips
        else:
            clips += counter_clips
    return clips


def compose_announcement(
    ticket_number: str,
    counter_number: int,
    *,
    template: str = DEFAULT_TEMPLATE,
    dialect: str = "north",
    reading: str = "whole",
    second_language: str | None = None,
    template_en: str = DEFAULT_TEMPLATE_EN,
    repeat: str = "once",
) -> Announcement:
    """The announcement calling ``ticket_number`` to ``counter_number``.

    ``reading="whole"`` reads the ticket's number part as a number with leading zeros
    dropped (A012 → "A mười hai"); ``"digits"`` reads it digit by digit (một không không ba).
    The counter is always read as a whole number. ``repeat`` (see REPEATS) says the
    Vietnamese sentence again after a pause, or only its number and counter
    (REMINDER_TEMPLATE); ``text`` stays the sentence once, as screens show it.
    ``second_language="en"`` appends the English announcement (``template_en``), once.
    A recall passes the recall templates (DEFAULT_RECALL_TEMPLATE...).
    """
    _check_dialect(dialect)
    if reading not in READINGS:
        raise ValueError(f"unknown reading {reading!r}; expected one of {', '.join(READINGS)}")
    if second_language is not None and second_language not in SECOND_LANGUAGES:
        raise ValueError(f"unsupported second language {second_language!r}; expected 'en' or None")
    if repeat not in REPEATS:
        raise ValueError(f"unknown repeat {repeat!r}; expected one of {', '.join(REPEATS)}")
    if isinstance(counter_number, bool) or not isinstance(counter_number, int) or not (
        1 <= counter_number <= MAX_NUMBER
    ):
        raise ValueError(f"counter number must be an int in 1..{MAX_NUMBER}: {counter_number!r}")
    prefix, digits = parse_ticket_number(ticket_number)
    shown_ticket = ticket_number.strip()  # shown as the hub wrote it
    parts = _parse_template(template)

    ticket_clips = _ticket_clips_vi(prefix, digits, dialect, reading)
    counter_clips = [number_clip_id(w) for w in number_words(counter_number, dialect)]
    clips = [CHIME] + _template_clips(parts, "vi", ticket_clips, counter_clips)
    if repeat != "once":
        again = parts if repeat == "twice" else _parse_template(REMINDER_TEMPLATE)
        clips += [PAUSE] + _template_clips(again, "vi", ticket_clips, counter_clips)
    text_en = None
    if second_language == "en":
        clips += _template_clips(
            _parse_template(template_en, "en"),
            "en",
            _ticket_clips_en(prefix, digits),
            [english_number_clip_id(w) for w in english_number_words(counter_number)],
        )
        text_en = _render_text(template_en, shown_ticket, counter_number)
    return Announcement(
        text=_render_text(template, shown_ticket, counter_number),
        clips=tuple(clips),
        text_en=text_en,
    )


# ---------------------------------------------------------------------------
# The clip catalogue: what a pack must hold


@dataclass(frozen=True)
class Clip:
    """One clip a pack must hold: ``text`` is what is spoken ("" for the chime and the pause)."""

    id: str
    text: str
    language: str  # "vi", "en", or "" for the chime and the pause (generated, not spoken)


DEFAULT_TEMPLATES = (DEFAULT_TEMPLATE, DEFAULT_RECALL_TEMPLATE)
DEFAULT_TEMPLATES_EN = (DEFAULT_TEMPLATE_EN, DEFAULT_RECALL_TEMPLATE_EN)


def clip_catalogue(
    templates: Iterable[str] = DEFAULT_TEMPLATES,
    dialects: Iterable[str] = DIALECTS,
    second_languages: Iterable[str] = SECOND_LANGUAGES,
    templates_en: Iterable[str] = DEFAULT_TEMPLATES_EN,
) -> dict[str, Clip]:
    """Every clip ``compose_announcement`` can emit for these settings, by id (sorted).

    Covers every ticket (any prefix letters, 0..99 999, both readings), counter and
    ``repeat``; ``templates`` are all the hall's templates (first calls and recalls).
    """
    clips: dict[str, Clip] = {CHIME: Clip(CHIME, "", ""), PAUSE: Clip(PAUSE, "", "")}

    def add(clip_id: str, text: str, language: str) -> None:
        clips.setdefault(clip_id, Clip(clip_id, text, language))

    def add_phrases(template: str, language: str) -> None:
        for part in _parse_template(template, language):
            if isinstance(part, _Phrase):
                add(phrase_clip_id(part.words, language), " ".join(part.words), language)

    for template in (*templates, REMINDER_TEMPLATE):
        add_phrases(template, "vi")
    for dialect in dialects:
        for word in number_vocabulary(dialect):
            add(number_clip_id(word), word, "vi")
    for letter, name in LETTER_NAMES_VI.items():
        add(letter_clip_id(letter), name, "vi")

    for language in second_languages:
        if language not in SECOND_LANGUAGES:
            raise ValueError(f"unsupported second language {language!r}")
        for template in templates_en:
            add_phrases(template, language)
        for word in ENGLISH_NUMBER_WORDS + tuple(ENGLISH_TENS_WORDS.values()):
            add(english_number_clip_id(word), word, language)
        for letter in PREFIX_LETTERS:
            if letter != "Đ":
                add(english_letter_clip_id(letter), letter, language)
    return dict(sorted(clips.items()))


def clip_ids(
    templates: Iterable[str] = DEFAULT_TEMPLATES,
    dialects: Iterable[str] = DIALECTS,
    second_languages: Iterable[str] = SECOND_LANGUAGES,
    templates_en: Iterable[str] = DEFAULT_TEMPLATES_EN,
) -> list[str]:
    """The sorted ids of ``clip_catalogue`` for the same settings."""
    return list(clip_catalogue(templates, dialects, second_languages, templates_en))
