"""The service catalog: HOCON layering, the infra layer, rendering, hashing, and every bad-input class."""

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhocon import ConfigFactory

from catalog import CatalogError, load_catalog
from catalog.layers import merge, parse, resolve
from catalog.loader import ROOT
from components.k8s.apps import CatalogConfigError
from components.k8s.apps.identity import iam_policy
from offline.runner import run_stack
from settings import STACKS, ConfigError
from settings.endpoints import ENDPOINTS


def hocon(text: str, resolve: bool = False) -> Any:
    return ConfigFactory.parse_string(text, resolve=resolve)


shipped = cache(load_catalog)  # the repository's own catalog, loaded once per stack


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of services/ to break."""
    shutil.copytree(ROOT / "services", tmp_path / "services")
    return tmp_path


def edit(root: Path, rel: str, append: str) -> None:
    path = root / "services" / rel
    path.write_text(path.read_text() + "\n" + append + "\n")


ACCOUNTS = {"test": "111111111111", "staging": "222222222222", "prod": "333333333333"}  # Pulumi.<stack>.yaml


def problems(root: Path, stack: str = "test") -> list[str]:
    with pytest.raises(CatalogError) as err:
        load_catalog(stack, root, account=ACCOUNTS[stack])
    return err.value.render().splitlines()[1:]


@pytest.mark.parametrize("stack", STACKS)
def test_the_catalog_loads_for_every_stack_with_its_public_hostnames(stack: str) -> None:
    catalog = shipped(stack)
    names = [s.name for s in catalog.services]
    assert names == ["api-gateway", "code-analysis", "indexer", "repo-sync", "search", "web"]
    assert {s.name: s.hostname for s in catalog.services if s.public} == {"api-gateway": "api", "web": "www"}
    assert all(s.hostname is None for s in catalog.services if not s.public)


@pytest.mark.parametrize("stack", STACKS)
def test_a_value_is_overridden_per_cluster_and_late_bound_substitutions_follow_it(stack: str) -> None:
    conf = hocon(shipped(stack).get("code-analysis").application_conf)
    concurrency = {"test": 2, "staging": 2, "prod": 8, "onprem": 2}[stack]
    assert conf["insight.analysis.concurrency"] == concurrency
    # prefetch = ${app.insight.analysis.concurrency} in the service file: bound after the prod override.
    assert conf["insight.rabbitmq.prefetch"] == concurrency
    assert conf["insight.tracing.sampleRate"] == {"test": 1.0, "staging": 0.1, "prod": 0.01, "onprem": 0.05}[stack]


@pytest.mark.parametrize("stack", STACKS)
def test_the_infra_layer_supplies_endpoints_and_the_environment(stack: str) -> None:
    spec = shipped(stack).get("repo-sync")
    conf = hocon(spec.application_conf)
    assert conf["insight.environment"] == stack
    assert conf["insight.logging.logstash.host"] == ENDPOINTS["logstash"].host
    assert conf["insight.tracing.zipkin.port"] == ENDPOINTS["zipkin"].port
    assert conf["insight.mongodb.uri"] == f"mongodb://{ENDPOINTS['mongodb'].host}:27017/insight?replicaSet=mongodb"
    assert spec.uses == ("logstash", "mongodb", "rabbitmq", "zipkin")


def test_secrets_stay_pod_substitutions_never_resolved_from_pulumis_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_PASSWORD", "leaked-from-the-ci-runner")
    monkeypatch.setenv("SENTRY_DSN", "https://leak@sentry.example/1")
    text = load_catalog("prod").get("indexer").application_conf
    assert "leaked" not in text and "leak@" not in text
    assert "password = ${MONGODB_PASSWORD}" in text
    assert "dsn = ${SENTRY_DSN}" in text
    # In the pod, the JVM resolves them from the variables the Secrets fill.
    monkeypatch.setenv("MONGODB_USERNAME", "indexer")
    monkeypatch.setenv("MONGODB_PASSWORD", "from-the-secret")
    resolved = hocon(text, resolve=True)
    assert resolved["insight.mongodb.password"] == "from-the-secret"
    assert [e.name for e in shipped("prod").get("indexer").env] == ["SENTRY_DSN", "MONGODB_USERNAME", "MONGODB_PASSWORD"]


def test_the_hash_changes_exactly_when_the_rendered_file_changes(tree: Path) -> None:
    before = {s.name: s for s in load_catalog("prod", tree).services}
    edit(tree, "apps/search.conf", "# a comment changes no rendered byte")
    same = {s.name: s.config_hash for s in load_catalog("prod", tree).services}
    assert same == {n: s.config_hash for n, s in before.items()}
    edit(tree, "clusters/prod.conf", "services.search.app.insight.search.maxResults = 1000")
    after = {s.name: s for s in load_catalog("prod", tree).services}
    changed = {n for n in after if after[n].config_hash != before[n].config_hash}
    assert changed == {"search"}
    assert after["search"].application_conf != before["search"].application_conf
    assert load_catalog("test", tree).get("search").config_hash == shipped("test").get("search").config_hash


def test_adding_a_file_adds_a_service(tree: Path) -> None:
    (tree / "services/apps/billing.conf").write_text("app.insight.db = ${infra.mongodb.url}\n")
    spec = load_catalog("staging", tree).get("billing")
    assert spec.deploy.replicas == 2 and spec.deploy.kind == "Deployment" and spec.uses == ("logstash", "mongodb", "zipkin")


BAD_INPUTS = {
    "malformed": ("apps/search.conf", "app { insight {", "services/apps/search.conf: line"),
    "missing key": ("apps/search.conf", "deploy.port = null", "services/apps/search.conf: deploy.port"),
    "unknown service": (
        "apps/search.conf",
        "app.x = ${services.billing.url}",
        "app.x = '${services.billing.url}': reference to an unknown service",
    ),
    "unknown endpoint": (
        "apps/search.conf",
        "app.x = ${infra.kafka.host}",
        "app.x = '${infra.kafka.host}': reference to an unknown endpoint",
    ),
    "unknown env": ("apps/search.conf", "app.x = ${env.GITHUB_TOKEN}", "reference to an unknown pod environment variable"),
    "process env": ("apps/search.conf", "app.x = ${?HOME}", "app.x = '${?HOME}': reference to nothing in the catalog"),
    "secret key": (
        "apps/web.conf",
        'app.insight.web.sessionSecret = "s3cr3t"',
        "services/apps/web.conf: app.insight.web.sessionSecret = '[redacted]': looks like a secret",
    ),
    "secret in url": (
        "defaults.conf",
        'app.db = "mongodb://admin:hunter2@db:27017"',
        "services/defaults.conf: app.db = '[redacted]': looks like a secret",
    ),
    "unknown override": (
        "clusters/test.conf",
        "services.billing.deploy.replicas = 2",
        "services/clusters/test.conf: services.billing: unknown service",
    ),
    "unknown section": ("apps/web.conf", "extra = 1", "services/apps/web.conf: extra: unknown section; allowed: deploy, app"),
    "duplicate hostname": (
        "apps/web.conf",
        "deploy.hostname = api",
        "services/apps/web.conf: deploy.hostname = 'api': already the hostname of api-gateway",
    ),
    "stateful on spot": ("apps/indexer.conf", "deploy.spotTolerant = true", "spotTolerant must be false"),
    "unquoted quantity": (
        "apps/web.conf",
        "deploy.resources.requests.cpu = 250m",
        "services/apps/web.conf: deploy.resources.requests.cpu = '250m': unquoted, HOCON reads this as a duration"
        ' (250 minutes): quote it, e.g. "250m"',
    ),
    "unquoted number": (
        "apps/web.conf",
        "deploy.resources.limits.cpu = 1",
        """services/apps/web.conf: deploy.resources.limits.cpu = '1': unquoted, HOCON reads this as a number: quote it, e.g. "1\"""",
    ),
    "wildcard iam": (
        "apps/repo-sync.conf",
        'deploy.aws = [{actions = ["s3:*"], resources = ["arn:aws:s3:::x"]}]',
        "no wildcard services or actions",
    ),
    # Includes: nothing outside services/, nothing from the network or packages, judged before pyhocon reads them.
    "include outside": ("apps/web.conf", 'include "../../Pulumi.prod.yaml"', "services/apps/web.conf: line 22 = 'include ../../Pulumi.prod.yaml': an include must stay inside services/"),
    "include file outside": ("apps/web.conf", 'include required(file("/etc/passwd"))', "an include must stay inside services/"),
    "include url": ("apps/web.conf", 'include url("http://192.0.2.1/x.conf")', "never reaches the network"),
    "include http string": ("defaults.conf", 'include "https://192.0.2.1/x.conf"', "never reaches the network"),
    "include classpath": ("apps/web.conf", 'include classpath("application.conf")', "never reaches the network or packages"),
    "include package": ("apps/web.conf", 'include package("pyhocon:x.conf")', "never reaches the network or packages"),
    "include unreadable": ("apps/web.conf", "include file(x)", "unreadable include"),
    # Secrets by value, under any key.
    "sentry dsn in a url": ("apps/web.conf", 'app.insight.web.errors = "https://0f1e2d3c4b5a69788796a5b4c3d2e1f0@o42.ingest.sentry.io/7"', "app.insight.web.errors = '[redacted]': looks like a secret written into the catalog (credentials inside a URL)"),
    "token under oauth": ("apps/web.conf", 'app.oauth = "ghp_R2d2C3poBb8LukeLeia0Han5Solo9Chewie"', "app.oauth = '[redacted]': looks like a secret"),
    "password under pwd": ("apps/web.conf", 'app.db.pwd = "correct horse"', "app.db.pwd = '[redacted]': looks like a secret"),
    "slack token": ("apps/web.conf", 'app.notify.hook = "xoxb-1234567890-abcdefghij"', "(a known token or key shape)"),
    "aws key anywhere": ("clusters/test.conf", 'services.web.app.region = "AKIAIOSFODNN7EXAMPLE"', "services.web.app.region = '[redacted]'"),
    "high entropy": ("apps/web.conf", 'app.insight.web.salt = "q8Zr3kP0vT7mX2aL9sD4fG6hJ1wE5nB"', "(a long random-looking string)"),
    "split dsn": ("apps/web.conf", 'app.x = "https://0f1e2d3c4b5a"${infra.environment}"@o42.ingest.sentry.io/7"', "(credentials inside a URL)"),
    # IAM: the stack's own resources, no escalation, no wildcard that covers one.
    "iam wildcard covering PassRole": ("apps/repo-sync.conf", 'deploy.aws = [{actions = ["iam:P*"], resources = ["arn:aws:iam::111111111111:role/insight-test-x"]}]', "deploy.aws[0].actions = 'iam:P*': grants privilege escalation (iam:PassRole"),
    "iam any account": ("apps/repo-sync.conf", 'deploy.aws = [{actions = ["iam:GetRole"], resources = ["arn:aws:iam::*:role/*"]}]', "outside this stack's account"),
    "assume role": ("apps/repo-sync.conf", 'deploy.aws = [{actions = ["sts:AssumeRole"], resources = ["arn:aws:iam::111111111111:role/insight-test-x"]}]', "privilege escalation"),
    "attach policy lower case": ("apps/repo-sync.conf", 'deploy.aws = [{actions = ["iam:attachrolepolicy"], resources = ["arn:aws:iam::111111111111:role/insight-test-x"]}]', "privilege escalation"),
    "every bucket": ("apps/repo-sync.conf", 'deploy.aws = [{actions = ["s3:GetObject"], resources = ["arn:aws:s3:::*"]}]', "deploy.aws[0].resources = 'arn:aws:s3:::*': resource 'arn:aws:s3:::*' is not one of this stack's buckets"),
    "another stack's bucket": ("apps/repo-sync.conf", 'deploy.aws = [{actions = ["s3:GetObject"], resources = ["arn:aws:s3:::insight-prod-backups-333333333333/*"]}]', "not one of this stack's buckets"),
    "resource not the stack's": ("apps/repo-sync.conf", 'deploy.aws = [{actions = ["sqs:SendMessage"], resources = ["arn:aws:sqs:us-west-2:111111111111:*"]}]', "does not name one of this stack's resources"),
    "look-alike arn": ("apps/repo-sync.conf", 'deploy.aws = [{actions = ["s3:GetObject"], resources = ["arn:aws:s3:::insight-test-bаckups-111111111111/*"]}]', "in plain ASCII"),
    # Structure.
    "deep braces": ("apps/web.conf", "app.deep = " + "{a = " * 300 + "1" + "}" * 300, "services/apps/web.conf: (nesting) = 300: objects and lists nest 300 levels; at most 24"),
    "deep dotted key": ("apps/web.conf", "app." + ".".join(["a"] * 400) + " = 1", "keys nest"),
    "hand-written placeholder": ("apps/web.conf", 'app.x = "\u27e6env:MONGODB_PASSWORD\u27e7"', "internal placeholder cannot be written"),
    "raw placeholder": ("apps/web.conf", "app.x = \u27e6env:REDIS_PASSWORD\u27e7", "internal placeholder cannot be written"),
    # Exposure.
    "public stateful indexer": ("apps/indexer.conf", "deploy { public = true, hostname = idx, edgeFacing = true }", "a public service must be stateless"),
    "public without edge-facing": ("apps/search.conf", "deploy { public = true, hostname = find }", "only a service declared edgeFacing = true in its own file may be public"),
    "edge-facing from a cluster layer": ("clusters/test.conf", "services.search.deploy.edgeFacing = true", "services/clusters/test.conf: services.search.deploy.edgeFacing: edgeFacing is declared only"),
}  # fmt: skip


