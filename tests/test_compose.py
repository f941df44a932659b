"""The one-host Compose bundle (onprem/): its judges on the real bundle, and each judge failing on a planted fault."""

import base64
import copy
import hashlib
import json
import os
import shlex
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog import load_catalog
from offline.stackfile import offline_secret
from onprem import judges
from onprem.bundle import build_bundle, compose_catalog, onprem_settings, write_bundle
from onprem.compose import ES_SETUP, ES_SETUP_SCRIPT, SCRIPT_HASH_LABEL, Bundle, elasticsearch_setup_script, memory
from onprem.compose import bundle as render_bundle
from settings import OnpremStackConfig, versions
from settings.retention import retention_requests
from settings.stack import PROJECT, SECRET_KEYS

STAND_INS = [offline_secret(f"{PROJECT}:{key}") for key in SECRET_KEYS]


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return build_bundle()


@pytest.fixture()
def compose(bundle: Bundle) -> dict[str, Any]:
    return copy.deepcopy(bundle.compose)


def configs(bundle: Bundle) -> dict[str, str]:
    return {path: text for path, text in bundle.files.items() if path.startswith("config/")}


def test_the_compose_file_validates_against_the_compose_specification(bundle: Bundle) -> None:
    assert judges.schema_problems(yaml.safe_load(bundle.files["docker-compose.yml"])) == []


def test_schema_judge_fails_on_a_misspelled_key_and_a_wrong_type(compose: dict[str, Any]) -> None:
    compose["services"]["redis"]["healthchek"] = compose["services"]["redis"].pop("healthcheck")
    compose["services"]["kibana"]["ports"] = "5601:5601"
    problems = judges.schema_problems(compose)
    assert any("healthchek" in p for p in problems)
    assert any(p.startswith("services.kibana.ports") for p in problems)


def test_every_catalog_service_is_in_the_bundle_with_its_rendered_config(bundle: Bundle) -> None:
    names = [s.name for s in load_catalog("onprem").services]
    assert judges.missing_services(bundle.compose, names) == []
    assert all(f"config/services/{n}/application.conf" in bundle.files for n in names)


def test_missing_service_judge_names_a_dropped_service(compose: dict[str, Any]) -> None:
    del compose["services"]["indexer"]
    assert judges.missing_services(compose, ["indexer", "search"]) == ["catalog service indexer is not in the Compose file"]


def test_every_host_in_every_config_is_a_compose_service_on_an_exposed_port(bundle: Bundle) -> None:
    assert judges.unresolved_addresses(bundle.compose, configs(bundle)) == []


def test_the_services_configs_name_compose_hosts_not_cluster_dns(bundle: Bundle) -> None:
    rendered = "".join(configs(bundle).values())
    assert "svc.cluster.local" not in rendered
    assert 'host = "mongodb"' not in rendered  # mongo is named by URI; its host/port pairs below are the others'
    assert 'uri = "mongodb://mongodb:27017/insight?replicaSet=mongodb"' in rendered


def test_address_judge_fails_on_cluster_dns_and_on_a_port_not_exposed(bundle: Bundle, compose: dict[str, Any]) -> None:
    planted = configs(bundle)
    search = "config/services/repo-sync/application.conf"
    planted[search] = planted[search].replace('"rabbitmq"', '"rabbitmq.messaging.svc.cluster.local"')
    compose["services"]["zipkin"]["expose"] = ["9412"]
    problems = judges.unresolved_addresses(compose, planted)
    assert f"{search}: host rabbitmq.messaging.svc.cluster.local is no Compose service" in problems
    assert any(": zipkin:9411 is not a port zipkin exposes (9412)" in p for p in problems)


def test_every_dependency_waits_for_a_healthy_service_and_there_is_no_cycle(bundle: Bundle) -> None:
    assert judges.dependency_problems(bundle.compose) == []
    # The order the issue asks for: the data systems before the services, the services before the edge.
    depends = bundle.compose["services"]["indexer"]["depends_on"]
    assert {"mongodb", "logstash", "zipkin"} <= set(depends)
    assert {"api-gateway", "web"} == set(bundle.compose["services"]["edge"]["depends_on"])


