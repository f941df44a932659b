"""Every taggable AWS resource carries project, environment, component and managed-by tags."""

from .helpers import effective_tags, is_taggable

REQUIRED = {"project", "environment", "component", "managed-by"}


def test_every_taggable_resource_is_tagged(run):
    taggable = [r for r in run.records if r.custom and is_taggable(r.type)]
    assert len(taggable) > 20
    for record in taggable:
        tags = effective_tags(run, record)
        assert set(tags) >= REQUIRED, f"{record.urn} lacks {REQUIRED - set(tags)}"
        assert tags["environment"] == run.stack
        assert tags["project"] == "insight"


def test_remote_components_are_tagged_too(run):
    for record in run.records:
        if record.type.startswith("eks:index:"):
            assert record.inputs["tags"]["component"] == "cluster"
            assert record.providers["aws"].split("::")[-2] == "aws"


def test_taggable_detection_reads_the_provider_sdk():
    assert is_taggable("aws:ec2/vpc:Vpc")
    assert not is_taggable("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert not is_taggable("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
