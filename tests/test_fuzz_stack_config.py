"""Generated stack configs (mutations of the real stack sections): invalid ones end in one clear ConfigError,
valid ones preview and pass every mandatory policy rule."""

import copy
import ipaddress
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from offline.policies import mandatory_violations
from offline.runner import run_stack
from offline.stackfile import read_stack_file
from settings import AWS_STACKS, ConfigError
from settings.aws_catalog import SUPPORTED_KUBERNETES_VERSIONS
from settings.network import LOG_RETENTION_DAYS
from settings.stack import parse_stack_config

from .conftest import raw_sections

# Modest and reproducible: the suite stays fast and CI sees the same examples every run.
settings.register_profile("insight-fuzz", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings.get_profile("insight-fuzz")
# Each example is a whole preview: few of them, and no shrinking (a failure already names its mutation).
FULL_RUNS = settings(FUZZ, max_examples=2, phases=[Phase.explicit, Phase.reuse, Phase.generate])

INSTANCE_TYPES = ["m6i.xlarge", "m6a.xlarge", "m5.xlarge", "m5a.xlarge", "m7i.xlarge", "m6g.xlarge", "c6i.xlarge", "m6i.large", "m6i.xlarg"]
CIDRS = ["198.51.100.10/32", "203.0.113.0/24", "0.0.0.0/0", "10.0.0.0/8", "not-a-cidr", "0.0.0.0/1", "128.0.0.0/1"]
MUTATIONS = st.one_of(
    st.tuples(st.just(("network", "azCount")), st.integers(-1, 8)),
    st.tuples(st.just(("network", "flowLogsRetentionDays")), st.sampled_from([0, 1, 30, 90, 365, 400, 500, 3653])),
    st.tuples(st.just(("network", "natStrategy")), st.sampled_from(["per_az", "single", "none", ""])),
    st.tuples(st.just(("network", "vpcCidr")), st.sampled_from(["10.40.0.0/16", "10.40.0.0/24", "172.20.0.0/16", "10.40.0.0/33", "x"])),
    st.tuples(st.just(("cluster", "kubernetesVersion")), st.sampled_from(["1.33", "1.34", "1.35", "1.29", "latest", 1.34])),
    st.tuples(st.just(("cluster", "endpointPublicAccess")), st.booleans()),
    st.tuples(st.just(("cluster", "publicAccessCidrs")), st.lists(st.sampled_from(CIDRS), max_size=3)),
    st.tuples(st.just(("nodePools", "spot", "instanceTypes")), st.lists(st.sampled_from(INSTANCE_TYPES), max_size=5)),
    st.tuples(st.just(("nodePools", "reserved", "maxSize")), st.integers(0, 12)),
    st.tuples(st.just(("nodePools", "spot", "maxSize")), st.sampled_from([18, 450, 451, 10**6])),
    st.tuples(st.just(("network", "azCont")), st.integers(2, 3)),  # a typo: unknown keys are errors
    st.tuples(st.just(("network", "vpcCidr")), st.none()),  # a required key removed
)


def mutate(sections: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(sections)
    node = mutated
    for key in path[:-1]:
        node = node[key]
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return mutated


def outcome(stack: str, sections: dict[str, Any]) -> ConfigError | None:
    region = read_stack_file(stack).raw("aws:region")
    try:
        parse_stack_config(stack, region, sections, f"Pulumi.{stack}.yaml")
    except ConfigError as err:
        return err
    return None


@FUZZ
@given(stack=st.sampled_from(AWS_STACKS), mutations=st.lists(MUTATIONS, min_size=1, max_size=3))
def test_every_invalid_config_is_one_clear_error(stack, mutations):
    sections = raw_sections(stack)
    for path, value in mutations:
        sections = mutate(sections, path, value)
    error = outcome(stack, sections)  # any other exception fails the test: no tracebacks reach the user
    if error is not None:
        lines = error.render().splitlines()
        assert lines[0].endswith("configuration problem(s):") and len(lines) == len(error.problems) + 1
        for line in lines[1:]:
            assert line.startswith(f"Pulumi.{stack}.yaml: ") and " = " in line and "Traceback" not in line


# Changes a user may make that stay within the rules: the preview must still pass every mandatory rule.
VALID_MUTATIONS = st.one_of(
    st.tuples(st.just(("network", "flowLogsRetentionDays")), st.sampled_from(LOG_RETENTION_DAYS)),
    st.tuples(st.just(("network", "natStrategy")), st.sampled_from(["per_az", "single"])),
    st.tuples(st.just(("cluster", "kubernetesVersion")), st.sampled_from(SUPPORTED_KUBERNETES_VERSIONS)),
    st.tuples(st.just(("cluster", "endpointPublicAccess")), st.just(False)),
)


@FULL_RUNS
@given(stack=st.sampled_from(AWS_STACKS), mutations=st.lists(VALID_MUTATIONS, min_size=1, max_size=3))
def test_every_valid_config_previews_and_passes_mandatory_rules(stack, mutations):
    sections = raw_sections(stack)
    for path, value in mutations:
        sections = mutate(sections, path, value)
    assert outcome(stack, sections) is None
    run = run_stack(stack, overrides={f"insight:{key}": value for key, value in sections.items()})
    assert mandatory_violations(run) == []


def world_split(prefix: int, extra: list[str]) -> list[str]:
    return [str(n) for n in ipaddress.ip_network("0.0.0.0/0").subnets(new_prefix=prefix)] + extra


@FUZZ
@given(prefix=st.integers(0, 5), extra=st.lists(st.sampled_from(["198.51.100.10/32", "10.0.0.0/8"]), max_size=2))
def test_prod_refuses_any_list_of_ranges_that_covers_the_world(prefix: int, extra: list[str]):
    sections = mutate(raw_sections("prod"), ("cluster", "publicAccessCidrs"), world_split(prefix, extra))
    error = outcome("prod", sections)
    assert error is not None and any("insight:cluster.publicAccessCidrs" in line for line in error.render().splitlines())
