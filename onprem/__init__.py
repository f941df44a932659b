"""On-prem shapes: the one-host Compose bundle (compose.py, bundle.py)."""