TEST_ACCOUNT = ACCOUNTS["test"]
MIRRORS = f"arn:aws:s3:::insight-test-mirrors-{TEST_ACCOUNT}/*"


def test_declared_aws_access_becomes_exactly_that_policy(tree: Path) -> None:
    edit(tree, "apps/repo-sync.conf", f'deploy.aws = [{{actions = ["s3:GetObject"], resources = ["{MIRRORS}"]}}]')
    spec = load_catalog("test", root=tree, account=TEST_ACCOUNT).get("repo-sync")
    statements = json.loads(iam_policy(spec) or "{}")["Statement"]
    assert statements == [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [MIRRORS]}]
    assert iam_policy(load_catalog("test", root=tree, account=TEST_ACCOUNT).get("search")) is None


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_each_bad_input_names_the_file_and_key(tree: Path, case: str) -> None:
    rel, text, expected = BAD_INPUTS[case]
    edit(tree, rel, text)
    lines = problems(tree)
    assert any(expected in line for line in lines), lines


def test_a_truncated_file_says_to_close_its_brackets(tree: Path) -> None:
    path = tree / "services/apps/web.conf"
    path.write_text(path.read_text()[:150])
    assert problems(tree) == [
        "services/apps/web.conf: line 4, column 47: the file ends before every { and [ is closed: close them (or restore the truncated file)"
    ]


