"""The synthetic platform behind `eduops demo` (platform.py) and the runner that asks each domain for its share."""
