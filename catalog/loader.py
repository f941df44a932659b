"""`load_catalog(environment)`: every service of one environment, merged, checked and rendered.

Layers per service, later wins: the program's infra, env and services layers; services/defaults.conf;
the cluster file's `defaults`; services/apps/<name>.conf; the cluster file's `services.<name>`.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pyhocon import ConfigTree
from pyhocon.exceptions import ConfigException
from pyparsing import ParseBaseException

from .guards import MAX_DEPTH, secret_value_kind, text_problems
from .iam import escalations, resource_problems
from .layers import (
    CLUSTER,
    ENV_MARK,
    INFRA_FACTS,
    SECRET_ENV,
    Placement,
    env_layer,
    from_dict,
    infra_layer,
    leaves,
    literal_texts,
    lookup,
    merge,
    parse,
    resolve,
    section,
    services_layer,
    substitutions,
)
from .model import DNS_LABEL, Deploy
from .problems import MISSING, NOTHING, CatalogError, Problem
from .render import config_hash, render_application_conf

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("deploy", "app")  # what a defaults or service file may hold
CLUSTER_SECTIONS = ("defaults", "services")

_SECRET_KEY = re.compile(
    r"(?i)^(.*password|.*passwd|.*pwd|.*secret|.*token|.*dsn|.*api[-_]?key|.*access[-_]?key|.*private[-_]?key|.*credentials?|oauth.*|auth)$"
)


@dataclass(frozen=True)
class SecretEnv:
    """A pod environment variable filled from a key of a Secret in the apps namespace."""

    name: str
    secret: str
    key: str


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    source: str  # the service's file, relative to the repository root
    deploy: Deploy
    application_conf: str
    env: tuple[SecretEnv, ...]  # every variable application.conf substitutes
    uses: tuple[str, ...]  # infra endpoints its config names: its egress
    calls: tuple[str, ...]  # catalog services its config names: its egress, their ingress

    @property
    def public(self) -> bool:
        return self.deploy.public

    @property
    def hostname(self) -> str | None:
        return self.deploy.hostname

    @property
    def config_hash(self) -> str:
        return config_hash(self.application_conf)


@dataclass(frozen=True)
class Catalog:
    environment: str
    services: tuple[ServiceSpec, ...]

    def get(self, name: str) -> ServiceSpec:
        return next(s for s in self.services if s.name == name)

    def clients_of(self, name: str) -> tuple[str, ...]:
        """The services allowed to call `name`: those whose config names it."""
        return tuple(s.name for s in self.services if name in s.calls)


@dataclass
class _File:
    rel: str
    tree: ConfigTree


def load_catalog(environment: str, root: Path | None = None, placement: Placement = CLUSTER, account: str | None = None) -> Catalog:
    """Load, layer, check and render the catalog for one environment; raise CatalogError with every problem.

    `root` holds services/ (the repository by default); `placement` says where infra and services answer.
    `account` is the stack's AWS account: the only one a service's IAM statements may name (without it, none may)."""
    root = root or ROOT
    problems: list[Problem] = []
    if not re.fullmatch(DNS_LABEL, environment):
        # The stack's name picks its cluster layer file: never a path of its own.
        raise CatalogError([Problem("services/clusters", environment, NOTHING, "a stack name is a DNS label: a-z, 0-9 and -")])
    services_dir = root / "services"
    defaults = _read(root, services_dir / "defaults.conf", problems)
    cluster = _read(root, services_dir / "clusters" / f"{environment}.conf", problems)
    apps = {p.stem: _read(root, p, problems) for p in sorted((services_dir / "apps").glob("*.conf"))}
    if problems or defaults is None or cluster is None:
        raise CatalogError(problems)
    files = [defaults, cluster, *(f for f in apps.values() if f is not None)]
    names = list(apps)
    problems += _structure(defaults, cluster, apps)
    for file in files:
        problems += _secrets(file)

    program = [from_dict(infra_layer(environment, placement)), from_dict(env_layer())]
    cluster_defaults = section(cluster.tree, "defaults")
    cluster_services = section(cluster.tree, "services")
    specs: list[ServiceSpec] = []
    for name, app in apps.items():
        assert app is not None  # parse problems were raised above
        override = section(cluster_services, name)
        layers = [
            (defaults, defaults.tree, ""),
            (cluster, cluster_defaults, "defaults"),
            (app, app.tree, ""),
            (cluster, override, f"services.{name}"),
        ]
        # Only the services this one names: every service carrying every other's address would grow as N².
        peers = services_layer(sorted(_named_services([tree for _, tree, _ in layers]) & set(names)), placement)
        merged = merge([*program, from_dict(peers), *(tree for _, tree, _ in layers)])
        found = [p for file, tree, prefix in layers for p in _references(file, tree, prefix, merged, names)]
        if found:
            problems += found
            continue
        spec = _service(name, app, merged, problems)
        if spec is not None:
            problems += _aws_scope(spec, environment, account)
            specs.append(spec)
    if problems:
        raise CatalogError(list(dict.fromkeys(problems)))  # a shared layer's problem is reported once
    problems += _hostnames(specs)
    if problems:
        raise CatalogError(problems)
    return Catalog(environment, tuple(specs))


def _read(root: Path, path: Path, problems: list[Problem]) -> _File | None:
    rel = path.relative_to(root).as_posix()
    if not path.exists():
        problems.append(Problem(rel, "(file)", MISSING, "required file is missing"))
        return None
    if path.parent.name == "apps" and not re.match(DNS_LABEL, path.stem):
        problems.append(Problem(rel, "(file name)", path.stem, "a service name is a DNS label: a-z, 0-9 and -, at most 40 characters"))
        return None
    text = path.read_text()
    # Includes are performed while parsing: judged on the text, before pyhocon may follow them.
    unsafe = [Problem(rel, p.where, p.value, p.message) for p in text_problems(text, path, root / "services")]
    if unsafe:
        problems += unsafe
        return None
    try:
        tree = parse(text, str(path.parent))
    except ParseBaseException as err:
        # pyparsing's own message is a dump of its grammar: name the line instead.
        if not text[err.loc :].strip():
            message = "the file ends before every { and [ is closed: close them (or restore the truncated file)"
        else:
            message = f"malformed HOCON here: {err.line.strip()!r}; check the brackets, quotes and `=` on this line"
        problems.append(Problem(rel, f"line {err.lineno}, column {err.col}", NOTHING, message))
        return None
    except ConfigException as err:
        problems.append(Problem(rel, "(syntax)", NOTHING, f"malformed HOCON: {' '.join(str(err).split())}"))
        return None
    except RecursionError:
        problems.append(Problem(rel, "(nesting)", NOTHING, f"nested too deeply to read; at most {MAX_DEPTH} levels"))
        return None
    if (depth := _depth(tree)) > MAX_DEPTH:  # dotted keys (a.b.c = 1) nest without braces
        problems.append(Problem(rel, "(nesting)", depth, f"keys nest {depth} levels; at most {MAX_DEPTH}"))
        return None
    return _File(rel, tree)


def _depth(tree: ConfigTree) -> int:
    """How deep objects and lists nest, walked without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, ConfigTree) else node
        stack += [(c, depth + 1) for c in children if isinstance(c, ConfigTree | list)]
    return deepest


