"""The EKS node pools' labels and taint (AWS layer), and the topology keys every cluster's nodes carry.

The Kubernetes layer places pods by the handle's NodePlacement (components/handle.py), which the AWS layer makes
from these: stateful pods select the reserved pool; only pods that tolerate the spot taint may land on spot nodes.
"""

POOL_LABEL = "insight.io/pool"
RESERVED_POOL = "reserved"  # on-demand: the data tier and every pod that does not tolerate interruption
SPOT_POOL = "spot"
# The on-demand pool spot-tolerant pods overflow to when no spot capacity can be had (min 0, spot's taint).
OVERFLOW_POOL = "overflow"
SPOT_TAINT_KEY = "insight.io/spot"
ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"
