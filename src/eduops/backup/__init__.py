"""Backups that prove themselves: consistent dumps, restic to several targets, verification, restore drills."""
