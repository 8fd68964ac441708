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
