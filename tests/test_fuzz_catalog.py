"""Generated HOCON inputs: any edit of a service file either loads or ends in one clear CatalogError naming the
file, never another exception; and a catalog error stops the program before anything is declared."""

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import CatalogError, load_catalog
from catalog.loader import ROOT
from components.k8s.apps import CatalogConfigError
from settings import ConfigError

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])

KEYS = ["deploy.port", "deploy.replicas", "deploy.kind", "deploy.public", "deploy.hostname", "deploy.spotTolerant",
        "deploy.resources.requests.cpu", "deploy.volume.sizeGib", "app.insight.x", "extra", "app.insight.db.password",
        "deploy.aws", "deploy.edgeFacing"]  # fmt: skip
VALUES = ["8080", "0", "-1", '"Deployment"', '"CronJob"', "true", '"api"', '"100m"', "100m", "${infra.mongodb.url}",
          "${infra.kafka.host}", "${services.nowhere.url}", "${?HOME}", "${env.MONGODB_PASSWORD}", '"hunter2-s3cr3t"',
          "[1, 2", "{", '"' + "x" * 80 + '"', "null", '"https://k3yk3yk3y@o1.ingest.sentry.io/1"',
          '[{actions = ["iam:P*"], resources = ["arn:aws:iam::*:role/*"]}]', '"\u27e6env:REDIS_PASSWORD\u27e7"',
          "{a {b {c {d {e {f {g {h {i {j {k {l {m {n {o {p {q {r {s {t {u {v {w {x {y {z = 1}}}}}}}}}}}}}}}}}}}}}}}}}}"]  # fmt: skip
SECRETS = ["hunter2-s3cr3t", "k3yk3yk3y"]  # never echoed in a message
INCLUDES = ['include url("http://127.0.0.1:9/x.conf")', 'include "../../Pulumi.prod.yaml"', 'include classpath("a.conf")']
EDITS = st.one_of(
    st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES)).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.text(alphabet=st.sampled_from(list('abc{}[]=:"$.,# \n')), max_size=30),
    st.sampled_from(INCLUDES),
)
SERVICE_FILES = ["apps/search.conf", "apps/indexer.conf", "apps/web.conf", "clusters/prod.conf", "defaults.conf"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    shutil.copytree(ROOT / "services", root / "services")
    return root


@FUZZ
@given(target=st.sampled_from(SERVICE_FILES), edit=EDITS, stack=st.sampled_from(["test", "prod"]))
def test_any_edit_loads_or_fails_clearly(pristine: Path, tmp_path_factory: pytest.TempPathFactory, target: str, edit: str, stack: str):
    root = tmp_path_factory.mktemp("edit")
    shutil.copytree(pristine / "services", root / "services")
    path = root / "services" / target
    path.write_text(path.read_text() + "\n" + edit + "\n")
    try:
        catalog = load_catalog(stack, root=root)
    except CatalogError as err:
        lines = err.render().splitlines()[1:]
        assert lines and all(line.startswith("services/") for line in lines), lines
        assert "Traceback" not in err.render()
        assert not any(secret in err.render() for secret in SECRETS)  # a secret written in HOCON is named, never echoed
        return
    assert {s.name for s in catalog.services} == {"api-gateway", "code-analysis", "indexer", "repo-sync", "search", "web"}


def test_a_catalog_error_is_a_config_error_raised_before_declare():
    err = CatalogConfigError(CatalogError([]))
    assert isinstance(err, ConfigError)  # build() raises it before declare(), like a stack-file problem
