"""The data-volume key: the EBS CSI driver's calls as IAM and KMS evaluate them, the classes that name the key, and
what an existing cluster's `pulumi up` does when the key arrives.

EC2 makes the KMS calls of a volume the driver creates or attaches, on the driver's behalf: the grants it creates
for the volume and the instance carry kms:GrantIsForAWSResource true. A call is admitted when the key policy admits
the driver's role by name, or admits the account and the role's IAM policy allows it (same account).
"""

import copy
import json
from dataclasses import replace
from fnmatch import fnmatchcase
from typing import Any

from components.aws.cluster import volume_key_access, volume_key_policy
from components.aws.handle import DATA_CLASS, EBS_CSI_DRIVER, SCRATCH_CLASS
from delivery.diff import diff_records
from offline.recorder import UNKNOWN, Record, plain
from offline.runner import Run
from policy.rules.data import EBS_PROVISIONERS, UNKNOWN_OUTPUT
from settings import StackConfig

from .conftest import declared

STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
KEY = "arn:aws:kms:us-west-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = "arn:aws:kms:us-west-2:111111111111:key/0b2c4d6e-1111-2222-3333-444455556666"
DRIVER = "arn:aws:iam::111111111111:role/cluster-ebs-csi"
FOR_AWS_RESOURCE = {"kms:GrantIsForAWSResource": "true"}
# What EC2 asks KMS for on the driver's behalf (create, attach, detach, delete a volume).
DRIVER_CALLS = [
    ("kms:CreateGrant", FOR_AWS_RESOURCE),
    ("kms:ListGrants", FOR_AWS_RESOURCE),
    ("kms:RevokeGrant", FOR_AWS_RESOURCE),
    ("kms:GenerateDataKeyWithoutPlaintext", {}),
    ("kms:Decrypt", {}),
    ("kms:DescribeKey", {}),
    ("kms:ReEncryptFrom", {}),
]
# What the driver's role must not do with the key: grant it for anything but an AWS resource, or administer it.
REFUSED_CALLS = [
    ("kms:CreateGrant", {"kms:GrantIsForAWSResource": "false"}),
    ("kms:CreateGrant", {}),
    ("kms:PutKeyPolicy", {}),
    ("kms:ScheduleKeyDeletion", {}),
]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditions_hold(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """Bool only (the one operator these documents use); a key missing from the request fails its condition."""
    for operator, tests in condition.items():
        assert operator == "Bool", f"no evaluator for {operator}"
        for key, expected in tests.items():
            if key not in context or str(expected).lower() != context[key].lower():
                return False
    return True


def allows(document: dict[str, Any], action: str, resource: str, context: dict[str, str], principal: str | None = None) -> bool:
    """Whether an Allow statement matches (no Deny is used); `principal`: only statements that name it (a key policy)."""
    return any(
        s["Effect"] == "Allow"
        and (principal is None or principal in _listed(s.get("Principal", {}).get("AWS")))
        and any(fnmatchcase(action, a) for a in _listed(s["Action"]))
        and any(fnmatchcase(resource, r) for r in _listed(s["Resource"]))
        and _conditions_hold(s.get("Condition", {}), context)
        for s in document["Statement"]
    )


def driver_faults(iam_policy: dict[str, Any], key_policy: dict[str, Any], key_arn: str) -> list[str]:
    """Where the driver's role is refused a call it needs, or allowed one it must not make."""
    faults = []
    for action, context in DRIVER_CALLS:
        if not allows(key_policy, action, key_arn, context, principal=DRIVER):
            faults.append(f"key policy refuses {action}")
        if not allows(iam_policy, action, key_arn, context):
            faults.append(f"IAM policy refuses {action}")
        if allows(iam_policy, action, OTHER_KEY, context):
            faults.append(f"IAM policy allows {action} on another key")
    for action, context in REFUSED_CALLS:
        for name, document in (("key policy", key_policy), ("IAM policy", iam_policy)):
            if allows(document, action, key_arn, context, principal=DRIVER if document is key_policy else None):
                faults.append(f"{name} allows {action} with {context or 'no context'}")
    return faults


def test_the_driver_may_make_exactly_the_calls_of_its_volumes() -> None:
    assert driver_faults(json.loads(volume_key_access(KEY)), json.loads(volume_key_policy("111111111111", DRIVER)), KEY) == []


def test_a_planted_grant_without_its_condition_or_on_every_key_is_a_fault() -> None:
    key_policy = json.loads(volume_key_policy("111111111111", DRIVER))
    unconditioned = json.loads(volume_key_access(KEY))
    for statement in unconditioned["Statement"]:
        statement.pop("Condition", None)
    assert "IAM policy allows kms:CreateGrant with {'kms:GrantIsForAWSResource': 'false'}" in driver_faults(unconditioned, key_policy, KEY)
    everywhere = json.loads(volume_key_access("*"))
    assert "IAM policy allows kms:Decrypt on another key" in driver_faults(everywhere, key_policy, KEY)
    nobody = copy.deepcopy(key_policy)
    nobody["Statement"] = nobody["Statement"][:1]  # the account only: the role needs its IAM policy and the key's word
    assert "key policy refuses kms:CreateGrant" in driver_faults(json.loads(volume_key_access(KEY)), nobody, KEY)


def _account(run: Run) -> StackConfig:
    assert isinstance(run.settings, StackConfig)
    return run.settings


def _declared_key(run: Run) -> tuple[Record, str]:
    """The data-volume key and its ARN, as its alias and the driver's IAM policy take them."""
    key = run.one("aws:kms/key:Key", "cluster-data-volumes")
    alias = run.one("aws:kms/alias:Alias", "cluster-data-volumes")
    assert key.urn in alias.property_dependencies["targetKeyId"]
    return key, f"arn:aws:kms:{_account(run).region}:{_account(run).account_id}:key/{alias.inputs['targetKeyId']}"


def test_the_key_is_kept_like_the_clusters_and_rotates(run: Run) -> None:
    key, _ = _declared_key(run)
    cluster = run.one("eks:index:Cluster")
    assert key.protect is key.retain_on_delete is cluster.protect  # retained volumes outlive the stack: so does their key
    assert (key.inputs["enableKeyRotation"], key.inputs["deletionWindowInDays"]) == (True, 30)
    assert key.inputs["tags"]["component"] == "cluster"


def test_the_declared_policies_admit_the_driver_role_on_this_key_only(run: Run) -> None:
    key, arn = _declared_key(run)
    role = run.one("aws:iam/role:Role", "cluster-ebs-csi")
    role_arn = f"arn:aws:iam::{_account(run).account_id}:role/cluster-ebs-csi"  # the mocks' ARN of that role
    assert role.urn in key.property_dependencies["policy"]  # created first: KMS refuses a policy naming no principal
    policy = run.one("aws:iam/policy:Policy", "cluster-ebs-csi-volume-key")
    assert key.urn in policy.property_dependencies["policy"]
    attachment = run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "cluster-ebs-csi-volume-key")
    assert role.urn in attachment.property_dependencies["role"] and policy.urn in attachment.property_dependencies["policyArn"]
    key_policy = key.inputs["policy"]
    assert json.loads(volume_key_policy(_account(run).account_id, role_arn)) == json.loads(key_policy)
    assert driver_faults(json.loads(policy.inputs["policy"]), json.loads(key_policy.replace(role_arn, DRIVER)), arn) == []


