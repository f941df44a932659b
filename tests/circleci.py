"""Reads `.circleci/config.yml` as CircleCI runs it: workflow entries by name, each job's steps with its
commands expanded and its parameters filled in, and what a job that runs `pulumi` lacks."""

import re
from functools import cache
from typing import Any

import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from jsonschema import Draft7Validator

from offline.stackfile import ROOT
from settings import AWS_STACKS as PROJECT_STACKS

CONFIG = ROOT / ".circleci" / "config.yml"
STACKS: tuple[str, ...] = PROJECT_STACKS  # one per AWS stack file: CI previews and deploys each

Config = dict[str, Any]

_PARAMETER = re.compile(r"<<\s*(pipeline\.parameters|parameters|matrix)\.([\w-]+)\s*>>")
# A `pulumi` invocation (not get.pulumi.com, ~/.pulumi/bin or a pulumi-* name): the subcommand is group 1.
PULUMI_CALL = re.compile(r"(?<![\w./$-])pulumi ([a-z][\w-]*)")


@cache
def _loaded() -> Config:
    return yaml.safe_load(CONFIG.read_text())


def config() -> Config:
    return _loaded()


def schema_errors(cfg: Config) -> list[str]:
    """CircleCI's published config schema, as check-jsonschema vendors it (no network)."""
    validator = Draft7Validator(get_builtin_schema("vendor.circle-ci"))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(cfg)]


def workflow_jobs(cfg: Config) -> dict[str, dict[str, Any]]:
    """Workflow entries by the name they run under (matrix entries expanded), each with its job key as `job`."""
    jobs: dict[str, dict[str, Any]] = {}
    for entry in cfg["workflows"]["delivery"]["jobs"]:
        key, spec = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
        matrix = (spec or {}).get("matrix", {}).get("parameters", {})
        for stack in matrix.get("stack", [None]):
            name = (spec or {}).get("name", key).replace("<< matrix.stack >>", str(stack))
            jobs[name] = {**(spec or {}), "job": key, **({"stack": stack} if stack else {})}
    return jobs


def _fill(value: Any, params: dict[str, Any], pipeline: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _PARAMETER.sub(lambda m: str((pipeline if m[1] == "pipeline.parameters" else params).get(m[2], m[0])), value)
    if isinstance(value, list):
        return [_fill(v, params, pipeline) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, params, pipeline) for k, v in value.items()}
    return value


def _defaults(declared: dict[str, Any] | None) -> dict[str, Any]:
    return {name: spec.get("default") for name, spec in (declared or {}).items()}


def _expand(cfg: Config, steps: list[Any], params: dict[str, Any], pipeline: dict[str, Any]) -> list[Any]:
    expanded: list[Any] = []
    for step in steps:
        name, args = (step, {}) if isinstance(step, str) else next(iter(step.items()))
        command = cfg.get("commands", {}).get(name)
        if command is None:
            expanded.append(_fill(step, params, pipeline))
            continue
        inner = {**_defaults(command.get("parameters")), **_fill(args or {}, params, pipeline)}
        expanded.extend(_expand(cfg, command["steps"], inner, pipeline))
    return expanded


def job_steps(cfg: Config, name: str) -> list[Any]:
    """The steps workflow entry `name` runs, commands expanded and every parameter filled in."""
    spec = workflow_jobs(cfg)[name]
    job = cfg["jobs"][spec["job"]]
    declared = job.get("parameters") or {}
    params = {**_defaults(declared), **{k: v for k, v in spec.items() if k in declared}}
    return _expand(cfg, job["steps"], params, _defaults(cfg.get("parameters")))


def shell(step: Any) -> str:
    """The shell of a `run` step ("" for any other step), without comment lines' text."""
    if not (isinstance(step, dict) and "run" in step):
        return ""
    run = step["run"]
    text = run if isinstance(run, str) else run["command"]
    return re.sub(r"(^|\s)#[^\n]*", r"\1", text)


def runs(cfg: Config, name: str) -> list[str]:
    return [text for text in map(shell, job_steps(cfg, name)) if text]


def pulumi_jobs(cfg: Config) -> list[str]:
    return [name for name in workflow_jobs(cfg) if "job" in workflow_jobs(cfg)[name] and _runs_pulumi(cfg, name)]


