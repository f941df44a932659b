"""Small readers over recorded runs, shared by the tests."""

import importlib
import inspect
from functools import cache
from typing import Any

from offline.recorder import Record
from offline.runner import Run


@cache
def is_taggable(type_token: str) -> bool:
    """True when the pulumi_aws resource class takes `tags` (read from the provider SDK's own signature)."""
    package, module_path, class_name = type_token.split(":")
    if package != "aws" or module_path.startswith("index"):
        return False
    module = importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}")
    return "tags" in inspect.signature(getattr(module, class_name)._internal_init).parameters


def aws_provider_of(run: Run, record: Record) -> Record:
    provider_ref = record.provider or record.providers.get("aws", "")
    urn = provider_ref.rsplit("::", 1)[0]
    return run.by_urn()[urn]


def effective_tags(run: Run, record: Record) -> dict[str, Any]:
    defaults = aws_provider_of(run, record).inputs.get("defaultTags", {})
    return {**defaults.get("tags", {}), **record.inputs.get("tags", {})}


def children_of(run: Run, parent: Record) -> list[Record]:
    return [r for r in run.records if r.parent == parent.urn]


def make_record(name: str, type_: str, *, parent: str = "", custom: bool = True, **fields: Any) -> Record:
    """A hand-made recorded resource for tests of pure functions over runs (urn `<type>::<name>`)."""
    values: dict[str, Any] = {
        "remote": False,
        "provider": "",
        "providers": {},
        "inputs": {},
        "dependencies": [],
        "protect": False,
        "retain_on_delete": False,
    } | fields
    return Record(urn=f"{type_}::{name}", type=type_, name=name, parent=parent, custom=custom, **values)
