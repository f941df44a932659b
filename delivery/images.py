"""Which image CI builds and pushes for each catalog service, and where: the stack's own ECR registry, in
the repository components.registry declares for the service, tagged with the release version the stack will run.

`python -m delivery.images <stack> <version>` prints `<service> <image reference>` per line for CI's loop.
"""

import argparse
import sys

from catalog import CatalogError, load_catalog
from components.aws.registry import repository_name
from offline.stackfile import read_stack_file
from settings import PROJECT
from settings.tiers import stack_tier

from .release import ReleaseError, check_version_for_tier, parse_version


def registry(account_id: str, region: str) -> str:
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com"


def image_refs(environment: str, services: list[str], registry_host: str, version: str) -> dict[str, str]:
    return {name: f"{registry_host}/{repository_name(environment, name)}:{version}" for name in sorted(services)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.images", description=__doc__)
    parser.add_argument("stack")
    parser.add_argument("version", help="the release version, e.g. 1.4.1-SNAPSHOT.812")
    args = parser.parse_args(argv)
    try:
        check_version_for_tier(stack_tier(args.stack), parse_version(args.version))
        services = [s.name for s in load_catalog(args.stack).services]
    except (ReleaseError, CatalogError) as err:
        print(f"images: {err}", file=sys.stderr)
        return 2
    stack_file = read_stack_file(args.stack)
    host = registry(str(stack_file.raw(f"{PROJECT}:accountId")), str(stack_file.raw("aws:region")))
    for name, ref in image_refs(args.stack, services, host, args.version).items():
        print(name, ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
