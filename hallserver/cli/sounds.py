"""``hallserver sounds``: build, check and list the voice clip pack; the script a person reads
and the import of their recordings."""

import click

from ..voice import announcements as voice
from ..voice.announcements import Clip
from ..voice.engines import ENGINES, RecordingsEngine
from ..voice.pack import GENERATED_VOICES, PackError, build_pack, call_timing, measure_pack, verify_pack


def _dialects(choice: str) -> tuple[str, ...]:
    return voice.DIALECTS if choice == "both" else (choice,)


def _catalogue_options(function):
    options = [
        click.option("--dialect", type=click.Choice(["north", "south", "both"]), default="both",
                     show_default=True, help="Number words for which dialect(s)."),
        click.option("--template", "templates", multiple=True, metavar="TEXT",
                     help="Announcement template (repeatable: the hall's template and recall_template); "
                          "default: the standard call and recall."),
        click.option("--english/--no-english", default=True, show_default=True,
                     help="Include the English second-language clips."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _catalogue(dialect: str, templates: tuple[str, ...], english: bool) -> dict[str, Clip]:
    templates = templates or voice.DEFAULT_TEMPLATES
    for template in templates:
        problem = voice.template_error(template)
        if problem:
            raise click.BadParameter(f"{template!r}: {problem}", param_hint="--template")
    return voice.clip_catalogue(templates, _dialects(dialect), ("en",) if english else ())


@click.group("sounds")
def sounds():
    """Gói giọng đọc / Build, check and list the voice clip pack the hall screen plays; record a
    human voice (script, then import)."""


@sounds.command("build")
@click.option("--engine", "engine_name", type=click.Choice(list(ENGINES)), default="espeak",
              show_default=True, help="espeak: offline; gtts: online, needs the voice extra; "
              "recorded: a folder of human recordings named by clip id.")
@_catalogue_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="sounds",
              show_default=True, help="The pack folder.")
@click.option("--voice", "voice_vi", help="Vietnamese voice (engine's name; speaker's name for recordings).")
@click.option("--voice-en", help="English voice.")
@click.option("--recordings", type=click.Path(exists=True, file_okay=False),
              help="Folder of <clip id>.wav|mp3|ogg|flac files, for --engine recorded.")
@click.option("--keep-existing", is_flag=True,
              help="Keep clips the pack already has; build only the missing ones.")
def build(engine_name, dialect, templates, english, out_dir, voice_vi, voice_en, recordings, keep_existing):
    """Dựng gói giọng đọc / Build the clip pack into --out and write its manifest.json."""
    catalogue = _catalogue(dialect, templates, english)
    if engine_name == "recorded":
        if not recordings:
            raise click.UsageError("--engine recorded needs --recordings DIR")
        engine = ENGINES[engine_name](recordings)
        if not keep_existing:
            _check_recordings(engine, catalogue)
    else:
        engine = ENGINES[engine_name]()
    voices = engine.default_voices(_dialects(dialect))
    voices["vi"] = voice_vi or voices["vi"]
    voices["en"] = voice_en or voices["en"]
    _build(out_dir, catalogue, engine, voices, dialect, templates, english, keep_existing)


def _check_recordings(engine: RecordingsEngine, catalogue: dict[str, Clip]) -> None:
    """Refuse, naming the files, when a clip the pack needs has no recording."""
    missing = [f"{clip_id}.wav" for clip_id in catalogue
               if clip_id not in GENERATED_VOICES and engine.recording(clip_id) is None]
    if missing:
        raise click.ClickException(
            f"Thiếu {len(missing)} tệp thu âm trong {engine.directory}: không ghi gì. / "
            f"{len(missing)} recording(s) missing from {engine.directory} (or as .mp3/.ogg/.flac): "
            f"{', '.join(missing)}\nNothing was written.")


def _build(out_dir, catalogue, engine, voices, dialect, templates, english, keep_existing=False):
    if not english:
        voices.pop("en", None)
    settings = {
        "dialects": list(_dialects(dialect)),
        "templates": list(templates or voice.DEFAULT_TEMPLATES),
        "second_languages": ["en"] if english else [],
        "templates_en": list(voice.DEFAULT_TEMPLATES_EN) if english else [],
    }
    try:
        manifest = build_pack(
            out_dir, catalogue, engine, voices, settings=settings, keep_existing=keep_existing,
            progress=lambda clip_id: click.echo(f"  {clip_id}", err=True),
        )
    except PackError as exc:
        raise click.ClickException(
            f"Không dựng được gói giọng đọc: không ghi gì, gói trong {out_dir} giữ nguyên. / {exc}\n"
            f"Nothing was written; the pack in {out_dir} is unchanged.") from exc
    click.echo(f"Built {len(manifest['clips'])} clips into {out_dir} with {engine.name}.")
    click.echo(measure_pack(out_dir).summary())


@sounds.command("check")
@click.option("--dir", "pack_dir", type=click.Path(file_okay=False), default="sounds", show_default=True)
@_catalogue_options
def check(pack_dir, dialect, templates, english):
    """Kiểm tra gói / Check the pack has every clip announcements need, and that each file plays."""
    problems = verify_pack(pack_dir, _catalogue(dialect, templates, english))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(
            f"{len(problems)} lỗi trong gói {pack_dir} / {len(problems)} problem(s) in {pack_dir}")
    click.echo(f"{pack_dir}: OK")
    click.echo(measure_pack(pack_dir).summary())
    for template in templates or voice.DEFAULT_TEMPLATES:
        what = _TEMPLATE_NAMES.get(template, repr(template))
        timing = call_timing(pack_dir, voice.compose_announcement(
            "1003", 2, template=template, repeat="twice", dialect=_dialects(dialect)[0]).clips)
        click.echo(f"{what} of 1003 to counter 2, said twice: the number starts {timing.number_clips_seconds:.2f} s "
                   f"after the chime starts ({timing.number_seconds:.2f} s with the gaps), the whole call lasts "
                   f"{timing.total_seconds:.2f} s")


# How `sounds check` names the default templates in its timings; a hall's own is quoted.
_TEMPLATE_NAMES = {voice.DEFAULT_TEMPLATE: "a call", voice.DEFAULT_RECALL_TEMPLATE: "a recall"}


@sounds.command("list")
@_catalogue_options
def list_clips(dialect, templates, english):
    """Liệt kê đoạn âm / Print every clip id, its language and its text."""
    for clip in _catalogue(dialect, templates, english).values():
        click.echo(f"{clip.id}\t{clip.language}\t{clip.text or '(' + GENERATED_VOICES[clip.id] + ': generated)'}")


@sounds.command("script")
@_catalogue_options
@click.option("--out", "out_file", type=click.File("w", encoding="utf-8"), default="-",
              help="Write the script here (default: print it).")
def script(dialect, templates, english, out_file):
    """Kịch bản thu âm / What a person reads to record a voice: one line per clip, its file name then
    its words."""
    clips = [clip for clip in _catalogue(dialect, templates, english).values() if clip.id not in GENERATED_VOICES]
    out_file.write(
        "# Đọc từng dòng, lưu mỗi dòng thành một tệp đúng tên ở cột đầu (WAV hoặc MP3).\n"
        "# Read each line and save it as its own file with the name in the first column (WAV or MP3).\n"
        "# Số đọc từng từ, giọng đều; câu đọc tự nhiên. Number words one at a time, level; phrases naturally.\n"
        f"# {len(clips)} clips. Then: hallserver sounds import DIR --out sounds\n")
    for clip in clips:
        out_file.write(f"{clip.id}.wav\t{clip.text}\n")


@sounds.command("import")
@click.argument("recordings", type=click.Path(exists=True, file_okay=False))
@_catalogue_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="sounds", show_default=True,
              help="The pack folder to build.")
@click.option("--speaker", default="human", show_default=True, help="The speaker's name, kept in the manifest.")
def import_recordings(recordings, dialect, templates, english, out_dir, speaker):
    """Dựng gói từ bản thu âm / Build a pack from a person's recordings (the files `sounds script`
    names, WAV or MP3):
    every clip must be there; each is trimmed and brought to the pack's loudness."""
    catalogue = _catalogue(dialect, templates, english)
    engine = RecordingsEngine(recordings)
    _check_recordings(engine, catalogue)
    _build(out_dir, catalogue, engine, {"vi": speaker, "en": speaker}, dialect, templates, english)