def _structure(defaults: _File, cluster: _File, apps: dict[str, _File | None]) -> list[Problem]:
    problems = [
        Problem(f.rel, str(key), NOTHING, f"unknown section; allowed: {', '.join(SECTIONS)}")
        for f in [defaults, *apps.values()]
        if f is not None
        for key in f.tree
        if key not in SECTIONS
    ]
    problems += [
        Problem(cluster.rel, str(key), NOTHING, f"unknown section; allowed: {', '.join(CLUSTER_SECTIONS)}")
        for key in cluster.tree
        if key not in CLUSTER_SECTIONS
    ]
    problems += [
        Problem(cluster.rel, key, NOTHING, "must be an object: { ... }")
        for key in CLUSTER_SECTIONS
        if key in cluster.tree and not isinstance(dict.get(cluster.tree, key), ConfigTree)
    ]
    problems += [
        Problem(cluster.rel, f"services.{name}", NOTHING, f"unknown service; services: {', '.join(apps)}")
        for name in section(cluster.tree, "services")
        if name not in apps
    ]
    # Exposure is the service's own decision, reviewed with its code: no shared or cluster layer makes it.
    shared = [(defaults, "deploy.edgeFacing"), (cluster, "defaults.deploy.edgeFacing")]
    shared += [(cluster, f"services.{name}.deploy.edgeFacing") for name in section(cluster.tree, "services")]
    problems += [
        Problem(f.rel, key, NOTHING, "edgeFacing is declared only in the service's own file (services/apps/<name>.conf)")
        for f, key in shared
        if lookup(f.tree, key)
    ]
    return problems


def _secrets(file: _File) -> list[Problem]:
    """A secret never lives in a HOCON file: it reaches the pod from a Kubernetes Secret as ${env.NAME}."""
    hint = "looks like a secret written into the catalog{}; reference a Secret instead: ${{env.NAME}} with NAME one of " + ", ".join(
        sorted(SECRET_ENV)
    )
    problems = []
    for path, value in leaves(file.tree):
        key = path.rsplit(".", 1)[-1]
        texts = [t for t in literal_texts(value) if t.strip()]
        from_env = any(s.variable.startswith("env.") for s in substitutions(value))
        kind = secret_value_kind("".join(texts))  # a concatenation's pieces read as one value
        if kind:
            problems.append(Problem(file.rel, path, "[redacted]", hint.format(f" ({kind})")))
        elif _SECRET_KEY.match(key) and texts and not from_env:
            problems.append(Problem(file.rel, path, "[redacted]", hint.format("")))
    return problems


