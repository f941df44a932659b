"""Cost and speed before anything is deployed: the monthly bill against all-on-demand, and the deploy critical path.

Pure functions over the recorded resources of an offline run and the stack settings; no cloud calls.
"""
