"""Regenerate feedback_500.csv: 500 Chinese (and a few English) texts over seven themes.

Run from the repository root: .venv/bin/python tests/feedback/data/make_feedback_csv.py
The ``theme`` column is the truth the clustering test compares with; eduops ignores it on import.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eduops.feedback.samples import sample_feedback

CHANNELS = ["app", "app", "app", "web", "widget", "wechat", "phone"]


def main() -> None:
    rng = random.Random(500)
    start = datetime(2026, 11, 2, tzinfo=UTC)
    path = Path(__file__).with_name("feedback_500.csv")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "user", "channel", "received_at", "app_version", "text", "theme"])
        for n, (theme, text) in enumerate(sample_feedback(500, rng), start=1):
            at = start + timedelta(minutes=rng.randint(0, 28 * 24 * 60))
            writer.writerow(
                [
                    f"fb-{n:04d}",
                    f"u{rng.randint(1, 420):04d}",
                    rng.choice(CHANNELS),
                    at.isoformat(),
                    rng.choice(["5.2.0", "5.2.1", "5.3.0"]),
                    text,
                    theme,
                ]
            )


if __name__ == "__main__":
    main()
