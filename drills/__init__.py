"""Scheduling and failure drills over a recorded stack: capacity, placement, scale-up, drills, report."""
