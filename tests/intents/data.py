"""Intents of the rules in policy/rules/data.py (see tests/intents/__init__.py)."""

from . import Intents

INTENTS: Intents = {}
