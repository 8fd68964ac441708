"""The lock (requirements/lock-py<version>.txt) and setup.cfg agree, so installs reproduce.

``./run.sh`` installs with ``pip install -c LOCK``; a requirement added to setup.cfg without
refreshing the lock (``./run.sh lock``) would install unpinned, and one removed would linger.
"""

import configparser
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / f"lock-py{sys.version_info.major}.{sys.version_info.minor}.txt"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)")


def declared_requirements():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    lines = setup["options"]["install_requires"].splitlines()
    for extra in setup["options.extras_require"].values():
        lines += extra.splitlines()
    return [Requirement(line) for line in (line.strip() for line in lines) if line and not line.startswith("#")]


def locked():
    pins, direct = {}, set()
    current = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = match.group(2)
        elif current and "hall-queue (pyproject.toml)" in line:
            direct.add(current)
    return pins, direct


@pytest.fixture(scope="module")
def lock():
    assert LOCK.exists(), f"no lock for this Python: run ./run.sh lock and commit {LOCK.name}"
    return locked()


def test_every_declared_requirement_is_pinned_within_its_range(lock):
    pins, _ = lock
    for requirement in declared_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in the lock: run ./run.sh lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"the lock pins {name}=={pins[name]}, outside setup.cfg's {requirement}: run ./run.sh lock"


def test_the_lock_pins_nothing_setup_cfg_no_longer_asks_for(lock):
    _, direct = lock
    declared = {canonicalize_name(requirement.name) for requirement in declared_requirements()}
    assert direct, "the lock names no package as coming from hall-queue: is it pip-compile's output?"
    assert direct <= declared, f"in the lock but not in setup.cfg: {sorted(direct - declared)}: run ./run.sh lock"


def test_the_installed_packages_are_the_locked_ones(lock):
    """What this environment runs is what the lock says (run.sh installs with -c LOCK)."""
    from importlib.metadata import PackageNotFoundError, version

    pins, _ = lock
    for requirement in declared_requirements():
        if requirement.marker and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue   # an extra this machine did not install (voice, bench, counter-keypad)
        assert installed == pins[name], f"{name} {installed} installed, the lock says {pins[name]}"