def test_dependency_judge_fails_without_a_healthcheck_on_a_wrong_condition_and_on_a_cycle(compose: dict[str, Any]) -> None:
    services = compose["services"]
    del services["redis"]["healthcheck"]
    services["search"]["depends_on"]["zipkin"] = {"condition": "service_started"}
    services["elasticsearch"]["depends_on"] = {"kibana": {"condition": "service_healthy"}}
    problems = judges.dependency_problems(compose)
    assert "api-gateway depends on redis, which has no healthcheck" in problems
    assert "search depends on zipkin without condition service_healthy or service_completed_successfully" in problems
    assert "dependency cycle: elasticsearch -> kibana -> elasticsearch" in problems


def test_dependency_judge_fails_on_waiting_for_a_long_running_service_or_a_setup_without_restart_on_failure(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    services["logstash"]["depends_on"]["kibana"] = {"condition": "service_completed_successfully"}
    del services[ES_SETUP]["restart"]
    problems = judges.dependency_problems(compose)
    assert "logstash waits for kibana to complete, which is no one-shot service (restart on-failure)" in problems
    assert f"zipkin waits for {ES_SETUP} to complete, which is no one-shot service (restart on-failure)" in problems
    assert f"logstash waits for {ES_SETUP} to complete, which is no one-shot service (restart on-failure)" in problems


def test_find_cycle_on_small_graphs() -> None:
    assert judges.find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert judges.find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert judges.find_cycle({"a": {"a"}}) == ["a", "a"]


def test_every_service_has_health_restart_and_limits_and_only_the_edge_is_published(bundle: Bundle) -> None:
    assert judges.shape_problems(bundle.compose) == []
    assert bundle.compose["services"]["edge"]["ports"] == [{"target": 8443, "published": "443", "protocol": "tcp"}]


def test_shape_judge_fails_on_a_published_data_port_and_missing_limits(compose: dict[str, Any]) -> None:
    compose["services"]["mongodb"]["ports"] = [{"target": 27017, "published": "27017"}]
    del compose["services"]["web"]["deploy"]
    del compose["services"]["zipkin"]["restart"]
    assert judges.shape_problems(compose) == [
        "zipkin has no restart policy that brings it back",
        "mongodb publishes host ports; only the edge is reachable from outside the host",
        "web has no CPU and memory limits",
    ]


def test_shape_judge_fails_on_a_one_shot_with_a_healthcheck_and_on_services_that_are_neither_kind(compose: dict[str, Any]) -> None:
    services = compose["services"]
    services[ES_SETUP]["healthcheck"] = copy.deepcopy(services["redis"]["healthcheck"])
    services["zipkin"]["restart"] = "on-failure"  # the one-shot kind, so its healthcheck is flagged
    services["redis"]["restart"] = "no"  # neither kind: it must come back and be healthy
    del services["redis"]["healthcheck"]
    assert judges.shape_problems(compose) == [
        f"{ES_SETUP} is one-shot (restart on-failure) but has a healthcheck; a long-running service restarts unless-stopped",
        "zipkin is one-shot (restart on-failure) but has a healthcheck; a long-running service restarts unless-stopped",
        "redis has no healthcheck",
        "redis has no restart policy that brings it back",
    ]


def test_images_are_the_pins_and_the_release(bundle: Bundle) -> None:
    services = bundle.compose["services"]
    assert services["zipkin"]["image"] == versions.ZIPKIN_IMAGE
    assert services["elasticsearch"]["image"].endswith(f":{versions.ELASTIC_STACK_VERSION}")
    assert services["prometheus"]["image"] == versions.PROMETHEUS_IMAGE
    assert services["mongodb"]["image"] == versions.MONGODB_TOOLS_IMAGE
    release = bundle.files["VERSION"].strip()
    assert all(services[s.name]["image"].endswith(f"/{s.name}:{release}") for s in compose_catalog().services)


def test_limits_come_from_the_catalog_resources() -> None:
    indexer = build_bundle().compose["services"]["indexer"]["deploy"]["resources"]
    spec = compose_catalog().get("indexer").deploy.resources
    assert indexer["limits"] == {"cpus": "2", "memory": memory(spec.limits.memory)}
    assert memory("512Mi") == "512m" and memory("4Gi") == "4g"


def test_stateful_services_keep_their_data_on_named_volumes(bundle: Bundle) -> None:
    services, volumes = bundle.compose["services"], bundle.compose["volumes"]
    for name, path in [("elasticsearch", "/usr/share/elasticsearch/data"), ("mongodb", "/data/db"), ("rabbitmq", "/var/lib/rabbitmq")]:
        named = [v for v in services[name]["volumes"] if v.endswith(f":{path}")]
        assert named and named[0].split(":")[0] in volumes
    assert "indexer-data:/var/lib/insight/index" in services["indexer"]["volumes"]


def test_no_secret_value_in_the_bundle_and_every_secret_is_listed(bundle: Bundle, tmp_path: Path) -> None:
    assert judges.secret_problems(bundle.compose, bundle.files, STAND_INS) == []
    write_bundle(bundle, tmp_path)
    written = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith(".gz"))
    assert not [s for s in STAND_INS if s in written]
    listed = {line.split("=")[0] for line in bundle.files[".env.example"].splitlines() if "=" in line and not line.startswith("#")}
    assert listed == judges.secret_names()


