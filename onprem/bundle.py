"""`make compose [RELEASE=x.y.z]`: write the one-host bundle to build/compose/ and pack it as a tarball.

    python -m onprem.bundle [--release x.y.z] [--out build/compose]

The release defaults to the one in Pulumi.onprem.yaml. Exit 2 on a bad setting or catalog (one line each).
"""

import argparse
import sys
import tarfile
from pathlib import Path

from catalog import Catalog, CatalogError, load_catalog
from offline.stackfile import ROOT, read_stack_file
from settings import PROJECT, ConfigError, OnpremStackConfig, parse_stack_config
from settings.onprem import ONPREM, check_onprem_release
from settings.release import ReleaseConfig

from .compose import Bundle, bundle, compose_placement


def onprem_settings(root: Path = ROOT) -> OnpremStackConfig:
    """The onprem stack file's settings, validated exactly as `pulumi up -s onprem` validates them."""
    stack_file = read_stack_file(ONPREM, root)
    prefix = f"{PROJECT}:"
    sections = {
        k.removeprefix(prefix): stack_file.raw(k) for k in stack_file.config if k.startswith(prefix) and k not in stack_file.secret_keys
    }
    cfg = parse_stack_config(ONPREM, None, sections, f"Pulumi.{ONPREM}.yaml")
    assert isinstance(cfg, OnpremStackConfig)  # the onprem tier always parses into its own model
    return cfg


def compose_catalog(root: Path = ROOT) -> Catalog:
    """The onprem catalog with Compose addresses; each service's port is its own, read from the same layers."""
    ports = {s.name: s.deploy.port for s in load_catalog(ONPREM, root).services}
    return load_catalog(ONPREM, root, compose_placement(ports))


def build_bundle(release: str | None = None, root: Path = ROOT) -> Bundle:
    cfg = onprem_settings(root)
    version = release or cfg.release.version
    problems = list(check_onprem_release(ReleaseConfig(version=version)))
    if problems:
        raise ConfigError("RELEASE", problems)
    return bundle(cfg, compose_catalog(root), version)


def write_bundle(result: Bundle, out: Path) -> Path:
    """The files under `out`, and `insight-onprem-<version>.tar.gz` beside them holding the same files."""
    for path, text in result.files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (out / "certs").mkdir(exist_ok=True)  # the operator puts insight.pem (certificate chain and key) here
    version = result.files["VERSION"].strip()
    folder = f"insight-onprem-{version}"
    archive = out / f"{folder}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(result.files):
            tar.add(out / path, arcname=f"{folder}/{path}")
        tar.add(out / "certs", arcname=f"{folder}/certs", recursive=False)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onprem.bundle", description=__doc__)
    parser.add_argument("--release", help="x.y.z (default: the release in Pulumi.onprem.yaml)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "compose")
    args = parser.parse_args(argv)
    try:
        result = build_bundle(args.release or None)
    except ConfigError as err:
        print(err.render(), file=sys.stderr)
        return 2
    except CatalogError as err:
        print(err.render(), file=sys.stderr)
        return 2
    for stale in args.out.glob("insight-onprem-*.tar.gz"):
        stale.unlink()
    archive = write_bundle(result, args.out)
    print(f"compose bundle {result.files['VERSION'].strip()}: {len(result.compose['services'])} services -> {args.out}, {archive.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
