"""Scheduling contract between the node pools (AWS layer) and the pods (Kubernetes layer).

Stateful pods select the reserved pool; only pods that tolerate the spot taint may land on spot nodes.
"""

POOL_LABEL = "insight.io/pool"
# The on-demand pool spot-tolerant pods overflow to when no spot capacity can be had (min 0, spot's taint).
OVERFLOW_POOL = "overflow"
SPOT_TAINT_KEY = "insight.io/spot"
ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"
