"""Every settings field is described, and README.md's configuration table is the one the models generate."""

from pydantic import Field

from settings import doc
from settings.base import Section
from settings.stack import OnpremStackConfig, StackConfig


def test_every_settings_field_has_a_description():
    models = doc.settings_models()
    assert StackConfig in models and OnpremStackConfig in models and len(models) > 20
    assert doc.missing_descriptions(models) == []


def test_every_section_defined_in_settings_is_described_too():
    """Bases such as PoolSize included: a section not reached from a stack model yet is still documented."""

    def subclasses(cls: type[Section]) -> list[type[Section]]:
        return [s for c in cls.__subclasses__() for s in (c, *subclasses(c)) if s.__module__.startswith("settings.")]

    assert len(subclasses(Section)) > 20
    assert doc.missing_descriptions(subclasses(Section)) == []


def test_a_field_without_a_description_is_named():
    class Planted(Section):
        described: int = Field(default=1, description="a described field")
        bare: int = 2
        blank: str = Field(default="", description="  ")

    assert doc.missing_descriptions([Planted]) == ["Planted.bare", "Planted.blank"]


def test_the_readme_table_is_generated_from_the_models():
    readme = doc.README.read_text()
    assert doc.render(readme) == readme, "README.md's configuration table is stale: run `make docs`"


def test_a_stale_readme_table_is_caught():
    readme = doc.README.read_text()
    stale = readme.replace("| `insight:network.vpcCidr` | required |", "| `insight:network.vpcCidr` | `10.0.0.0/16` |")
    assert stale != readme
    assert doc.render(stale) == readme


def test_the_table_names_every_key_with_its_alias_and_default():
    table = doc.table()
    assert "| `insight:nodePools.reserved.reservation.instanceType` | required | the reserved EC2 instance type |" in table
    assert "| `insight:network.privateSubnetPrefix` | `19` |" in table
    assert "| `aws:region` |  | the AWS region the stack lives in |" in table
    assert "| `insight:tier` | the stack's name |" in table
    assert '| `insight:onprem.backups.region` | `"us-east-1"` |' in table
    assert table.count("`insight:platform.metrics.backend`") == 1  # the onprem tier's shared sections are listed once
