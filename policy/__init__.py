"""Guardrails: the CrossGuard policy pack (`pulumi preview --policy-pack policy`) and its rules."""
