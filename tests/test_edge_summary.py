"""summary.md's edge section shows each stack's hardening as declared."""

from offline.edge_summary import edge_section

from .conftest import declared


def test_prod_section_shows_kept_buckets_repositories_certificates_and_waf():
    section = edge_section(declared("prod"))
    assert "| `insight-prod-backups-333333333333` | aws:kms | Enabled |" in section
    assert "| `insight-prod-logs-333333333333` | AES256 | Enabled |" in section
    assert "| s3/backups/ | protect, retain |" in section
    assert "| `insight-prod/api-gateway` | IMMUTABLE | True | KMS |" in section
    assert "keep the last 30 releases | protect, retain |" in section
    assert "- Certificate `dns-cdn` in us-east-1 for insight.example.com, *.insight.example.com" in section
    assert "TLS TLSv1.2_2021; WAF on;" in section


def test_test_section_keeps_nothing_and_has_no_waf():
    section = edge_section(declared("test"))
    assert (
        "| `insight-test-assets-111111111111` | aws:kms | Enabled | expire-noncurrent-versions, abort-incomplete-uploads | s3/assets/ | - |"
        in section
    )
    assert "WAF off;" in section
    assert "- Zone `test.insight.example.com` (-)" in section