def _aws_scope(spec: ServiceSpec, environment: str, account: str | None) -> list[Problem]:
    """The service's IAM statements grant only this stack's resources and no path to more privilege."""
    problems = []
    for i, statement in enumerate(spec.deploy.aws):
        where = f"deploy.aws[{i}]"
        for action in statement.actions:
            if found := escalations(action):
                shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
                problems.append(
                    Problem(spec.source, f"{where}.actions", action, f"grants privilege escalation ({shown}); never in a service role")
                )
        for arn in statement.resources:
            problems += [
                Problem(spec.source, f"{where}.resources", arn, message) for message in resource_problems(arn, environment, account)
            ]
    return problems


def _named_services(trees: list[ConfigTree]) -> set[str]:
    return {
        sub.variable.split(".")[1]
        for tree in trees
        for _, value in leaves(tree)
        for sub in substitutions(value)
        if sub.variable.startswith("services.") and sub.variable.count(".") >= 1
    }


def _references(file: _File, tree: ConfigTree, prefix: str, merged: ConfigTree, services: list[str]) -> list[Problem]:
    """Every substitution must land inside the merged tree; anything else pyhocon would read from Pulumi's own environment."""
    problems = []
    for path, value in leaves(tree, prefix):
        for sub in substitutions(value):
            if lookup(merged, sub.variable):
                continue
            root, _, rest = sub.variable.partition(".")
            known = section(merged, root)
            if root == "services":
                message = f"reference to an unknown service; services: {', '.join(services)}"
            elif root == "infra":
                endpoints = [k for k, v in known.items() if isinstance(v, ConfigTree)]
                message = (
                    "reference to an unknown endpoint; infra provides environment, namespace, logOutput and "
                    f"<endpoint>.host, .port, .scheme, .url for endpoint one of {', '.join(endpoints)}"
                )
            elif root == "env":
                message = f"reference to an unknown pod environment variable; env provides: {', '.join(known)}"
            else:
                message = (
                    "reference to nothing in the catalog (pyhocon would read it from the environment of the process running Pulumi); "
                    "use ${infra.*}, ${services.*}, ${env.*} or a key of this service"
                )
            problems.append(Problem(file.rel, path, "${" + ("?" if sub.optional else "") + sub.variable + "}", message))
    return problems


def _service(name: str, app: _File, merged: ConfigTree, problems: list[Problem]) -> ServiceSpec | None:
    # What the config names decides the network: read before resolving replaces substitutions by values.
    named: dict[str, set[str]] = {"infra": set(), "services": set()}
    for _, value in leaves(merged):
        for sub in substitutions(value):
            root, _, rest = sub.variable.partition(".")
            if root in named and rest:
                named[root].add(rest.split(".")[0])
    try:
        resolved = resolve(merged)
    except ConfigException as err:
        problems.append(Problem(app.rel, "(substitution)", NOTHING, str(err)))
        return None
    try:
        deploy = Deploy.model_validate(_plain(section(resolved, "deploy")))
    except ValidationError as err:
        for e in err.errors():
            path = ".".join(["deploy", *(str(p) for p in e["loc"])])
            value = MISSING if e["type"] == "missing" else e.get("input", NOTHING)
            message = "required key is missing" if e["type"] == "missing" else e["msg"].removeprefix("Value error, ")
            if e["type"] == "string_type" and isinstance(value, int | float | timedelta):
                value, message = _unquoted(value)
            problems.append(Problem(app.rel, path, NOTHING if isinstance(value, dict) else value, message))
        return None
    app_tree = section(resolved, "app")
    variables = dict.fromkeys(v for _, leaf in leaves(app_tree) if isinstance(leaf, str) for v in ENV_MARK.findall(leaf))
    return ServiceSpec(
        name=name,
        source=app.rel,
        deploy=deploy,
        application_conf=render_application_conf(app_tree, app.rel),
        env=tuple(SecretEnv(v, *SECRET_ENV[v]) for v in variables),
        uses=tuple(sorted(named["infra"] - INFRA_FACTS)),
        calls=tuple(sorted(named["services"] - {name})),
    )


def _unquoted(value: float | timedelta) -> tuple[str, str]:
    """HOCON reads an unquoted `250m` as a duration (250 minutes) and `1` as a number; a quantity is text."""
    if isinstance(value, timedelta):
        minutes = value.total_seconds() / 60
        return f"{minutes:g}m", f'unquoted, HOCON reads this as a duration ({minutes:g} minutes): quote it, e.g. "{minutes:g}m"'
    return f"{value:g}", f'unquoted, HOCON reads this as a number: quote it, e.g. "{value:g}"'


def _plain(value: Any) -> Any:
    if isinstance(value, ConfigTree):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _hostnames(specs: list[ServiceSpec]) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for spec in specs:
        if spec.hostname is not None:
            if spec.hostname in seen:
                problems.append(Problem(spec.source, "deploy.hostname", spec.hostname, f"already the hostname of {seen[spec.hostname]}"))
            seen.setdefault(spec.hostname, spec.name)
    return problems
