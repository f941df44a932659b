"""What the pack knows of the program it judges. The pack is published alone (`pulumi policy publish` ships
this folder), so it states these itself; tests/test_policy_pack.py checks they agree with the program's."""

# Kubernetes versions in EKS standard support that the program is tested against (settings/aws_catalog.py).
SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.33", "1.34", "1.35")
# Node pool label and spot taint of the cluster's node groups (settings/scheduling.py).
POOL_LABEL = "insight.io/pool"
SPOT_TAINT_KEY = "insight.io/spot"
# The namespace of the catalog's services, the only one exposed to the internet (settings/endpoints.py).
APPS_NAMESPACE = "apps"
