"""Bad `insight:edge` values stop the run with one clear line each; the hostname rules on their own."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offline.runner import run_stack
from settings import ConfigError
from settings.edge import EdgeConfig, check_public_hostnames, covered_by, hostname_problem, in_zone

from .conftest import raw_sections
from .test_config_errors import problems_for, set_path


@pytest.mark.parametrize(
    ("stack", "path", "value", "expected"),
    [
        ("test", "edge.domain", "Insight_Example.com", "insight:edge.domain = 'Insight_Example.com': not a valid hostname: label"),
        ("prod", "edge.domain", "localhost", "needs at least two labels"),
        ("prod", "edge.domain", "-bad.example.com", "not starting or ending with '-'"),
        (
            "staging",
            "edge.certificateSans",
            ["*.staging.insight.example.com", "*.example.org"],
            "insight:edge.certificateSans[1] = '*.example.org': outside the zone: must be staging.insight.example.com or end with",
        ),
        ("prod", "edge.certificateSans", ["api..insight.example.com"], "certificateSans[0] = 'api..insight.example.com': not a valid"),
        ("prod", "edge.certificateSans", [], "must cover the API hostname api.insight.example.com"),
        ("prod", "edge.cdnAliases", ["cdn.example.org"], "cdnAliases[0] = 'cdn.example.org': not covered by the certificate names"),
        ("prod", "edge.cdnAliases", ["a.b.insight.example.com"], "not covered by the certificate names: insight.example.com"),
        ("prod", "edge.storage.logRetentionDays", 180, "insight:edge.storage.logRetentionDays = 180: prod keeps access logs at least 365"),
        ("test", "edge.storage.logRetentionDays", 30, "must be greater than edge.storage.logTransitionDays (30)"),
        (
            "test",
            "edge.storage.logTransitionDays",
            7,
            "insight:edge.storage.logTransitionDays = 7: Input should be greater than or equal to 30",
        ),
        ("test", "edge.storage.backupRetentionDays", 1, "greater than or equal to 7"),
        ("test", "edge.queryLogRetentionDays", 45, "insight:edge.queryLogRetentionDays = 45: allowed: 1, 3, 5"),
        ("staging", "edge.registry.keepReleases", 0, "insight:edge.registry.keepReleases = 0: Input should be greater than or equal to 1"),
        ("prod", "edge.waf", "sometimes", "Input should be a valid boolean"),
        (
            "prod",
            "edge.delegations",
            {"dev.example.org": "111111111111"},
            "insight:edge.delegations.dev.example.org = 'dev.example.org': must be a valid hostname below the zone",
        ),
        ("prod", "edge.delegations", {"test.insight.example.com": "1111"}, "must be the 12-digit account of the stack"),
        ("test", "edge.parentAccountId", "3333", "insight:edge.parentAccountId = '3333': must be a 12-digit AWS account id"),
        ("test", "edge.parentAccountId", None, "the zone must be delegated by exactly one of"),
        ("prod", "edge.parentAccountId", "111111111111", "the zone must be delegated by exactly one of"),
    ],
)
def test_bad_edge_value_names_file_key_value_and_rule(stack, path, value, expected):
    lines = problems_for(stack, lambda s: set_path(s, path, value))
    assert any(line.startswith(f"Pulumi.{stack}.yaml: ") and expected in line for line in lines), lines


def test_unknown_edge_key_lists_the_allowed_ones():
    lines = problems_for("prod", lambda s: set_path(s, "edge.wafEnabled", True))
    assert any(
        "insight:edge.wafEnabled = True: unknown key; allowed keys here: cdnAliases, certificateSans, delegations, domain" in line
        for line in lines
    )


def test_missing_edge_section_is_named():
    lines = problems_for("test", lambda s: s.pop("edge"))
    assert any("insight:edge = (missing): required key is missing" in line for line in lines), lines


@pytest.mark.parametrize(
    ("name", "ok"),
    [("insight.example.com", True), ("a-b.example.com", True), ("example", False), ("a_b.example.com", False), ("x" * 64 + ".com", False)],
)
def test_hostname_rule(name, ok):
    assert (hostname_problem(name) is None) is ok


def test_wildcards_cover_exactly_one_label():
    names = ["x.io", "*.x.io"]
    assert covered_by("x.io", names) and covered_by("api.x.io", names)
    assert not covered_by("a.b.x.io", names) and not covered_by("y.io", names)
    assert hostname_problem("*.x.io", wildcard=True) is None and hostname_problem("*.x.io") is not None
    assert in_zone("a.x.io", "x.io") and not in_zone("ax.io", "x.io")


def test_cdn_alias_may_not_take_a_public_service_hostname():
    edge = EdgeConfig(domain="x.io", certificate_sans=["*.x.io"], cdn_aliases=["x.io", "www.x.io"])
    (problem,) = check_public_hostnames(edge, {"api-gateway": "api", "web": "www"})
    assert (problem.path, problem.value) == ("edge.cdnAliases[1]", "www.x.io")
    assert problem.message == "already the hostname of the public service web"


def test_api_behavior_needs_a_public_api_service():
    edge = EdgeConfig(domain="x.io", certificate_sans=["*.x.io"], cdn_aliases=["x.io"])
    (problem,) = check_public_hostnames(edge, {"web": "www"})
    assert "the CDN forwards /api/* to api.x.io, but no public service has hostname = api (public hostnames: www)" in problem.message
    assert list(check_public_hostnames(edge, {"web": "www", "api-gateway": "api"})) == []


def test_catalog_clash_stops_the_run_before_anything_is_declared():
    edge = raw_sections("prod")["edge"]
    edge["cdnAliases"] = ["insight.example.com", "www.insight.example.com"]
    with pytest.raises(ConfigError) as caught:
        run_stack("prod", overrides={"insight:edge": edge})
    assert (
        "Pulumi.prod.yaml: insight:edge.cdnAliases[1] = 'www.insight.example.com': already the hostname of the public service web"
        in caught.value.render()
    )


LABELS = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
ZONES = st.lists(LABELS, min_size=2, max_size=4).map(".".join)


@given(ZONES)
def test_any_name_of_valid_labels_is_a_hostname(zone):
    assert hostname_problem(zone) is None
    assert hostname_problem(f"*.{zone}", wildcard=True) is None


@given(ZONES, st.sampled_from(["_", "A", " ", "é", ".."]))
def test_a_bad_character_anywhere_is_refused(zone, bad):
    assert hostname_problem(f"x{bad}{zone}") is not None


@given(LABELS, LABELS, ZONES)
def test_a_wildcard_covers_one_label_and_no_more(first, second, zone):
    names = [zone, f"*.{zone}"]
    assert covered_by(zone, names) and covered_by(f"{first}.{zone}", names)
    assert not covered_by(f"{first}.{second}.{zone}", names)
    assert in_zone(f"{first}.{zone}", zone) and not in_zone(f"{first}{zone}", zone)
