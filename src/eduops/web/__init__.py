"""The console and HTTP API (FastAPI + Jinja2)."""
