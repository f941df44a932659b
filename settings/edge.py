"""Edge settings (`insight:edge`): the environment's DNS zone and certificate names, the CDN, and the
retention and lifecycle days of its buckets and registry, with the checks made before anything is declared.
"""

import re
from collections.abc import Iterator

from pydantic import Field, field_validator

from .base import Section
from .errors import Problem
from .network import LOG_RETENTION_DAYS
from .tiers import TierPolicy

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Ten years, the longest the company keeps anything (and CloudWatch's longest finite retention, 3653 days).
MAX_RETENTION_DAYS = 3653
# S3 refuses a transition to STANDARD_IA earlier than 30 days after creation.
MIN_IA_TRANSITION_DAYS = 30
_ACCOUNT = re.compile(r"^\d{12}$")


def hostname_problem(name: str, wildcard: bool = False) -> str | None:
    """Why `name` is not a valid lower-case DNS hostname (a leading `*.` allowed when `wildcard`), or None."""
    labels = name.split(".")
    if wildcard and labels[0] == "*":
        labels = labels[1:]
    if len(name) > 253 or len(labels) < 2:
        return "not a valid hostname: needs at least two labels and at most 253 characters"
    bad = [label for label in labels if not _LABEL.match(label)]
    if bad:
        return f"not a valid hostname: label {bad[0]!r} must be 1-63 of a-z, 0-9 and '-', not starting or ending with '-'"
    return None


def in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith(f".{zone}")


def covered_by(name: str, certificate_names: list[str]) -> bool:
    """True when a certificate for `certificate_names` serves `name` (a wildcard covers exactly one label)."""
    parent = name.partition(".")[2]
    return any(n in (name, f"*.{parent}") for n in certificate_names)


class StorageConfig(Section):
    log_retention_days: int = Field(
        default=365, ge=1, le=MAX_RETENTION_DAYS, description="days access logs are kept (the tier sets a minimum)"
    )
    log_transition_days: int = Field(
        default=MIN_IA_TRANSITION_DAYS,
        ge=MIN_IA_TRANSITION_DAYS,
        le=MAX_RETENTION_DAYS,
        description="days before access logs move to STANDARD_IA",
    )
    backup_retention_days: int = Field(default=90, ge=7, le=MAX_RETENTION_DAYS, description="days backups are kept")
    noncurrent_version_days: int = Field(default=30, ge=1, le=MAX_RETENTION_DAYS, description="days an overwritten object version is kept")
    abort_incomplete_upload_days: int = Field(default=7, ge=1, le=365, description="days before an unfinished multipart upload is aborted")


class RegistryConfig(Section):
    keep_releases: int = Field(default=20, ge=1, le=1000, description="release images kept per repository")
    snapshot_days: int = Field(default=14, ge=1, le=MAX_RETENTION_DAYS, description="days a snapshot image is kept")
    untagged_days: int = Field(default=1, ge=1, le=365, description="days an untagged image is kept")


class EdgeConfig(Section):
    domain: str = Field(description="the environment's public hosted zone: a subdomain, or the apex for production")
    certificate_sans: list[str] = Field(
        default_factory=list, description="extra names on both certificates besides the domain, each inside the zone"
    )
    # This stack creates a role there the other account may assume to write the subdomain's NS records in this zone.
    delegations: dict[str, str] = Field(
        default_factory=dict, description="subdomain -> account of the stack whose zone it is (this zone delegates it)"
    )
    # How this zone gets delegated, exactly one of the two (check_edge).
    parent_account_id: str | None = Field(
        default=None, description="account of the stack whose zone is the parent domain and delegates this one"
    )
    registered_domain: bool = Field(default=False, description="the domain is registered with Route 53 Domains in this account")
    cdn_aliases: list[str] = Field(description="names the CDN answers to, each inside the zone and covered by the certificate")
    waf: bool = Field(default=False, description="a WAF web ACL in front of the CDN")
    query_log_retention_days: int = Field(default=30, description="CloudWatch retention of the zone's DNS query logs, in days")
    storage: StorageConfig = Field(default=StorageConfig(), description="retention and lifecycle days of the buckets")
    registry: RegistryConfig = Field(default=RegistryConfig(), description="lifecycle of the image repositories")

    @field_validator("domain")
    @classmethod
    def _valid_domain(cls, value: str) -> str:
        problem = hostname_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @property
    def parent_domain(self) -> str:
        return self.domain.partition(".")[2]

    @property
    def api_hostname(self) -> str:
        """The public API gateway: its Service's load balancer answers here, the CDN forwards `/api/*` to it."""
        return f"api.{self.domain}"

    @property
    def certificate_names(self) -> list[str]:
        return [self.domain, *self.certificate_sans]


def check_edge(tier: TierPolicy, edge: EdgeConfig) -> Iterator[Problem]:
    for i, san in enumerate(edge.certificate_sans):
        problem = hostname_problem(san, wildcard=True)
        if problem:
            yield Problem(f"edge.certificateSans[{i}]", san, problem)
        elif not in_zone(san.removeprefix("*."), edge.domain):
            yield Problem(f"edge.certificateSans[{i}]", san, f"outside the zone: must be {edge.domain} or end with .{edge.domain}")
    for i, alias in enumerate(edge.cdn_aliases):
        problem = hostname_problem(alias)
        if problem:
            yield Problem(f"edge.cdnAliases[{i}]", alias, problem)
        elif not covered_by(alias, edge.certificate_names):
            yield Problem(f"edge.cdnAliases[{i}]", alias, f"not covered by the certificate names: {', '.join(edge.certificate_names)}")
    if not covered_by(edge.api_hostname, edge.certificate_names):
        yield Problem(
            "edge.certificateSans", edge.certificate_sans, f"must cover the API hostname {edge.api_hostname} (e.g. *.{edge.domain})"
        )
    for sub, account in edge.delegations.items():
        if hostname_problem(sub) or not sub.endswith(f".{edge.domain}"):
            yield Problem(f"edge.delegations.{sub}", sub, f"must be a valid hostname below the zone, ending with .{edge.domain}")
        if not _ACCOUNT.match(str(account)):
            yield Problem(f"edge.delegations.{sub}", account, "must be the 12-digit account of the stack that owns the subdomain's zone")
    if edge.parent_account_id is not None and not _ACCOUNT.match(edge.parent_account_id):
        yield Problem("edge.parentAccountId", edge.parent_account_id, "must be a 12-digit AWS account id")
    if (edge.parent_account_id is not None) == edge.registered_domain:
        yield Problem(
            "edge.parentAccountId",
            edge.parent_account_id,
            "the zone must be delegated by exactly one of: edge.parentAccountId (the stack owning the parent zone "
            f"{edge.parent_domain}) or edge.registeredDomain: true (registered with Route 53 Domains in this account); "
            "otherwise certificate validation waits for a delegation nobody makes",
        )
    if edge.query_log_retention_days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        yield Problem("edge.queryLogRetentionDays", edge.query_log_retention_days, f"allowed: {allowed}")
    storage = edge.storage
    minimum = tier.min_log_retention_days
    if storage.log_retention_days < minimum:
        yield Problem("edge.storage.logRetentionDays", storage.log_retention_days, f"{tier.name} keeps access logs at least {minimum} days")
    elif storage.log_retention_days <= storage.log_transition_days:
        yield Problem(
            "edge.storage.logRetentionDays",
            storage.log_retention_days,
            f"must be greater than edge.storage.logTransitionDays ({storage.log_transition_days}): S3 expires after it transitions",
        )


def check_public_hostnames(edge: EdgeConfig, hostnames: dict[str, str]) -> Iterator[Problem]:
    """The CDN and the public services share the zone: no name twice, and `/api/*` must reach a public service.

    `hostnames` maps each public catalog service to its hostname label (`api` for api.<domain>).
    """
    services = {f"{label}.{edge.domain}": service for service, label in hostnames.items()}
    for i, alias in enumerate(edge.cdn_aliases):
        if alias in services:
            yield Problem(f"edge.cdnAliases[{i}]", alias, f"already the hostname of the public service {services[alias]}")
    if edge.api_hostname not in services:
        labels = ", ".join(sorted(hostnames.values())) or "none"
        yield Problem(
            "edge.domain",
            edge.domain,
            f"the CDN forwards /api/* to {edge.api_hostname}, but no public service has hostname = api (public hostnames: {labels})",
        )
