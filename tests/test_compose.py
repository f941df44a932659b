"""The one-host Compose bundle (onprem/): its judges on the real bundle, and each judge failing on a planted fault."""

import copy
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog import load_catalog
from offline.stackfile import offline_secret
from onprem import judges
from onprem.bundle import build_bundle, compose_catalog, write_bundle
from onprem.compose import Bundle, memory
from settings import versions
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
    assert "search depends on zipkin without condition service_healthy" in problems
    assert "dependency cycle: elasticsearch -> kibana -> elasticsearch" in problems


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
