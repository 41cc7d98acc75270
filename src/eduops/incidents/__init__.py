"""Incidents: one timeline joining alerts, complaints, call quality, releases, runs and learning signals."""
