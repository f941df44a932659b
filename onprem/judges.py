"""What a Compose bundle must satisfy to start on one host; each judge returns one line per problem.

Pure functions over the bundle's files (as written to build/compose/), so a test plants a fault in a copy and
watches the judge name it. The Compose Specification's structure is kept in schemas/compose-spec/.
"""

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from pyhocon import ConfigFactory, ConfigTree

from catalog import SECRET_ENV

from .compose import PLATFORM_SECRETS, dependency_edges

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "compose-spec"
URL = re.compile(r"[a-z][a-z0-9+.-]*://([A-Za-z0-9_.-]+):(\d+)")
SERVER_LINE = re.compile(r"^\s*server\s+\S+\s+([A-Za-z0-9_.-]+):(\d+)", re.MULTILINE)
VARIABLE = re.compile(r"^\$\{([A-Z0-9_]+):\?[^}]*\}$")


@cache
def compose_schema() -> dict[str, Any]:
    (path,) = SCHEMAS.glob("*/compose-spec.json")  # one derived version in the repository
    return json.loads(path.read_text())["schema"]


def schema_problems(compose: Mapping[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(compose_schema())
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}" for e in validator.iter_errors(compose)]


def missing_services(compose: Mapping[str, Any], catalog_services: Iterable[str]) -> list[str]:
    return [f"catalog service {name} is not in the Compose file" for name in catalog_services if name not in compose["services"]]


def exposed(compose: Mapping[str, Any]) -> dict[str, set[int]]:
    """Ports each service listens on for the others: `expose` and the container side of `ports`."""
    ports: dict[str, set[int]] = {}
    for name, service in compose["services"].items():
        found = {int(p) for p in service.get("expose", [])}
        found |= {int(p["target"]) for p in service.get("ports", []) if isinstance(p, dict)}
        ports[name] = found
    return ports


def _hocon_addresses(tree: ConfigTree) -> Iterator[tuple[str, int]]:
    host, port = dict.get(tree, "host"), dict.get(tree, "port")
    if isinstance(host, str):
        yield host, port if isinstance(port, int) else -1
    for value in tree.values():
        if isinstance(value, ConfigTree):
            yield from _hocon_addresses(value)
        elif isinstance(value, str):
            yield from ((h, int(p)) for h, p in URL.findall(value))


def config_addresses(path: str, text: str) -> Iterator[tuple[str, int]]:
    """Every (host, port) a rendered config names, read the way its consumer reads it."""
    if path.endswith(".conf") and "/services/" in path:
        tree: Any = ConfigFactory.parse_string(text, resolve=False)
        yield from _hocon_addresses(tree)
        return
    if path.endswith("prometheus.yml"):
        for job in yaml.safe_load(text)["scrape_configs"]:
            for group in job["static_configs"]:
                for target in group["targets"]:
                    host, _, port = target.rpartition(":")
                    yield host, int(port)
        return
    yield from ((h, int(p)) for h, p in [*URL.findall(text), *SERVER_LINE.findall(text)])


def unresolved_addresses(compose: Mapping[str, Any], configs: Mapping[str, str]) -> list[str]:
    """Every host a config or an environment value names is a Compose service, on a port it exposes."""
    ports = exposed(compose)
    sources: list[tuple[str, str]] = list(configs.items())
    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        sources += [(f"docker-compose.yml services.{name}.environment.{k}", str(v)) for k, v in environment.items()]
    problems = []
    for where, text in sources:
        for host, port in config_addresses(where, text):
            if host not in ports:
                problems.append(f"{where}: host {host} is no Compose service")
            elif port not in ports[host]:
                problems.append(f"{where}: {host}:{port} is not a port {host} exposes ({', '.join(map(str, sorted(ports[host])))})")
    return problems


LONG_RUNNING_RESTARTS = ("always", "unless-stopped")


def is_one_shot(service: Mapping[str, Any]) -> bool:
    """A one-shot service runs to completion: restart `on-failure` (optionally `:<max retries>`) has Docker restart it
    only after a non-zero exit, so its exit 0 ends it. A long-running service restarts `always` or `unless-stopped`."""
    return str(service.get("restart", "")).split(":")[0] == "on-failure"


def dependency_problems(compose: Mapping[str, Any]) -> list[str]:
    """depends_on waits for a long-running service healthy (it has a healthcheck) or for a one-shot service to
    complete successfully (anything else never completes), and has no cycle."""
    services = compose["services"]
    problems = []
    for name, dependency in dependency_edges(compose):
        condition = services[name]["depends_on"][dependency].get("condition")
        if dependency not in services:
            problems.append(f"{name} depends on {dependency}, which is no service")
        elif condition == "service_completed_successfully":
            if not is_one_shot(services[dependency]):
                problems.append(f"{name} waits for {dependency} to complete, which is no one-shot service (restart on-failure)")
        elif condition != "service_healthy":
            problems.append(f"{name} depends on {dependency} without condition service_healthy or service_completed_successfully")
        elif "healthcheck" not in services[dependency]:
            problems.append(f"{name} depends on {dependency}, which has no healthcheck")
    cycle = find_cycle({n: set(s.get("depends_on", {})) for n, s in services.items()})
    if cycle:
        problems.append(f"dependency cycle: {' -> '.join(cycle)}")
    return problems


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """A path that returns to its start, or None when the graph is acyclic (depth-first, three colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def shape_problems(compose: Mapping[str, Any]) -> list[str]:
    """Every long-running service: a healthcheck and a restart policy that brings it back; a one-shot service: no
    healthcheck (it exits; nothing waits for it healthy). Every service: CPU and memory limits; only the edge is published."""
    problems = []
    for name, service in compose["services"].items():
        if is_one_shot(service):
            if "healthcheck" in service:
                problems.append(
                    f"{name} is one-shot (restart on-failure) but has a healthcheck; a long-running service restarts unless-stopped"
                )
        else:
            if "healthcheck" not in service:
                problems.append(f"{name} has no healthcheck")
            if service.get("restart") not in LONG_RUNNING_RESTARTS:
                problems.append(f"{name} has no restart policy that brings it back")
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        if not {"cpus", "memory"} <= set(limits):
            problems.append(f"{name} has no CPU and memory limits")
        if service.get("ports") and name != "edge":
            problems.append(f"{name} publishes host ports; only the edge is reachable from outside the host")
    return problems


def secret_names() -> set[str]:
    return {*PLATFORM_SECRETS, *SECRET_ENV}


def secret_problems(compose: Mapping[str, Any], files: Mapping[str, str], stand_ins: Iterable[str]) -> list[str]:
    """No secret value anywhere: secrets only as `${NAME:?...}` from .env, and no known stand-in in any file."""
    problems = []
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            reference = VARIABLE.match(str(value))
            if key in secret_names() and not (reference and reference.group(1) in secret_names()):
                problems.append(f"services.{name}.environment.{key}: a secret written as a value; reference it as ${{{key}:?...}}")
    for path, text in files.items():
        problems += [f"{path}: holds the secret stand-in {s}" for s in stand_ins if s in text]
        if path == ".env.example":
            problems += [
                f".env.example: {line.split('=')[0]} has a value" for line in text.splitlines() if re.match(r"^[A-Z0-9_]+=.+", line)
            ]
    return problems
