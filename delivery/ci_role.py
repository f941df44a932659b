"""The AWS role a CI job assumes for a stack: one per stack and purpose, in the stack's own account.

Each stack's AWS provider accepts only the account in its `insight:accountId`, so the role is named from that
stack file and never shared between stacks. `deploy` runs `pulumi up`; `preview` is read-only, for the pull
request previews. Both trust the CircleCI organisation's OIDC provider (README "Delivery").

`python -m delivery.ci_role <stack> <deploy|preview>` prints the role ARN for CI's `aws-identity` step.
"""

import argparse
import sys

from offline.stackfile import read_stack_file
from settings import PROJECT, STACKS, ConfigError

PURPOSES = ("deploy", "preview")


def role_arn(account_id: str, purpose: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{PROJECT}-ci-{purpose}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.ci_role", description=__doc__)
    parser.add_argument("stack", choices=STACKS)
    parser.add_argument("purpose", choices=PURPOSES)
    args = parser.parse_args(argv)
    try:
        account = read_stack_file(args.stack).raw(f"{PROJECT}:accountId")
    except ConfigError as err:
        print(err.render(), file=sys.stderr)
        return 2
    if not (isinstance(account, str) and len(account) == 12 and account.isdigit()):
        print(f"Pulumi.{args.stack}.yaml: {PROJECT}:accountId = {account!r}: must be a 12-digit AWS account id", file=sys.stderr)
        return 2
    print(role_arn(account, args.purpose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
