"""Every operator, chart and image the platform layer runs, pinned in one place.

Bump a version here and nowhere else; the comment says where each one is published. No Bitnami
images or charts (no longer freely available since 2025-08). A chart or operator bump needs its upstream
structure re-derived into schemas/ (tools/derive_schemas.py); tests/test_pinned_schemas.py fails until it is.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repo: str


# Helm charts, from each project's own chart repository.
# ECK operator: Elastic's chart repo (elastic/cloud-on-k8s deploy/eck-operator); it installs the CRDs of its own tag.
ECK_OPERATOR = Chart("eck-operator", "3.1.0", "https://helm.elastic.co")
# MongoDB Controllers for Kubernetes (MCK, mongodb/mongodb-kubernetes), successor of the community operator.
MONGODB_OPERATOR = Chart("mongodb-kubernetes", "1.3.0", "https://mongodb.github.io/helm-charts")
# AWS Load Balancer Controller: the EKS charts repo (aws/eks-charts stable/aws-load-balancer-controller).
AWS_LOAD_BALANCER_CONTROLLER = Chart("aws-load-balancer-controller", "1.13.4", "https://aws.github.io/eks-charts")
# cluster-autoscaler: kubernetes/autoscaler charts/cluster-autoscaler.
CLUSTER_AUTOSCALER = Chart("cluster-autoscaler", "9.50.1", "https://kubernetes.github.io/autoscaler")
# metrics-server: kubernetes-sigs/metrics-server charts/metrics-server (the resource metrics API every HPA reads).
METRICS_SERVER = Chart("metrics-server", "3.13.1", "https://kubernetes-sigs.github.io/metrics-server/")
# kube-prometheus-stack: prometheus-community/helm-charts.
KUBE_PROMETHEUS_STACK = Chart("kube-prometheus-stack", "77.6.2", "https://prometheus-community.github.io/helm-charts")
# Datadog Agent: DataDog/helm-charts charts/datadog.
DATADOG = Chart("datadog", "3.130.1", "https://helm.datadoghq.com")

# RabbitMQ Cluster Operator ships no chart of its own (the common one was Bitnami's): its release manifest.
# That manifest is a CI-built release asset, not in git: schemas/ holds the CRD of the same tag, not the manifest.
RABBITMQ_OPERATOR_VERSION = "2.16.0"
RABBITMQ_OPERATOR_MANIFEST = (
    f"https://github.com/rabbitmq/cluster-operator/releases/download/v{RABBITMQ_OPERATOR_VERSION}/cluster-operator.yml"
)

# Images, from Docker Hub official images or the vendors' own registries.
# Elastic Stack: docker.elastic.co, one version for Elasticsearch, Kibana and Logstash (ECK picks the images).
ELASTIC_STACK_VERSION = "8.19.3"
# The cluster-autoscaler minor must match the cluster's Kubernetes minor (registry.k8s.io/autoscaling).
CLUSTER_AUTOSCALER_IMAGE_TAG = "v1.34.0"
# Prometheus as kube-prometheus-stack 77.6.2 runs it (its values.yaml prometheusSpec.image: v3.5.0); the Compose bundle's.
PROMETHEUS_IMAGE = "quay.io/prometheus/prometheus:v3.5.0"
# openzipkin/zipkin on Docker Hub (openzipkin/zipkin releases).
ZIPKIN_IMAGE = "openzipkin/zipkin:3.5.1"
# rabbitmq official image (management plugin included), the line the operator release supports.
RABBITMQ_IMAGE = "rabbitmq:4.1.4-management"
# MongoDB Community Server as MCK runs it (quay.io/mongodb/mongodb-community-server, tag <version>-ubi9).
MONGODB_VERSION = "8.0.13"
# mongo official image: carries mongodump (MongoDB Database Tools) for the scheduled backup.
MONGODB_TOOLS_IMAGE = f"mongo:{MONGODB_VERSION}"
# amazon/aws-cli on Docker Hub: uploads the backup with the pod's IRSA credentials.
AWS_CLI_IMAGE = "amazon/aws-cli:2.31.7"
# redis official image (Docker Hub library/redis), also runs Sentinel.
REDIS_IMAGE = "redis:8.2.1-alpine"
# haproxy official image: routes the redis Service to the current master.
HAPROXY_IMAGE = "haproxy:3.2.4-alpine"
# curlimages/curl: the one-shot Job that registers the snapshot repository and policy.
CURL_IMAGE = "curlimages/curl:8.16.0"
# oliver006/redis_exporter on Docker Hub: Redis metrics for Prometheus and Datadog's OpenMetrics check.
REDIS_EXPORTER_IMAGE = "oliver006/redis_exporter:v1.77.0"
