"""Plain Python behind the pages and commands: accounts and tokens, administration, reports,
the dashboard, reminders, backups, printing (see README, "The parts")."""
