"""Alerting: measurements become series, rules watch them, alerts are grouped, silenced and delivered."""
