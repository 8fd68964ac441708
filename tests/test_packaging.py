"""What `pip install` puts on a machine: every module of the checkout, not only those that
an editable install (./run.sh) happens to find in the source tree."""

import configparser
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent


def packaged():
    """The packages setup.cfg's ``packages = find:`` gives a wheel."""
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    include = setup["options.packages.find"]["include"].split()
    return set(find_packages(str(ROOT), include=include))


@pytest.mark.parametrize("top", ["hallserver", "display", "counter_client", "hallclient"])
def test_every_folder_of_python_modules_is_packaged(top):
    """A folder without __init__.py is left out of the wheel: `pip install /opt/hall-queue/src`
    (display/README, README's server install) gave a hub that stopped at 'No module named
    hallserver.services'."""
    folders = {path.parent for path in (ROOT / top).rglob("*.py") if "__pycache__" not in path.parts}
    names = {".".join(folder.relative_to(ROOT).parts) for folder in folders}
    assert names - packaged() == set()


def test_every_template_static_file_and_translation_is_packaged():
    """Package data is listed by glob: `templates/*` left out every page of templates/<area>/,
    so an installed hub answered its own pages with 500 (TemplateNotFound)."""
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    web = ROOT / "hallserver" / "web"
    patterns = [pattern.strip() for pattern in setup["options.package_data"]["hallserver.web"].split(",")]
    packaged_files = {path for pattern in patterns for path in web.glob(pattern) if path.is_file()}
    data = {path for folder in ("templates", "static", "translations") for path in (web / folder).rglob("*")
            if path.is_file()}
    assert sorted(str(path.relative_to(web)) for path in data - packaged_files) == []
