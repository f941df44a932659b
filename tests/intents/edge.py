"""Intents of the rules in policy/rules/edge.py (see tests/intents/__init__.py)."""

from . import Intents

INTENTS: Intents = {}