@pytest.mark.parametrize(
    "secret", ["AKIAIOSFODNN7EXAMPLE", "ghp_R2d2C3poBb8LukeLeia0Han5Solo9Chewie", "https://0f1e2d3c4b5a69788796@o1.ingest.sentry.io/1"]
)
def test_a_secret_never_reaches_the_error_message(tree: Path, secret: str) -> None:
    edit(tree, "apps/web.conf", f'app.note = "{secret}"')
    lines = problems(tree)
    assert lines and not any(secret[:12] in line or secret[-8:] in line for line in lines), lines


def test_public_digests_and_ordinary_values_are_not_secrets(tree: Path) -> None:
    edit(tree, "apps/web.conf", 'app.image = "ghcr.io/x/y@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"')
    edit(tree, "apps/web.conf", 'app.greeting = "Welcome to Insight, the code search for every repository"')
    assert load_catalog("test", tree).get("web")


def test_a_bad_catalog_stops_the_program_before_anything_is_declared(tree: Path) -> None:
    edit(tree, "apps/search.conf", "app.x = ${infra.kafka.host}")
    for name in ("Pulumi.yaml", "Pulumi.test.yaml"):
        shutil.copy(ROOT / name, tree)
    with pytest.raises(ConfigError) as err:
        run_stack("test", root=tree)
    assert isinstance(err.value, CatalogConfigError)
    assert "services/apps/search.conf: app.x" in str(err.value)
    assert "Traceback" not in err.value.render()


