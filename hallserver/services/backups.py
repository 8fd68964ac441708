"""Daily copies of the hall database (SQLite online backup), kept for N days."""

import os
import re
from datetime import date, timedelta
from pathlib import Path

NAME = re.compile(r"^hall-(\d{4}-\d{2}-\d{2})\.db$")


def list_backups(directory):
    """[(day, path, size in bytes)] of the daily copies in ``directory``, newest first."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = NAME.match(path.name)
        if match:
            found.append((match.group(1), path, path.stat().st_size))
    return sorted(found, reverse=True)


def daily_backup(store, directory, *, today, keep_days):
    """Copy the database once per local day and drop copies older than ``keep_days``.

    Returns the new copy's path, or None when today's copy already exists. ``keep_days`` below
    1 (HALL_BACKUP_KEEP_DAYS=0: the hall backs up by other means) makes no copy and drops none:
    a copy kept for no days was made and deleted again every round of the hub's timer.
    """
    if keep_days < 1:
        return None
    folder = Path(directory)
    target = folder / f"hall-{today}.db"
    made = None
    if not target.exists():
        partial = folder / f".hall-{today}.db.partial"
        store.backup(partial)   # private like the database itself (Store.backup)
        os.replace(partial, target)  # a crash mid-copy never leaves a half file under the real name
        made = target
    oldest_kept = (date.fromisoformat(today) - timedelta(days=keep_days - 1)).isoformat()
    for day, path, _ in list_backups(folder):
        if day < oldest_kept:
            path.unlink()
    return made
