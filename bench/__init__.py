"""Benchmarks: each prints ratios measured in one run (`make bench`). Never timed assertions in tests."""
