"""The documentation says what the code does: settings, commands, routes, push events."""

import re
from pathlib import Path

import click
import pytest

from hallserver.cli import cli
from hallserver.hall import COUNTER_ACTIONS
from hallserver.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
API_DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_every_setting_is_in_the_readme(setting):
    assert f"`HALL_{setting.name.upper()}`" in README


def command_paths(group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from command_paths(command, prefix + (name,))
        else:
            yield " ".join(prefix + (name,))


@pytest.mark.parametrize("command", sorted(command_paths(cli)))
def test_every_cli_command_is_in_the_api_doc(command):
    assert f"hallserver {command}" in API_DOC


def command_options(group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from command_options(command, prefix + (name,))
        else:
            for parameter in command.params:
                if isinstance(parameter, click.Option):
                    yield " ".join(prefix + (name,)), "/".join(parameter.opts + parameter.secondary_opts)


@pytest.mark.parametrize("command, option", sorted(command_options(cli)))
def test_every_cli_option_is_in_the_api_doc(command, option):
    """An option only --help tells of is one an operator never hears about."""
    command_line = API_DOC.split("## Command line", 1)[1]
    assert option in command_line, f"hallserver {command} {option}"


OPERATOR_DOCS = ("README.md", "docs/api.md", "sounds/README.md", "display/README.md", "counter_client/README.md",
                 *(f"deploy/{path.name}" for path in sorted((ROOT / "deploy").iterdir())))


def documented_command_lines():
    """(file, line number, the command's words, the rest of the line) for every `hallserver …`
    the operator's documents show."""
    for name in OPERATOR_DOCS:
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), start=1):
            for match in re.finditer(r"hallserver((?: [a-z][a-z-]*)+)(.*)", line):
                yield name, number, match.group(1).split(), match.group(2).split("#")[0]


def test_every_documented_command_and_option_exists():
    """A command the docs show is one the hub has, with options it takes (a renamed option
    would leave operators with 'No such option')."""
    wrong = []
    for name, number, words, rest in documented_command_lines():
        command, path = cli, []
        for word in words:
            if not isinstance(command, click.Group):
                rest = " ".join(words[len(path):]) + rest  # the leaf's arguments
                break
            if word not in command.commands:
                if command is not cli:
                    wrong.append(f"{name}:{number}: hallserver {' '.join(path)} has no command {word!r}")
                break  # prose: "the hallserver command"
            command, path = command.commands[word], path + [word]
        if isinstance(command, click.Group):
            continue
        known = {option for parameter in command.params for option in (*parameter.opts, *parameter.secondary_opts)}
        for option in re.findall(r"--[a-z][a-z-]*", rest):
            if option not in known | {"--help"}:
                wrong.append(f"{name}:{number}: hallserver {' '.join(path)} has no option {option}")
    assert wrong == []


@pytest.mark.parametrize("program, readme, module", [
    ("hall-display", "display/README.md", "display.__main__"),
    ("hall-counter", "counter_client/README.md", "counter_client.config"),
])
def test_every_client_option_its_readme_shows_exists(program, readme, module):
    """The options a client's README shows (its synopsis, option tables, command lines) are its parser's."""
    import importlib

    parser = importlib.import_module(module).build_parser()
    known = {option for action in parser._actions for option in action.option_strings}
    lines = []  # what follows the program on a line, option table rows, the synopsis' continuation lines
    for line in (ROOT / readme).read_text(encoding="utf-8").splitlines():
        if program in line:
            lines.append(line.split(program, 1)[1])
        elif line.startswith("| `--") or re.match(r"\s+\[--", line):
            lines.append(line)
    shown = {option for line in lines for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", line.split("#")[0])}
    assert sorted(shown - known) == []
    text = (ROOT / readme).read_text(encoding="utf-8")
    told = {option for option in known if option.startswith("--") and option != "--help"}
    assert sorted(option for option in told if not re.search(rf"(?<![\w-]){option}(?![\w-])", text)) == []


def test_every_route_is_in_the_api_doc(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:int:)?(\w+)>", r"<\1>", rule.rule).replace("<number>", "<n>")
            if "<action>" in path:
                for action in COUNTER_ACTIONS:
                    assert f"| `{action}` |" in API_DOC, action
            assert f"`{next(iter(rule.methods - {'HEAD', 'OPTIONS'}))} {path}`" in API_DOC, path


def test_every_push_event_is_in_the_api_doc():
    source = (ROOT / "hallserver" / "web" / "push.py").read_text(encoding="utf-8")
    emitted = set(re.findall(r'socketio\.emit\(\s*"(\w+)"', source)) | set(re.findall(r'\("(\w+)", \{"seq"', source))
    assert emitted >= {"called", "queue", "counter", "counter_state", "state", "ticket"}
    for event in emitted:
        assert f"`{event}`" in API_DOC, event