def test_both_classes_name_the_key_by_its_arn(run: Run) -> None:
    key, arn = _declared_key(run)
    classes = {sc.inputs["metadata"]["name"]: sc for sc in run.of_type(STORAGE_CLASS)}
    assert set(classes) == {DATA_CLASS, SCRATCH_CLASS}  # dumps on scratch hold customer data too
    for sc in classes.values():
        assert sc.inputs["parameters"]["kmsKeyId"] == arn
        assert sc.inputs["parameters"]["encrypted"] == "true"
        assert key.urn in sc.property_dependencies["parameters"]


def test_onprem_names_no_key() -> None:
    run = declared("onprem")
    assert not run.of_type(STORAGE_CLASS)
    assert "kmsKeyId" not in json.dumps([r.inputs for r in run.records])


def _before_the_key(records: list[Record]) -> list[Record]:
    """The stack as it was: no data-volume key, its policy or alias; classes without kmsKeyId."""

    def without_key(r: Record) -> Record:
        parameters = {k: v for k, v in r.inputs["parameters"].items() if k != "kmsKeyId"}
        return replace(r, inputs={**r.inputs, "parameters": parameters})

    kept = [r for r in records if "cluster-data-volumes" not in r.name and "volume-key" not in r.name]
    return [without_key(r) if r.type == STORAGE_CLASS else r for r in kept]


def test_an_existing_cluster_gets_the_key_and_its_classes_replaced_deleted_first() -> None:
    """Nothing else is replaced: claims name the class by its name, so no workload takes the replaced class's outputs."""
    head = declared("prod").records
    diff = diff_records("prod", _before_the_key(head), head)
    steps = {(c.name, c.action, c.delete_before_replace) for c in diff.changes}
    assert steps == {
        ("cluster-data-volumes", "add", False),
        ("cluster-data-volumes", "add", False),  # the alias
        ("cluster-ebs-csi-volume-key", "add", False),
        (DATA_CLASS, "replace", True),
        (SCRATCH_CLASS, "replace", True),
    }
    assert len(diff.changes) == 6 and not [c for c in diff.changes if c.cascade_from]


def test_the_rule_reads_the_drivers_name_and_an_unknown_key_as_the_program_and_offline_records_give_them() -> None:
    assert EBS_CSI_DRIVER in EBS_PROVISIONERS
    assert plain(UNKNOWN) == UNKNOWN_OUTPUT
