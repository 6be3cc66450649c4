"""The image's build context as Docker sends it, and a tag derived from its content.

`pulumi up` builds the image from this checkout (infra/components/image.py) and tags it with
a digest of exactly what the build can see: the files .dockerignore lets through (names,
executable bits, contents) plus the Dockerfile. The same checkout always yields the same
tag, so a preview with nothing changed plans no build, and any change to a file the image
contains yields a new tag; a file the context leaves out never does.

The .dockerignore rules follow moby/patternmatcher v0.6 (what BuildKit uses), for the
syntax this repository's file needs: `*`, `?`, `**`, `!` exceptions, later lines winning,
and a pattern that matches a directory covering everything below it.
(https://docs.docker.com/build/concepts/context/#dockerignore-files)
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TAG_PREFIX = "ctx-"
# 80 bits of SHA-256: collisions are out of reach for one repository's history.
TAG_HEX_DIGITS = 20


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    exclusion: bool  # a `!` line: re-includes what earlier lines excluded
    literal_prefix: str  # the pattern up to its first wildcard


def _compile(pattern: str) -> re.Pattern[str]:
    """A pattern as a regex over slash-separated relative paths, as patternmatcher does."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):
                    i += 1
                    out.append("(?:.*/)?")  # `**/` : zero or more directories
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            members = re.sub(r"([\\\]\^])", r"\\\1", body)
            out.append(f"[^/{members}]" if negate else f"[{members}]")
            i = end + 1
            continue
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def parse_dockerignore(text: str) -> list[_Pattern]:
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        # Docker cleans each pattern like a path and drops a leading slash.
        line = os.path.normpath(line).lstrip("/")
        if line == ".":
            continue
        prefix = re.split(r"[*?\[\\]", line, maxsplit=1)[0]
        patterns.append(_Pattern(_compile(line), exclusion, prefix))
    return patterns


def is_ignored(path: str, patterns: list[_Pattern]) -> bool:
    """Whether `path` (relative, slash-separated) is left out of the context."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    matched = False
    for pattern in patterns:
        # An exclusion only matters once something matched; a plain line only before that.
        if pattern.exclusion != matched:
            continue
        if any(pattern.regex.match(candidate) for candidate in candidates):
            matched = not pattern.exclusion
    return matched


def _could_reinclude(directory: str, patterns: list[_Pattern]) -> bool:
    """Whether an exception line might bring back something below an ignored directory.

    Only exceptions after the last line that ignores the directory count: that line covers
    everything below it and overrides every earlier exception.
    """
    parts = directory.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    last = max(
        (
            index
            for index, pattern in enumerate(patterns)
            if not pattern.exclusion and any(pattern.regex.match(c) for c in candidates)
        ),
        default=-1,
    )
    for pattern in patterns[last + 1 :]:
        if not pattern.exclusion:
            continue
        prefix = pattern.literal_prefix
        if prefix.startswith(directory + "/") or (directory + "/").startswith(prefix):
            return True
    return False


def context_files(root: Path) -> Iterator[str]:
    """The relative paths of the regular files the build context holds, sorted."""
    ignore = root / ".dockerignore"
    patterns = parse_dockerignore(ignore.read_text(encoding="utf-8")) if ignore.exists() else []
    found: list[str] = []
    for current, dirs, files in os.walk(root):
        relative_dir = Path(current).relative_to(root).as_posix()
        base = "" if relative_dir == "." else relative_dir + "/"
        kept = []
        for name in dirs:
            path = base + name
            if is_ignored(path, patterns) and not _could_reinclude(path, patterns):
                continue  # nothing below it can be in the context: don't walk it
            kept.append(name)
        dirs[:] = kept
        for name in files:
            path = base + name
            if not is_ignored(path, patterns) and (root / path).is_file():
                found.append(path)
    yield from sorted(found)


def context_digest(root: Path, dockerfile: Path) -> str:
    """SHA-256 over the Dockerfile and every context file's name, mode and content."""
    digest = hashlib.sha256()
    digest.update(b"dockerfile\0")
    digest.update(dockerfile.read_bytes())
    for path in context_files(root):
        file = root / path
        executable = os.access(file, os.X_OK)
        digest.update(f"\0{path}\0{'x' if executable else '-'}\0".encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def context_tag(root: Path, dockerfile: Path | None = None) -> str:
    """The image tag for this build context: `ctx-` and 20 hex digits of its digest."""
    digest = context_digest(root, dockerfile or root / "Dockerfile")
    return TAG_PREFIX + digest[:TAG_HEX_DIGITS]
