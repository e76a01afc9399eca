"""The state file: format, atomic writes, backups and the lock."""
