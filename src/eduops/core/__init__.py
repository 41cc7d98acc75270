"""The loop: calendar, scheduler, runs, checks, metrics, reports."""
