"""Checks on a catalog file's raw text and values, made before pyhocon acts on them.

pyhocon performs `include` while parsing (a URL include is fetched with no timeout) and recurses on
nesting, so includes, nesting depth and the renderer's internal markers are judged on the text first.
"""

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_DEPTH = 24  # the deepest real file nests 6 levels; pyparsing recurses per level
MAX_INCLUDES = 16  # a chain of includes inside services/ (also stops include cycles)
MARKERS = ("\u27e6", "\u27e7")  # the renderer's env markers (catalog/layers.py): never written by hand

# `include "x"`, `include file("x")`, `include required(url("x"))`, ... as pyhocon's grammar reads them.
_DIRECTIVE = re.compile(r'(?i)include\s*(?=["(]|(?:required|url|file|package|classpath)\s*\()')
_INCLUDE = re.compile(
    r'(?i)include\s*(?:required\s*\(\s*)?(?:(?P<kind>url|file|package|classpath)\s*\(\s*)?"(?P<target>(?:[^"\\\n]|\\.)*)"'
)
_WORD = re.compile(r"(?i)include")
_WORD_BEFORE = re.compile(r"[\w.-]")


@dataclass(frozen=True)
class TextProblem:
    where: str  # "line N" or a key-ish label
    value: object
    message: str


def _line(text: str, pos: int) -> str:
    return f"line {text.count(chr(10), 0, pos) + 1}"


def _code_spans(text: str) -> Iterator[tuple[int, int]]:
    """The parts of the text outside quoted strings and comments, as (start, end)."""
    pos, start, n = 0, 0, len(text)
    while pos < n:
        if text.startswith('"""', pos):
            yield start, pos
            end = text.find('"""', pos + 3)
            pos = start = n if end < 0 else end + 3
        elif text[pos] == '"':
            yield start, pos
            end = pos + 1
            while end < n and text[end] not in '"\n':
                end += 2 if text[end] == "\\" else 1
            pos = start = min(end + 1, n)
        elif text[pos] == "#" or text.startswith("//", pos):
            yield start, pos
            end = text.find("\n", pos)
            pos = start = n if end < 0 else end
        else:
            pos += 1
    yield start, n


def nesting_depth(text: str) -> int:
    depth = deepest = 0
    for start, end in _code_spans(text):
        for char in text[start:end]:
            if char in "{[":
                depth += 1
                deepest = max(deepest, depth)
            elif char in "}]":
                depth = max(depth - 1, 0)
    return deepest


def includes(text: str) -> Iterator[tuple[int, str | None, str | None]]:
    """(position, kind, target) of every include directive; kind and target are None when it is not one we can read."""
    for start, end in _code_spans(text):
        for word in _WORD.finditer(text, start, end):
            if (word.start() and _WORD_BEFORE.match(text[word.start() - 1])) or not _DIRECTIVE.match(text, word.start()):
                continue  # part of a longer word (`noinclude`), or a plain value
            full = _INCLUDE.match(text, word.start())
            yield (word.start(), full["kind"], full["target"]) if full else (word.start(), None, None)


def text_problems(text: str, path: Path, catalog_dir: Path, seen: tuple[Path, ...] = ()) -> list[TextProblem]:
    """Includes that leave `catalog_dir` or reach the network, too deep nesting, hand-written markers."""
    problems: list[TextProblem] = []
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        problems.append(TextProblem("(nesting)", depth, f"objects and lists nest {depth} levels; at most {MAX_DEPTH}"))
    for marker in MARKERS:
        if (pos := text.find(marker)) >= 0:
            problems.append(
                TextProblem(
                    _line(text, pos), marker, "the catalog's internal placeholder cannot be written; use ${env.NAME} for pod variables"
                )
            )
    for pos, kind, target in includes(text):
        where = _line(text, pos)
        if target is None:
            problems.append(TextProblem(where, "include", 'unreadable include; only include "<file under services/>" is allowed'))
        elif (kind or "file").lower() != "file" or re.match(r"(?i)^[a-z][a-z0-9+.-]*://", target):
            # pyhocon reads `include "http://..."` as a URL too.
            problems.append(
                TextProblem(
                    where, f"include {kind or ''}", "the catalog never reaches the network or packages: include files under services/ only"
                )
            )
        else:
            problems += _file_include(where, target, path, catalog_dir, seen)
    return problems


def _file_include(where: str, target: str, path: Path, catalog_dir: Path, seen: tuple[Path, ...]) -> list[TextProblem]:
    included = (path.parent / target).resolve()
    if not included.is_relative_to(catalog_dir.resolve()):
        return [TextProblem(where, f"include {target}", "an include must stay inside services/")]
    if included in seen or len(seen) >= MAX_INCLUDES:
        return [TextProblem(where, f"include {target}", f"includes loop or chain deeper than {MAX_INCLUDES}")]
    if not included.is_file():
        return [TextProblem(where, f"include {target}", "included file does not exist")]
    nested = text_problems(included.read_text(), included, catalog_dir, (*seen, included))
    return [TextProblem(where, f"include {target}", f"in the included file: {p.where}: {p.message}") for p in nested]


# Secrets judged by value: whatever the key is called.
_TOKEN_SHAPES = re.compile(
    r"AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}"  # AWS access keys
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|glpat-[A-Za-z0-9_-]{20}"  # GitLab
    r"|sk_live_[A-Za-z0-9]{16,}|rk_live_[A-Za-z0-9]{16,}"  # Stripe
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}"  # JWTs
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
)
_URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s@]+@", re.IGNORECASE)  # user:pass@ or a DSN's key@
_DIGEST_PREFIX = re.compile(r"(sha256|sha512):$")  # image and content digests are public
_CANDIDATE = re.compile(r"[A-Za-z0-9+/=_.~-]{24,}")
MIN_ENTROPY_BITS = 3.5  # bits per character; English words and paths stay well below, keys and tokens above


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def _random_looking(token: str) -> bool:
    classes = sum(bool(re.search(p, token)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes >= 2 and _entropy(token) >= MIN_ENTROPY_BITS


def secret_value_kind(text: str) -> str | None:
    """What kind of secret the text carries, or None."""
    if _URL_CREDENTIALS.search(text):
        return "credentials inside a URL"
    if _TOKEN_SHAPES.search(text):
        return "a known token or key shape"
    if any(_random_looking(m[0]) and not _DIGEST_PREFIX.search(text[: m.start()]) for m in _CANDIDATE.finditer(text)):
        return "a long random-looking string"
    return None
