"""The hall's voice: Vietnamese number reading and announcement composition
(:mod:`.announcements`, pure Python, shared by the hub, the screens and the pack builder)
and the clip pack the screens play: :mod:`.pack` (manifest; build, check, load), built with
:mod:`.engines` (espeak-ng, gTTS, recordings) and :mod:`.audio` (decoding, clean-up, chime, WAV)."""

from .announcements import (  # noqa: F401  (the public API of announcements)
    CHIME,
    DEFAULT_TEMPLATE,
    DEFAULT_TEMPLATE_EN,
    DIALECTS,
    MAX_NUMBER,
    MAX_TEMPLATE_LENGTH,
    PREFIX_LETTERS,
    READINGS,
    SECOND_LANGUAGES,
    Announcement,
    Clip,
    clip_catalogue,
    clip_ids,
    compose_announcement,
    digit_words,
    english_number_words,
    letter_clip_id,
    number_clip_id,
    number_vocabulary,
    number_words,
    parse_ticket_number,
    phrase_clip_id,
    read_number,
    template_error,
    word_slug,
)
