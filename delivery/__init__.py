"""Delivery: release rules (which version goes to which stack), offline preview diffs and the component graph."""
