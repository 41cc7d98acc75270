"""Imports every domain's tables so Base.metadata knows them all."""

from eduops.core.plugins import load_models

load_models()