KEYS = st.sampled_from(["a", "b", "c", "port", "host"])
SCALARS = st.one_of(st.integers(-1000, 1000), st.booleans(), st.text("xyz019 ._-", min_size=1, max_size=8))
LAYER = st.recursive(SCALARS, lambda inner: st.dictionaries(KEYS, inner, max_size=4), max_leaves=12).filter(lambda v: isinstance(v, dict))


def reference_merge(base: Any, over: Any) -> Any:
    """HOCON's rule: objects merge key by key, anything else is replaced whole."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: reference_merge(base[k], v) if k in base else v for k, v in over.items()}}
    return over


def plain(tree: Any) -> Any:
    return {k: plain(v) for k, v in tree.items()} if isinstance(tree, dict) else tree


@settings(max_examples=30, deadline=None)
@given(st.lists(LAYER, min_size=1, max_size=4))
def test_layering_is_a_deep_merge_where_later_layers_win(layers: list[dict[str, Any]]) -> None:
    expected: Any = {}
    for layer in layers:
        expected = reference_merge(expected, layer)
    parsed = [parse(json.dumps(layer)) for layer in layers]
    assert plain(resolve(merge(parsed))) == expected
    assert [plain(p) for p in parsed] == layers  # merging leaves its inputs untouched


@settings(max_examples=20, deadline=None)
@given(base=st.integers(1, 99), override=st.one_of(st.none(), st.integers(100, 999)))
def test_substitutions_bind_to_the_final_merged_value(base: int, override: int | None) -> None:
    layers = [parse(f"x = {base}"), parse("y = ${x}")]
    if override is not None:
        layers.append(parse(f"x = {override}"))
    resolved = resolve(merge(layers))
    assert resolved["y"] == resolved["x"] == (override if override is not None else base)


def test_an_include_inside_services_is_read_and_its_own_includes_are_judged_too(tree: Path) -> None:
    (tree / "services" / "common").mkdir()
    shared = tree / "services" / "common" / "web.inc"
    shared.write_text('app.insight.web.motto = "search every repository"\n')
    edit(tree, "apps/web.conf", 'include "../common/web.inc"')
    assert 'motto = "search every repository"' in load_catalog("test", tree).get("web").application_conf
    shared.write_text(shared.read_text() + 'include url("http://192.0.2.1/x.conf")\n')
    assert problems(tree) == [
        "services/apps/web.conf: line 22 = 'include ../common/web.inc': in the included file: line 2: "
        "the catalog never reaches the network or packages: include files under services/ only"
    ]
