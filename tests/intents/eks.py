"""Intents of the rules in policy/rules/eks.py (see tests/intents/__init__.py)."""

from . import Intents

INTENTS: Intents = {}