def test_secret_judge_fails_on_a_written_value_and_a_stand_in(bundle: Bundle, compose: dict[str, Any]) -> None:
    compose["services"]["redis"]["environment"]["REDIS_PASSWORD"] = "hunter2"
    files = dict(
        bundle.files, **{"config/logstash/pipeline/logstash.conf": f"password => {STAND_INS[0]}", ".env.example": "REDIS_PASSWORD=x\n"}
    )
    problems = judges.secret_problems(compose, files, STAND_INS)
    assert "services.redis.environment.REDIS_PASSWORD: a secret written as a value; reference it as ${REDIS_PASSWORD:?...}" in problems
    assert f"config/logstash/pipeline/logstash.conf: holds the secret stand-in {STAND_INS[0]}" in problems
    assert ".env.example: REDIS_PASSWORD has a value" in problems


def test_the_tarball_holds_the_bundle_under_its_version(bundle: Bundle, tmp_path: Path) -> None:
    archive = write_bundle(bundle, tmp_path)
    release = bundle.files["VERSION"].strip()
    assert archive.name == f"insight-onprem-{release}.tar.gz"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {f"insight-onprem-{release}/{p}" for p in bundle.files} <= names


def test_a_release_that_is_not_final_is_refused() -> None:
    from settings import ConfigError

    with pytest.raises(ConfigError, match="onprem takes final releases only"):
        build_bundle("1.4.0-rc.1")
    assert build_bundle("1.4.0").files["VERSION"] == "1.4.0\n"


def script_requests(script: str) -> list[tuple[str, dict]]:
    """The setup script's PUTs, path and JSON body, read back the way sh reads each `put` line."""
    return [(path, json.loads(body)) for line in script.splitlines() if line.startswith("put ") for _, path, body in [shlex.split(line)]]


def with_retention_days(cfg: OnpremStackConfig, days: int) -> OnpremStackConfig:
    es = cfg.platform.elasticsearch.model_copy(update={"retention_days": days})
    return cfg.model_copy(update={"platform": cfg.platform.model_copy(update={"elasticsearch": es})})


def test_the_setup_script_sends_every_retention_request_of_the_stacks_settings(bundle: Bundle) -> None:
    cfg = onprem_settings()
    script = bundle.files[ES_SETUP_SCRIPT]
    assert script_requests(script) == retention_requests(cfg.platform.elasticsearch)
    assert script.count("curl ") == 1  # every request goes through put(), so none escapes the parse above
    longer = elasticsearch_setup_script(with_retention_days(cfg, 30).platform.elasticsearch)
    assert longer != script and script_requests(longer) == retention_requests(with_retention_days(cfg, 30).platform.elasticsearch)
    # The policies' patterns match what the bundle writes: Logstash's data streams, Zipkin's default daily indices.
    assert "data_stream => true" in bundle.files["config/logstash/pipeline/logstash.conf"]
    assert not {"ES_INDEX", "ES_TEMPLATE_PRIORITY"} & set(bundle.compose["services"]["zipkin"]["environment"])


