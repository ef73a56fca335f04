"""Reading a Dockerfile and a .dockerignore the way `docker build` does, for the subset this project uses.

Anything outside that subset is refused with a message rather than skipped, so a Dockerfile change the
image check cannot follow makes the check fail instead of silently proving less.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

KNOWN_INSTRUCTIONS = {
    "FROM",
    "ARG",
    "ENV",
    "WORKDIR",
    "COPY",
    "RUN",
    "USER",
    "EXPOSE",
    "CMD",
    "ENTRYPOINT",
    "LABEL",
    "STOPSIGNAL",
    "HEALTHCHECK",
}


class DockerfileError(ValueError):
    """The Dockerfile uses something the image check cannot reproduce, or is malformed."""


@dataclass(frozen=True)
class Instruction:
    keyword: str
    flags: dict[str, str]
    # Exec (JSON) form: the list; shell form: one string.
    args: list[str] | str
    line: int

    @property
    def text(self) -> str:
        return self.args if isinstance(self.args, str) else json.dumps(self.args)


@dataclass
class Stage:
    base: str
    name: str | None
    index: int
    instructions: list[Instruction] = field(default_factory=list)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Join backslash continuations; drop comments (also those inside a continuation), as BuildKit does."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#"):
            continue
        if not pending:
            if not stripped:
                continue
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        yield start, " ".join(part for part in pending if part)
        pending = []
    if pending:
        raise DockerfileError(f"line {start}: the last instruction ends with a line continuation")


def _split_flags(rest: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        name, _, value = token[2:].partition("=")
        if name in flags:
            flags[name] += "\n" + value  # repeated --mount flags
        else:
            flags[name] = value
        rest = rest.lstrip()
    return flags, rest


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """The global ARG defaults (those before the first FROM) and the stages, in order."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line, logical in _logical_lines(text):
        keyword, _, rest = logical.partition(" ")
        keyword = keyword.upper()
        if keyword not in KNOWN_INSTRUCTIONS:
            raise DockerfileError(
                f"line {line}: the image check does not reproduce {keyword} (supported: "
                f"{', '.join(sorted(KNOWN_INSTRUCTIONS))})"
            )
        flags, rest = _split_flags(rest.strip())
        args: list[str] | str = rest
        if rest.startswith("["):
            try:
                parsed = json.loads(rest)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
                args = parsed
        if keyword == "FROM":
            words = rest.split()
            name = None
            if len(words) == 3 and words[1].upper() == "AS":
                name = words[2]
            elif len(words) != 1:
                raise DockerfileError(f"line {line}: FROM takes an image and an optional `AS name`")
            stages.append(Stage(base=substitute(words[0], global_args), name=name, index=len(stages)))
            continue
        if not stages:
            if keyword != "ARG":
                raise DockerfileError(f"line {line}: {keyword} before the first FROM")
            name, _, default = rest.partition("=")
            global_args[name.strip()] = _unquote(default.strip())
            continue
        stages[-1].instructions.append(Instruction(keyword=keyword, flags=flags, args=args, line=line))
    if not stages:
        raise DockerfileError("the Dockerfile has no FROM")
    return global_args, stages


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-+])(?P<word>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def substitute(value: str, variables: dict[str, str]) -> str:
    """Docker's variable substitution in instructions other than RUN: $NAME, ${NAME}, ${NAME:-x}, ${NAME:+x}."""

    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        current = variables.get(name, "")
        if match.group("op") == "-":
            return current or match.group("word")
        if match.group("op") == "+":
            return match.group("word") if current else ""
        return current

    return _VARIABLE.sub(replace, value)


def parse_env(args: list[str] | str, variables: dict[str, str]) -> dict[str, str]:
    """ENV a=1 b="two words" (or the legacy ENV name value) into a mapping, with substitution."""
    if isinstance(args, list):
        raise DockerfileError("ENV takes name=value pairs, not a JSON list")
    words = shlex.split(args, posix=True)
    if words and "=" not in words[0]:
        return {words[0]: substitute(args.split(None, 1)[1] if len(words) > 1 else "", variables)}
    result: dict[str, str] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep:
            raise DockerfileError(f"ENV: {word!r} is not name=value")
        result[name] = substitute(value, {**variables, **result})
    return result


def parse_mounts(flag: str | None) -> list[dict[str, str]]:
    """RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels (repeatable) into dicts."""
    if not flag:
        return []
    mounts = []
    for spec in flag.split("\n"):
        options: dict[str, str] = {}
        for part in spec.split(","):
            key, _, value = part.partition("=")
            options[key] = value
        options.setdefault("type", "bind")
        if "target" not in options:
            options["target"] = options.pop("dst", options.pop("destination", ""))
        if "source" not in options and "src" in options:
            options["source"] = options.pop("src")
        mounts.append(options)
    return mounts


# ----------------------------------------------------------------------------------------- .dockerignore
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match with `**`, as Docker's pattern matcher extends it."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise DockerfileError(f".dockerignore: unclosed [ in {pattern!r}")
            body = pattern[i + 1 : end]
            if body.startswith("^"):
                body = "!" + body[1:]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class IgnoreRule:
    pattern: str
    regex: re.Pattern[str]
    exception: bool


class DockerIgnore:
    """Which paths of the build context `docker build` leaves out (the last matching rule wins)."""

    def __init__(self, text: str) -> None:
        self.rules: list[IgnoreRule] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exception = line.startswith("!")
            pattern = os.path.normpath(line[1:].strip() if exception else line).lstrip("/")
            self.rules.append(IgnoreRule(pattern, _pattern_regex(pattern), exception))

    def excluded(self, relative: str) -> bool:
        """True if `relative` (a path in the context, with /) or a folder above it is excluded."""
        parts = relative.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for rule in self.rules:
            if any(rule.regex.match(prefix) for prefix in prefixes):
                result = not rule.exception
        return result

    def may_include_below(self, folder: str) -> bool:
        """False when an excluded folder can be skipped whole (no exception could bring a file back)."""
        return any(rule.exception and rule.pattern.startswith(folder + "/") for rule in self.rules) or any(
            rule.exception and "*" in rule.pattern for rule in self.rules
        )

    def context_files(self, root: Path) -> list[str]:
        """Every file `docker build` would send from `root`, as sorted paths relative to it."""
        files = []
        for folder, dirnames, filenames in os.walk(root):
            relative_folder = os.path.relpath(folder, root)
            prefix = "" if relative_folder == "." else relative_folder.replace(os.sep, "/") + "/"
            kept = []
            for dirname in dirnames:
                path = prefix + dirname
                if self.excluded(path) and not self.may_include_below(path):
                    continue
                kept.append(dirname)
            dirnames[:] = kept
            for filename in filenames:
                path = prefix + filename
                if not self.excluded(path):
                    files.append(path)
        return sorted(files)
