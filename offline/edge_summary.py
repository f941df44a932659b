"""summary.md section: the edge and registry's hardening at a glance, read from the recorded inputs."""

import json
from typing import Any

from .runner import Run

BUCKET = "aws:s3/bucket:Bucket"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


def _by_name(run: Run, type_: str) -> dict[str, Any]:
    return {r.name: r for r in run.of_type(type_)}


def _kept(record: Any) -> str:
    return ", ".join(f for f, on in (("protect", record.protect), ("retain", record.retain_on_delete)) if on) or "-"


def _region(run: Run, record: Any) -> str:
    provider = run.by_urn().get(record.provider.rsplit("::", 1)[0])
    return provider.inputs.get("region", "?") if provider else "?"


def _bucket_rows(run: Run) -> list[str]:
    encryption, versioning = _by_name(run, ENCRYPTION), _by_name(run, VERSIONING)
    lifecycle, logging = _by_name(run, LIFECYCLE), _by_name(run, LOGGING)
    rows = []
    for name, bucket in sorted(_by_name(run, BUCKET).items()):
        sse = encryption[name].inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] if name in encryption else "none"
        status = versioning[name].inputs["versioningConfiguration"]["status"] if name in versioning else "off"
        rules = ", ".join(r["id"] for r in lifecycle[name].inputs["rules"]) if name in lifecycle else "none"
        logs = logging[name].inputs["targetPrefix"] if name in logging else "-"
        rows.append(f"| `{bucket.inputs['bucket']}` | {sse} | {status} | {rules} | {logs} | {_kept(bucket)} |")
    return rows


def _repository_rows(run: Run) -> list[str]:
    lifecycle = _by_name(run, ECR_LIFECYCLE)
    rows = []
    for name, repo in sorted(_by_name(run, REPOSITORY).items()):
        rules = json.loads(lifecycle[name].inputs["policy"])["rules"] if name in lifecycle else []
        ages = "; ".join(r["description"] for r in sorted(rules, key=lambda r: r["rulePriority"])) or "none"
        scan = repo.inputs.get("imageScanningConfiguration", {}).get("scanOnPush", False)
        encryption = ", ".join(e["encryptionType"] for e in repo.inputs.get("encryptionConfigurations", [])) or "AES256"
        rows.append(
            f"| `{repo.inputs['name']}` | {repo.inputs.get('imageTagMutability')} | {scan} | {encryption} | {ages} | {_kept(repo)} |"
        )
    return rows


def _cdn_lines(run: Run) -> list[str]:
    lines = []
    for dist in run.of_type(DISTRIBUTION):
        certificate = dist.inputs.get("viewerCertificate", {})
        behaviors = [dist.inputs.get("defaultCacheBehavior", {}), *dist.inputs.get("orderedCacheBehaviors", [])]
        paths = ", ".join(
            f"`{b.get('pathPattern', '*')}` -> {b.get('targetOriginId')} ({b.get('viewerProtocolPolicy')})" for b in behaviors
        )
        lines.append(
            f"- CDN `{dist.name}`: aliases {', '.join(dist.inputs.get('aliases', []))}; "
            f"TLS {certificate.get('minimumProtocolVersion')}; WAF {'on' if dist.inputs.get('webAclId') else 'off'}; {paths}"
        )
    return lines


def edge_section(run: Run) -> str:
    out = ["## Edge and registry", ""]
    buckets = _bucket_rows(run)
    if buckets:
        out += [
            "| bucket | encryption | versioning | lifecycle rules | access log prefix | kept |",
            "|---|---|---|---|---|---|",
            *buckets,
            "",
        ]
    repositories = _repository_rows(run)
    if repositories:
        out += ["| repository | tags | scan on push | encryption | lifecycle | kept |", "|---|---|---|---|---|---|", *repositories, ""]
    out += [f"- Zone `{z.inputs['name']}` ({_kept(z)})" for z in run.of_type("aws:route53/zone:Zone")]
    out += [
        f"- Certificate `{c.name}` in {_region(run, c)} for {', '.join([c.inputs['domainName'], *c.inputs.get('subjectAlternativeNames', [])])}"
        for c in run.of_type("aws:acm/certificate:Certificate")
    ]
    out += _cdn_lines(run)
    return "\n".join(out) + "\n"
