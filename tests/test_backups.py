"""The hub's daily copies of its database (hallserver.services.backups)."""

from hallserver.services import backups


def test_keeping_no_daily_copies_makes_none(store, tmp_path):
    """HALL_BACKUP_KEEP_DAYS=0 copied the whole database and deleted the copy again in every
    round of the hub's timer (every 30 s); copies made before are left alone."""
    folder = tmp_path / "backups"
    assert backups.daily_backup(store, folder, today="2026-11-20", keep_days=2) is not None
    assert backups.daily_backup(store, folder, today="2026-11-21", keep_days=0) is None
    assert [day for day, _, _ in backups.list_backups(folder)] == ["2026-11-20"]
