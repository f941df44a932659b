"""The onprem stack: the Kubernetes layer on the customer's cluster through the seam, with no AWS at all."""

import pytest

from offline.manifests import manifests
from offline.runner import run_stack
from offline.stackfile import offline_secret
from settings import PROJECT, ConfigError
from settings.stack import SECRET_KEYS
from tests.conftest import declared, raw_sections


def aws_resources(types: list[str]) -> list[str]:
    return [t for t in types if t.startswith("aws:") or t == "pulumi:providers:aws"]


def test_the_onprem_recording_holds_no_aws_resource() -> None:
    run = declared("onprem")
    assert aws_resources([r.type for r in run.records]) == []
    assert {"kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"} <= {r.type for r in run.records}


def test_the_aws_judge_fails_on_a_stack_with_aws() -> None:
    assert aws_resources([r.type for r in declared("test").records])


def test_the_kubernetes_provider_reads_the_kubeconfig_secret_and_no_stand_in_leaks() -> None:
    run = declared("onprem")
    provider = run.one("pulumi:providers:kubernetes")
    stand_in = offline_secret(f"{PROJECT}:kubeconfig")
    assert stand_in not in str(provider.as_dict())
    rendered = str(manifests(run))
    assert not [k for k in SECRET_KEYS if offline_secret(f"{PROJECT}:{k}") in rendered]


def test_public_services_use_the_stack_files_load_balancer_class() -> None:
    run = declared("onprem")
    wanted = raw_sections("onprem")["onprem"]["loadBalancerClass"]
    public = [o for o in manifests(run) if o["kind"] == "Service" and o["spec"].get("type") == "LoadBalancer"]
    assert public and {o["spec"]["loadBalancerClass"] for o in public} == {wanted}
    assert all(not any(k.startswith("service.beta.kubernetes.io/aws") for k in o["metadata"].get("annotations", {})) for o in public)


def test_an_aws_section_in_the_onprem_stack_is_refused_by_name() -> None:
    with pytest.raises(ConfigError) as err:
        run_stack("onprem", overrides={f"{PROJECT}:network": {"vpcCidr": "10.0.0.0/16"}})
    assert "insight:network" in err.value.render() and "an AWS section; the onprem tier" in err.value.render()


def test_the_onprem_section_in_an_aws_stack_is_refused() -> None:
    with pytest.raises(ConfigError, match="only the onprem tier takes this section"):
        run_stack("test", overrides={f"{PROJECT}:onprem": raw_sections("onprem")["onprem"]})


def test_onprem_takes_final_releases_only() -> None:
    with pytest.raises(ConfigError, match="onprem takes final releases only"):
        run_stack("onprem", overrides={f"{PROJECT}:release": {"version": "1.4.0-SNAPSHOT"}})
