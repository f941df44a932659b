"""Retention of logs and spans in Elasticsearch: the API requests that bound its disk, from the stack's settings.

One pure function for both shapes: the cluster's setup Job (components/k8s/platform/logging.py) and the Compose
bundle's setup service (onprem/compose.py) send exactly these requests.
"""

from .platform import ElasticsearchConfig

LOGS_POLICY = "logs-retention"
SPANS_POLICY = "spans-retention"
ZIPKIN_INDICES = "zipkin*"  # Zipkin's default index prefix: zipkin-span-<day>, zipkin-dependency-<day>, ...


def retention_requests(cfg: ElasticsearchConfig) -> list[tuple[str, dict]]:
    """ILM deletes logs and spans `retentionDays` after they stop being written, so Elasticsearch never fills up.

    Logstash writes data streams (logs-generic-default), whose built-in `logs` template composes `logs@custom`
    after its own `logs@settings`: the policy named there wins. (The output's `ilm_*` options are refused in data
    stream mode.) Zipkin writes one index a day and no alias, so its policy deletes by index age with no rollover,
    attached by a legacy template merged over Zipkin's own (order 0). The last two requests move indices that exist
    already (a stack up before this policy) onto it."""
    delete = {"delete": {"min_age": f"{cfg.retention_days}d", "actions": {"delete": {}}}}
    rollover = {"hot": {"actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"}}}}
    return [
        (f"_ilm/policy/{LOGS_POLICY}", {"policy": {"phases": {**rollover, **delete}}}),
        (f"_ilm/policy/{SPANS_POLICY}", {"policy": {"phases": delete}}),
        ("_component_template/logs@custom", {"template": {"settings": {"index.lifecycle.name": LOGS_POLICY}}}),
        (
            "_template/zipkin-retention",
            {"index_patterns": [ZIPKIN_INDICES], "order": 10, "settings": {"index.lifecycle.name": SPANS_POLICY}},
        ),
        ("logs-*-*/_settings?allow_no_indices=true", {"index.lifecycle.name": LOGS_POLICY}),
        (f"{ZIPKIN_INDICES}/_settings?allow_no_indices=true", {"index.lifecycle.name": SPANS_POLICY}),
    ]
