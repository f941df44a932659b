"""Every class of bad stack setting stops the run with one clear line, before any resource exists."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from offline.runner import run_stack
from offline.stackfile import ROOT
from settings import ConfigError, parse_stack_config

from .conftest import raw_sections


def problems_for(stack: str, mutate, region: str | None = None) -> list[str]:
    sections = raw_sections(stack)
    mutate(sections)
    default_region = {"test": "us-west-2", "staging": "us-west-2", "prod": "ap-northeast-1"}[stack]
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(stack, region or default_region, sections, f"Pulumi.{stack}.yaml")
    return caught.value.render().splitlines()[1:]


def set_path(sections: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = sections
    for part in parents:
        node = node[part]
    node[leaf] = value


def test_valid_stack_files_parse():
    for stack, region in (("test", "us-west-2"), ("staging", "us-west-2"), ("prod", "ap-northeast-1")):
        cfg = parse_stack_config(stack, region, raw_sections(stack), f"Pulumi.{stack}.yaml")
        assert cfg.environment == stack


@pytest.mark.parametrize(
    ("stack", "path", "value", "expected"),
    [
        ("test", "network.vpcCidr", "10.10.0.0/33", "insight:network.vpcCidr = '10.10.0.0/33': not a valid IPv4 CIDR"),
        ("test", "network.vpcCidr", "10.10.0.1/16", "has host bits set"),
        ("test", "cluster.serviceCidr", "10.10.128.0/20", "insight:cluster.serviceCidr = '10.10.128.0/20': overlaps network.vpcCidr"),
        ("test", "network.vpcCidr", "10.10.0.0/18", "holds private /19 and public /24 subnets for at most"),
        ("test", "network.azCount", 5, "test needs 2 to 4 AZs (us-west-2 offers"),
        ("prod", "network.azCount", 2, "insight:network.azCount = 2: prod needs 3 to 3 AZs"),
        ("test", "network.natStrategy", "one", "Input should be 'per_az' or 'single'"),
        ("test", "network.flowLogsRetentionDays", 45, "insight:network.flowLogsRetentionDays = 45: allowed: 1, 3, 5"),
        ("prod", "nodePools.spot.instanceTypes", ["m6i.xlarge", "m5.xlage", "m6a.xlarge"], "did you mean 'm5.xlarge'?"),
        ("prod", "nodePools.reserved.reservation.instanceType", "m9z.huge", "instanceType = 'm9z.huge': not a known EC2 instance type"),
        ("prod", "nodePools.spot.instanceTypes", ["m6i.xlarge", "m6a.xlarge"], "needs at least 3 distinct interchangeable types"),
        ("prod", "nodePools.spot.instanceTypes", ["m6i.xlarge", "m6a.xlarge", "m5.4xlarge"], "types must share vCPU and memory"),
        ("prod", "nodePools.spot.instanceTypes", ["m6i.xlarge", "m6a.xlarge", "m7g.xlarge"], "share one CPU architecture"),
        (
            "prod",
            "nodePools.reserved.maxSize",
            5,
            "insight:nodePools.reserved.maxSize = 5: larger than the reservation it mirrors (3 x m6i.2xlarge)",
        ),
        ("prod", "nodePools.spot.desiredSize", 30, "needs minSize <= desiredSize <= maxSize"),
        ("prod", "cluster.kubernetesVersion", "1.27", "unsupported Kubernetes version; allowed: 1.33, 1.34, 1.35"),
        ("prod", "cluster.publicAccessCidrs", ["0.0.0.0/0"], "prod's API endpoint must not be open to 0.0.0.0/0"),
        ("staging", "cluster.publicAccessCidrs", [], "public endpoint without CIDRs is open to 0.0.0.0/0"),
        ("staging", "cluster.adminRoleArns", ["arn:aws:iam::12:user/bob"], "is not an IAM role ARN"),
        ("test", "accountId", "1234", "insight:accountId = '1234': String should match pattern"),
        # Coverage, not spelling: two halves are the whole of IPv4.
        ("prod", "cluster.publicAccessCidrs", ["0.0.0.0/1", "128.0.0.0/1"], "prod's API endpoint must not be open to 0.0.0.0/0"),
        ("prod", "cluster.publicAccessCidrs", ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"], "these ranges together cover it"),
        # Upper bounds: a typo of extra zeros must not be priced and declared.
        (
            "prod",
            "nodePools.spot.maxSize",
            1_000_000,
            "insight:nodePools.spot.maxSize = 1000000: Input should be less than or equal to 450",
        ),
        ("prod", "nodePools.reserved.reservation.count", 100_000, "less than or equal to 450"),
        ("prod", "nodePools.spot.diskGib", 65536, "less than or equal to 1000"),
        ("prod", "edge.storage.backupRetentionDays", 100_000, "less than or equal to 3653"),
        ("prod", "edge.registry.keepReleases", 10**9, "less than or equal to 1000"),
        ("prod", "platform.elasticsearch.replicas", 301, "less than or equal to 9"),
        ("prod", "platform.elasticsearch.storageGib", 10**7, "less than or equal to 16384"),
        ("prod", "cost.usage.natProcessedGb", 1e12, "less than or equal to 10000000"),
        # ASCII-only identifiers: look-alike letters and digits from other scripts are refused.
        ("prod", "cluster.adminRoleArns", ["arn:aws:iam::333333333333:role/platform-\u0430dmin"], "is not an IAM role ARN"),
        ("prod", "cluster.adminRoleArns", ["arn:aws:iam::\uff13\uff13\uff13333333333:role/break-glass"], "is not an IAM role ARN"),
        ("prod", "accountId", "\u0663\u0663\u0663333333333", "String should match pattern"),
        ("prod", "release.version", "1.\u0663.2", "String should match pattern"),
    ],
)
def test_bad_value_names_file_key_value_and_rule(stack, path, value, expected):
    lines = problems_for(stack, lambda s: set_path(s, path, value))
    assert any(line.startswith(f"Pulumi.{stack}.yaml: ") and expected in line for line in lines), lines


def test_unknown_keys_are_errors_at_every_level():
    def typos(s):
        s["network"]["azCuont"] = 3
        s["clsuter"] = {}

    lines = problems_for("staging", typos)
    assert any("insight:clsuter" in line and "unknown key; allowed insight: keys:" in line and "cluster" in line for line in lines)

    lines = problems_for("staging", lambda s: s["network"].update(azCuont=3))
    assert lines == ["Pulumi.staging.yaml: insight:network.azCuont = 3: unknown key; allowed keys here: azCount, flowLogsRetentionDays, "
                     "natStrategy, privateSubnetPrefix, publicSubnetPrefix, vpcCidr"]  # fmt: skip


def test_missing_section_and_region_are_named():
    lines = problems_for("test", lambda s: s.pop("nodePools"))
    assert lines == ["Pulumi.test.yaml: insight:nodePools = (missing): required key is missing"]
    sections = raw_sections("test")
    with pytest.raises(ConfigError, match=r"aws:region = \(missing\)"):
        parse_stack_config("test", None, sections, "Pulumi.test.yaml")


def test_unknown_region_and_tier():
    assert any("unknown region; allowed: ap-northeast-1" in line for line in problems_for("test", lambda s: None, region="mars-1"))
    # A stack of another name needs `insight:tier`: its name is no tier.
    with pytest.raises(
        ConfigError,
        match=r"insight:tier = 'qa': unknown tier \(no insight:tier: the stack's name is its tier\); allowed: test, staging, prod",
    ):
        parse_stack_config("qa", "us-west-2", raw_sections("test"), "Pulumi.qa.yaml")
    with pytest.raises(ConfigError, match=r"insight:tier = 'dev': unknown tier; allowed: test, staging, prod"):
        parse_stack_config("qa", "us-west-2", raw_sections("test") | {"tier": "dev"}, "Pulumi.qa.yaml")
    with pytest.raises(ConfigError, match="a stack name is lower-case letters"):
        parse_stack_config("../qa", "us-west-2", raw_sections("test") | {"tier": "test"}, "Pulumi.qa.yaml")


def test_a_declared_tier_is_the_stacks_tier_and_its_name_stays_its_name():
    cfg = parse_stack_config("qa", "us-west-2", raw_sections("test") | {"tier": "test"}, "Pulumi.qa.yaml")
    assert (cfg.tier, cfg.environment, cfg.cluster_name, cfg.protected) == ("test", "qa", "insight-qa", False)


def test_every_problem_is_reported_at_once():
    def many(s):
        s["network"]["natStrategy"] = "one"
        s["cluster"]["kubernetesVersion"] = "1.20"

    assert len(problems_for("test", many)) == 2


def test_bad_config_declares_nothing():
    with pytest.raises(ConfigError):
        run_stack("prod", overrides={"insight:network": {"vpcCidr": "10.30.0.0/16", "azCount": 2, "natStrategy": "per_az"}})
    # The run is isolated: a later good run starts clean.
    assert run_stack("test").of_type("aws:ec2/vpc:Vpc")


def test_bad_config_declares_no_resource(monkeypatch: pytest.MonkeyPatch):
    from components import program

    declared: list[object] = []
    monkeypatch.setattr(program, "declare", lambda *args: declared.append(args))
    with pytest.raises(ConfigError):
        run_stack("test", overrides={"insight:cluster": {"kubernetesVersion": "1.2"}})
    assert declared == []
    run_stack("test")
    assert len(declared) == 1  # the same path declares once the config is valid


def test_offline_preview_exits_2_without_traceback(tmp_path: Path):
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    bad = (
        (ROOT / "Pulumi.prod.yaml")
        .read_text()
        .replace("azCount: 3", "azCount: 2")
        .replace("198.51.100.10/32         # CI", "0.0.0.0/0 # CI")
    )
    (tmp_path / "Pulumi.prod.yaml").write_text(bad)
    build = tmp_path / "build"
    command = [sys.executable, "-m", "offline.preview", "prod", "--root", str(tmp_path), "--build-dir", str(build)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Pulumi.prod.yaml: insight:network.azCount = 2: prod needs 3 to 3 AZs" in result.stderr
    assert "Pulumi.prod.yaml: insight:cluster.publicAccessCidrs = ['0.0.0.0/0']: prod's API endpoint must not be open" in result.stderr
    assert not (build / "prod").exists()


def test_a_required_secret_that_is_not_set_stops_the_run_by_name():
    with pytest.raises(ConfigError) as caught:
        run_stack("prod", overrides={"insight:datadogApiKey": None})
    assert caught.value.render().splitlines()[1:] == [
        "Pulumi.prod.yaml: insight:datadogApiKey = (missing): required secret; "
        "set it with `pulumi config set --secret insight:datadogApiKey <value>`"
    ]
    # test runs Prometheus: no Datadog key needed there.
    assert run_stack("test", overrides={"insight:datadogApiKey": None}).of_type("eks:index:Cluster")


BOMB = (
    "config:\n  insight:x: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n  insight:y: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    + "".join(f"  insight:z{i}: &c{i} [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" for i in range(20))
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config:\n  insight:network: {vpcCidr: [\n", "Pulumi.test.yaml: (yaml) = 'line 3, column 1': not valid YAML"),
        ("config: [1, 2]\n", "Pulumi.test.yaml: (config) = [1, 2]: must be a mapping"),
        # The last of two keys would win: prod's flow-log retention silently became one day.
        (
            "config:\n  insight:network:\n    flowLogsRetentionDays: 365\n    flowLogsRetentionDays: 1\n",
            "Pulumi.test.yaml: (yaml) = 'line 4, column 5': not valid YAML: duplicate key 'flowLogsRetentionDays' (YAML would keep only the last)",
        ),
        ("config:\n  aws:region: us-west-2\n  aws:region: eu-west-1\n", "duplicate key 'aws:region'"),
        # Anchors and aliases are refused before anything expands (a billion laughs would exhaust memory).
        (BOMB, "Pulumi.test.yaml: (yaml) = 'line 2, column 14': not valid YAML: anchors and aliases (&name, *name) are not allowed"),
        ("config:\n  insight:cluster: *undefined\n", "anchors and aliases"),
    ],
)
def test_a_broken_stack_file_is_named_without_traceback(tmp_path: Path, text: str, expected: str):
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.test.yaml").write_text(text)
    command = [sys.executable, "-m", "offline.preview", "test", "--root", str(tmp_path), "--build-dir", str(tmp_path / "build")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr
    assert not (tmp_path / "build" / "test").exists()


@pytest.mark.parametrize("key", ["sentryDsn", "datadogApiKey"])
def test_a_secret_committed_in_plain_text_is_an_error_that_never_shows_it(key: str):
    value = "https://0f1e2d3c4b5a6978@o42.ingest.sentry.io/7" if key == "sentryDsn" else "0123456789abcdef0123456789abcdef"
    with pytest.raises(ConfigError) as caught:
        run_stack("prod", overrides={f"insight:{key}": value})
    assert caught.value.render().splitlines()[1:] == [
        f"Pulumi.prod.yaml: insight:{key} = '[redacted]': committed in plain text: rotate it, then "
        f"`pulumi config set --secret insight:{key} <value>`"
    ]