def _runs_pulumi(cfg: Config, name: str) -> bool:
    spec = workflow_jobs(cfg)[name]
    return spec.get("type") != "approval" and any(PULUMI_CALL.search(text) for text in runs(cfg, name))


def pinned_sdk() -> str:
    match = re.search(r"^pulumi==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert match, "requirements.txt pins no pulumi"
    return match[1]


def missing(cfg: Config, name: str) -> list[str]:
    """What workflow job `name`, which runs `pulumi`, lacks of what `pulumi preview` and `pulumi up` need."""
    spec = workflow_jobs(cfg)[name]
    stack = spec.get("stack")
    texts = runs(cfg, name)
    first = next(i for i, text in enumerate(texts) if PULUMI_CALL.search(text))
    before = "\n".join(texts[:first])
    calls = [(m[1], line) for text in texts for line in text.splitlines() for m in [PULUMI_CALL.search(line)] if m]
    lacks: list[str] = []
    cli = re.search(r"get\.pulumi\.com \| sh -s -- --version (\S+)", before)
    if not cli or cli[1] != pinned_sdk():
        lacks.append(f"the Pulumi CLI pinned to the SDK's version {pinned_sdk()}")
    if not re.search(r"awscli-exe-linux-x86_64-2\.\d+\.\d+\.zip", before) or "/aws/install" not in before:
        lacks.append("AWS CLI v2 at a pinned version")
    contexts = spec.get("context") or []
    contexts = [contexts] if isinstance(contexts, str) else contexts
    role = re.search(r"delivery\.ci_role (\S+) (deploy|preview)", before)
    purpose = role[2] if role else None
    own_context = {"deploy": f"insight-{stack}", "preview": f"insight-preview-{stack}"}.get(purpose or "")
    if not role or role[1] != stack or "CIRCLE_OIDC_TOKEN_V2" not in before or "AWS_WEB_IDENTITY_TOKEN_FILE" not in before:
        lacks.append(f"the {stack} account's own role, assumed with the job's OIDC token")
    elif own_context not in contexts:
        lacks.append(f"the context {own_context} (the OIDC token and the stack's backend settings)")
    logins = [line for command, line in calls if command == "login"]
    if not logins or any('pulumi login "$PULUMI_BACKEND_URL"' not in line for line in logins):
        lacks.append('`pulumi login "$PULUMI_BACKEND_URL"` before any preview or update')
    script = "\n".join(texts)
    for variable in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        guard = script.find(f"${{{variable}:?")
        if guard < 0 or guard > script.find("pulumi login"):
            lacks.append(f"a stop naming {variable} when the context lacks it, before `pulumi login`")
    if "make policy-pack" not in before:
        lacks.append("the policy pack's virtualenv (make policy-pack)")
    for command, line in calls:
        if command in ("preview", "up") and "--policy-pack policy" not in line:
            lacks.append(f"--policy-pack policy on `pulumi {command}`")
        on_stack = f"--stack {stack}" in line.replace('"$stack"', str(stack)) or f"pulumi stack select {stack}" in script
        if command in ("preview", "up") and not on_stack:
            lacks.append(f"`pulumi {command}` on the stack {stack}")
    return lacks


# Tools a job may run that the cimg/python executor lacks, and how each is installed: a pinned release, checked.
TOOL_INSTALLS = {
    "gh": re.compile(
        r"github\.com/cli/cli/releases/download/v(\d+\.\d+\.\d+)\b[\s\S]*sha256sum -c[\s\S]*gh --version \| grep -q '\^gh version \1 '"
    ),
}


def calls_tool(tool: str, text: str) -> bool:
    """`tool <subcommand>` as a command: at a line's start or after &&, ; or a pipe (not inside a word or a string)."""
    return re.search(rf"(?m)(?:^|&&|;|\|)\s*{tool} [a-z]", text) is not None


def tools_missing(cfg: Config, name: str) -> list[str]:
    """The tools of TOOL_INSTALLS that workflow job `name` runs without installing them, pinned, before."""
    texts = runs(cfg, name)
    lacks = []
    for tool, install in TOOL_INSTALLS.items():
        first = next((i for i, text in enumerate(texts) if calls_tool(tool, text)), None)
        if first is not None and not install.search("\n".join(texts[:first])):
            lacks.append(f"{tool} at a pinned version, checksum-verified, before its first use")
    return lacks
