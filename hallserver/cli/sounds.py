"""``hallserver sounds``: build, check and list the voice clip pack."""

import click

from ..voice import announcements as voice
from ..voice.announcements import CHIME, Clip
from ..voice.engines import ENGINES
from ..voice.pack import PackError, build_pack, verify_pack


def _dialects(choice: str) -> tuple[str, ...]:
    return voice.DIALECTS if choice == "both" else (choice,)


def _catalogue_options(function):
    options = [
        click.option("--dialect", type=click.Choice(["north", "south", "both"]), default="both",
                     show_default=True, help="Number words for which dialect(s)."),
        click.option("--template", "templates", multiple=True, metavar="TEXT",
                     help="Announcement template (repeatable); default: the standard one."),
        click.option("--english/--no-english", default=True, show_default=True,
                     help="Include the English second-language clips."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _catalogue(dialect: str, templates: tuple[str, ...], english: bool) -> dict[str, Clip]:
    templates = templates or (voice.DEFAULT_TEMPLATE,)
    for template in templates:
        problem = voice.template_error(template)
        if problem:
            raise click.BadParameter(f"{template!r}: {problem}", param_hint="--template")
    return voice.clip_catalogue(templates, _dialects(dialect), ("en",) if english else ())


@click.group("sounds")
def sounds():
    """Build, check and list the voice clip pack the hall screen plays."""


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
    """Build the clip pack into --out and write its manifest.json."""
    catalogue = _catalogue(dialect, templates, english)
    if engine_name == "recorded":
        if not recordings:
            raise click.UsageError("--engine recorded needs --recordings DIR")
        engine = ENGINES[engine_name](recordings)
        missing = [i for i in catalogue if i != CHIME and engine.recording(i) is None]
        if missing and not keep_existing:
            raise click.ClickException(
                f"{len(missing)} recording(s) missing from {recordings}: {', '.join(missing)}"
            )
    else:
        engine = ENGINES[engine_name]()
    voices = engine.default_voices(_dialects(dialect))
    voices["vi"] = voice_vi or voices["vi"]
    voices["en"] = voice_en or voices["en"]
    if not english:
        del voices["en"]
    settings = {
        "dialects": list(_dialects(dialect)),
        "templates": list(templates or (voice.DEFAULT_TEMPLATE,)),
        "second_languages": ["en"] if english else [],
        "templates_en": [voice.DEFAULT_TEMPLATE_EN] if english else [],
    }
    try:
        manifest = build_pack(
            out_dir, catalogue, engine, voices, settings=settings, keep_existing=keep_existing,
            progress=lambda clip_id: click.echo(f"  {clip_id}", err=True),
        )
    except PackError as exc:
        raise click.ClickException(
            f"{exc}\nNothing was written; the pack in {out_dir} is unchanged.") from exc
    click.echo(f"Built {len(manifest['clips'])} clips into {out_dir} with {engine.name}.")


@sounds.command("check")
@click.option("--dir", "pack_dir", type=click.Path(file_okay=False), default="sounds", show_default=True)
@_catalogue_options
def check(pack_dir, dialect, templates, english):
    """Check the pack has every clip announcements need, and that each file plays."""
    problems = verify_pack(pack_dir, _catalogue(dialect, templates, english))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in {pack_dir}")
    click.echo(f"{pack_dir}: OK")


@sounds.command("list")
@_catalogue_options
def list_clips(dialect, templates, english):
    """Print every clip id and its text (a script for recording a human voice)."""
    for clip in _catalogue(dialect, templates, english).values():
        click.echo(f"{clip.id}\t{clip.language}\t{clip.text or '(chime: generated)'}")
