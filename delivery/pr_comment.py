"""Post a file as the pull request comment of one key (e.g. `offline-diff-prod`), editing the earlier comment
of that key instead of adding another, so a pull request carries one current comment per stack.

`python -m delivery.pr_comment <key> <file> [--code]` in CircleCI: the pull request comes from
CIRCLE_PULL_REQUEST, the token from GITHUB_TOKEN; without either it prints why and posts nothing.
"""

import argparse
import json
import os
import re
import sys
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

API = "https://api.github.com"
LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
Api = Callable[[str, str, dict[str, Any] | None], Any]


def marker(key: str) -> str:
    return f"<!-- insight-pr-comment:{key} -->"


def pull_request(url: str) -> tuple[str, int]:
    """`https://github.com/insightio/platform/pull/42` -> ("insightio/platform", 42)."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)/pull/(\d+)", url.strip())
    if match is None:
        raise ValueError(f"not a GitHub pull request URL: {url!r}")
    return match[1], int(match[2])


def comment_body(key: str, text: str, code: bool = False, artifacts: str = "") -> str:
    if len(text) > LIMIT:
        where = f" (whole file: {artifacts})" if artifacts else ""
        text = text[:LIMIT] + f"\n\n... cut at {LIMIT} characters{where}"
    if code:
        text = f"```diff\n{text}\n```"
    return f"{marker(key)}\n{text}"


def upsert_comment(api: Api, repo: str, number: int, key: str, body: str) -> str:
    """Edit this key's comment if there is one, else add it; returns what was done."""
    comments = api("GET", f"/repos/{repo}/issues/{number}/comments?per_page=100", None)
    mine = [c for c in comments if c.get("body", "").startswith(marker(key))]
    if mine:
        api("PATCH", f"/repos/{repo}/issues/comments/{mine[0]['id']}", {"body": body})
        return "updated"
    api("POST", f"/repos/{repo}/issues/{number}/comments", {"body": body})
    return "added"


def github(token: str) -> Api:
    def call(method: str, path: str, payload: dict[str, Any] | None) -> Any:
        request = urllib.request.Request(
            API + path,
            method=method,
            data=None if payload is None else json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    return call


def post(key: str, body: str, environ: Mapping[str, str], api: Api | None = None) -> str:
    """Post `body` as this key's comment on the build's pull request; returns the line that says what happened."""
    url, token = environ.get("CIRCLE_PULL_REQUEST", ""), environ.get("GITHUB_TOKEN", "")
    if not url or not token:
        return f"{key}: not posted ({'no pull request' if not url else 'no GITHUB_TOKEN'})"
    repo, number = pull_request(url)
    return f"{key}: {upsert_comment(api or github(token), repo, number, key, body)} on {url}"


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None, api: Api | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.pr_comment", description=__doc__)
    parser.add_argument("key", help="one comment per key, e.g. offline-diff-prod")
    parser.add_argument("file", type=Path)
    parser.add_argument("--code", action="store_true", help="show the file as a diff code block (pulumi preview --diff output)")
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    body = comment_body(args.key, args.file.read_text(), args.code, env.get("CIRCLE_BUILD_URL", ""))
    print(post(args.key, body, env, api))
    return 0


if __name__ == "__main__":
    sys.exit(main())