def test_logstash_and_zipkin_start_after_the_one_shot_setup_completed(bundle: Bundle) -> None:
    services = bundle.compose["services"]
    for writer in ("logstash", "zipkin"):
        assert services[writer]["depends_on"][ES_SETUP] == {"condition": "service_completed_successfully"}
    setup = services[ES_SETUP]
    assert judges.is_one_shot(setup) and "healthcheck" not in setup
    assert setup["depends_on"] == {"elasticsearch": {"condition": "service_healthy"}}
    assert setup["image"] == services["elasticsearch"]["image"]  # curl is in it: no other image to pin
    # The script is the bundle's file, mounted read-only and run; the password only from the environment.
    (mount,) = setup["volumes"]
    source, target, mode = mount.split(":")
    assert (source, mode) == (f"./{ES_SETUP_SCRIPT}", "ro") and setup["entrypoint"] == ["sh", target]
    assert setup["environment"] == {"ELASTIC_PASSWORD": "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}"}
    assert '"elastic:$ELASTIC_PASSWORD"' in bundle.files[ES_SETUP_SCRIPT]


def test_a_changed_retention_changes_the_setup_services_config_so_compose_recreates_and_reruns_it(bundle: Bundle) -> None:
    """Compose re-creates a container whose service config changed; the script's hash in a label makes a changed
    policy such a change (a changed mounted file alone is not one)."""
    setup = bundle.compose["services"][ES_SETUP]
    assert setup["labels"][SCRIPT_HASH_LABEL] == hashlib.sha256(bundle.files[ES_SETUP_SCRIPT].encode()).hexdigest()
    release = bundle.files["VERSION"].strip()
    longer = render_bundle(with_retention_days(onprem_settings(), 30), compose_catalog(), release)
    changed = longer.compose["services"][ES_SETUP]
    assert changed["labels"][SCRIPT_HASH_LABEL] == hashlib.sha256(longer.files[ES_SETUP_SCRIPT].encode()).hexdigest()
    assert changed != setup


class ElasticsearchStandIn(BaseHTTPRequestHandler):
    """Records each request and answers with the next planted status (200 once they run out)."""

    received: list[tuple[str, str, dict, str]]
    statuses: list[int]
    url: str

    def do_PUT(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.command, self.path, body, self.headers["Authorization"]))
        status = self.statuses.pop(0) if self.statuses else 200
        payload = b'{"acknowledged":true}' if status == 200 else b'{"error":"planted refusal"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the test reads `received`
        pass


@pytest.fixture()
def elasticsearch() -> Iterator[type[ElasticsearchStandIn]]:
    handler = type("Handler", (ElasticsearchStandIn,), {"received": [], "statuses": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield handler
    server.shutdown()
    server.server_close()


PASSWORD = "password-from-the-environment"


def run_setup(bundle: Bundle, tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    """The rendered script under sh, pointed at the local stand-in instead of the Compose host `elasticsearch`."""
    script = bundle.files[ES_SETUP_SCRIPT]
    assert script.count("ES=http://elasticsearch:9200\n") == 1
    (tmp_path / "setup.sh").write_text(script.replace("ES=http://elasticsearch:9200\n", f"ES={url}\n"))
    env = {"PATH": os.environ["PATH"], "ELASTIC_PASSWORD": PASSWORD}  # no proxy variables: 127.0.0.1 only
    return subprocess.run(["sh", str(tmp_path / "setup.sh")], check=False, env=env, capture_output=True, text=True, timeout=60)


def test_the_setup_script_puts_every_request_with_the_password_from_the_environment(
    bundle: Bundle, tmp_path: Path, elasticsearch: type[ElasticsearchStandIn]
) -> None:
    result = run_setup(bundle, tmp_path, elasticsearch.url)
    assert result.returncode == 0, result.stderr
    expected = [("PUT", f"/{path}", body) for path, body in retention_requests(onprem_settings().platform.elasticsearch)]
    assert [r[:3] for r in elasticsearch.received] == expected
    assert {r[3] for r in elasticsearch.received} == {"Basic " + base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()}


def test_the_setup_script_exits_non_zero_on_the_first_refused_request(
    bundle: Bundle, tmp_path: Path, elasticsearch: type[ElasticsearchStandIn]
) -> None:
    elasticsearch.statuses.extend([200, 400])
    result = run_setup(bundle, tmp_path, elasticsearch.url)
    assert result.returncode != 0
    assert len(elasticsearch.received) == 2  # nothing after the refusal, and a 400 is not retried
    assert "400" in result.stderr
