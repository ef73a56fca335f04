"""Lay a Dockerfile's image out in a folder, without a Docker engine: `docker build`, step by step.

Each stage gets a folder standing for its root file system and a fresh virtualenv standing for the base
image's Python (`python:3.11-slim` is CPython 3.11 in /usr/local; the stand-in is this machine's CPython
of the same minor version, with nothing installed). Then the stage's steps run in order:
`COPY` copies from the build context (filtered by .dockerignore) or another stage's folder; `RUN` runs
its shell command with the stage's `ENV`, `WORKDIR` and image paths (`/app`, `/wheels`, …) pointing into
the stage's folder, `--mount=type=bind,from=…` and `--mount=type=cache` as symbolic links for the step;
`USER` is recorded and applied when services run. `RUN` steps that change the operating system
(apt-get, useradd) are not reproduced: they are listed, and a final stage that installs a compiler is
refused.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.image.dockerfile import (
    DockerfileError,
    DockerIgnore,
    Instruction,
    Stage,
    parse_dockerfile,
    parse_env,
    parse_mounts,
    substitute,
)

# Top-level folders of the base image that belong to the operating system: paths under them are the
# host's own (sh, rm, /dev/null). Every other absolute path a step names is a path in the image.
SYSTEM_FOLDERS = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "sys", "dev", "run"}
# Where the official python image keeps its interpreter; the stand-in virtualenv plays this folder.
PYTHON_PREFIX = "/usr/local"
IMAGE_DEFAULT_PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_COMMANDS = {"apt-get", "apt", "dpkg", "useradd", "groupadd", "adduser", "addgroup", "usermod"}
COMPILERS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|cc|make|cmake)\b")


class BuildError(RuntimeError):
    """A step of the image's build failed; the message says which and why."""


@dataclass
class BuiltStage:
    """One stage laid out: its folder, its Python stand-in, and what it declared."""

    name: str
    index: int
    base: str
    rootfs: Path
    python_home: Path
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str | None = None
    users: dict[str, int] = field(default_factory=dict)
    cmd: list[str] | str | None = None
    entrypoint: list[str] | str | None = None
    exposed: list[str] = field(default_factory=list)
    not_reproduced: list[str] = field(default_factory=list)
    image_folders: set[str] = field(default_factory=lambda: {"tmp", "root", "home", "var", "opt", "srv"})

    # ------------------------------------------------------------------- container paths → this folder
    def host_path(self, container_path: str) -> Path:
        """Where a path of the image lives in the layout (paths of the operating system stay the host's)."""
        if container_path == PYTHON_PREFIX or container_path.startswith(PYTHON_PREFIX + "/"):
            return self.python_home / container_path[len(PYTHON_PREFIX) + 1 :]
        top = container_path.strip("/").split("/", 1)[0]
        if top in SYSTEM_FOLDERS:
            return Path(container_path)
        return self.rootfs / container_path.lstrip("/")

    def rewrite(self, text: str) -> str:
        """Point every image path named in a command or variable into the layout."""
        if not self.image_folders:
            return text
        tops = "|".join(re.escape(top) for top in sorted(self.image_folders, key=len, reverse=True))
        pattern = re.compile(r"(?<![A-Za-z0-9_.\-])/(" + tops + r")(?=/|\Z|[\s'\";:,)=])")
        text = pattern.sub(lambda match: str(self.rootfs / match.group(1)), text)
        prefix = re.compile(r"(?<![A-Za-z0-9_.\-])" + re.escape(PYTHON_PREFIX) + r"(?=/|\Z|[\s'\";:,)])")
        return prefix.sub(str(self.python_home), text)

    def learn_paths(self, text: str) -> None:
        """Absolute paths a step names (outside the operating system's folders) are image paths."""
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        for word in words:
            for candidate in (word, word.partition("=")[2]):
                if candidate.startswith("/") and not candidate.startswith("//"):
                    top = candidate.strip("/").split("/", 1)[0]
                    if top and top not in SYSTEM_FOLDERS and re.fullmatch(r"[A-Za-z0-9_.\-]+", top):
                        self.image_folders.add(top)

    def host_search_path(self, image_path: str) -> str:
        entries = []
        for entry in image_path.split(":"):
            if not entry:
                continue
            if entry == PYTHON_PREFIX + "/sbin":
                continue
            entries.append(str(self.host_path(entry)))
        return os.pathsep.join(entries)

    def process_env(self, extra: dict[str, str] | None = None, *, home: str | None = None) -> dict[str, str]:
        """The environment a process of this image starts with: nothing from the checker's own."""
        image_env = {"PATH": IMAGE_DEFAULT_PATH, "LANG": "C.UTF-8", **self.env, **(extra or {})}
        home_path = home or ("/root" if self.user in (None, "root", "0") else f"/home/{self.user}")
        environment = {name: self.rewrite(value) for name, value in image_env.items() if name != "PATH"}
        environment["PATH"] = self.host_search_path(image_env["PATH"])
        environment["HOME"] = str(self.host_path(home_path))
        environment["TMPDIR"] = str(self.host_path("/tmp"))
        return environment


@dataclass
class Layout:
    """The whole build: every stage, the build context as sent, and the final stage (the image)."""

    folder: Path
    context: Path
    context_files: list[str]
    stages: list[BuiltStage]
    # The interpreter the base image's Python stand-ins were made from.
    python: str

    @property
    def image(self) -> BuiltStage:
        return self.stages[-1]

    @property
    def site_packages(self) -> Path:
        return next((self.image.python_home / "lib").glob("python3*/site-packages"))


def _base_python_version(base: str) -> tuple[int, int]:
    match = re.fullmatch(
        r"(?:docker\.io/)?(?:library/)?python:(\d+)\.(\d+)(?:\.\d+)?(?:-[\w.-]+)?(?:@sha256:[0-9a-f]+)?", base
    )
    if not match:
        raise DockerfileError(f"FROM {base}: the check stands in only for the official python images")
    return int(match.group(1)), int(match.group(2))


def _python_stand_in(folder: Path, base: str, *, python: str, log: Path) -> Path:
    """A fresh virtualenv of `python`, which must be the CPython version the base image names."""
    version = _base_python_version(base)
    folder.parent.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.stdout.strip() != f"{version[0]}.{version[1]}":
        raise BuildError(
            f"FROM {base} is CPython {version[0]}.{version[1]}; {python} is {probe.stdout.strip()}"
        )
    _run(
        [python, "-m", "venv", str(folder)],
        cwd=folder.parent,
        env=_minimal_env(),
        log=log,
        what=f"FROM {base}",
    )
    return folder


def _minimal_env() -> dict[str, str]:
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/root"),
    }


def _run(
    command: list[str], *, cwd: Path, env: dict[str, str], log: Path, what: str, timeout: float = 1200
) -> None:
    with log.open("a") as output:
        output.write(f"\n$ {what}\n")
        output.flush()
        started = time.monotonic()
        result = subprocess.run(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
        output.write(f"# exit {result.returncode} after {time.monotonic() - started:.1f} s\n")
    if result.returncode != 0:
        raise BuildError(f"{what} exited with {result.returncode}\n{_tail(log)}")


def _tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace").splitlines()
    return "\n".join("    " + line for line in text[-lines:])


def build_context(source: Path, destination: Path) -> list[str]:
    """Copy what `docker build source` sends (everything but what .dockerignore names)."""
    ignore_file = source / ".dockerignore"
    ignore = DockerIgnore(ignore_file.read_text() if ignore_file.exists() else "")
    files = ignore.context_files(source)
    for relative in files:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, target, follow_symlinks=False)
    return files


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _resolve(stage: BuiltStage, path: str) -> str:
    return path if path.startswith("/") else os.path.normpath(os.path.join(stage.workdir, path))


def _step_copy(
    stage: BuiltStage, instruction: Instruction, *, context: Path, built: dict[str, BuiltStage]
) -> None:
    unsupported = set(instruction.flags) - {"from", "chown", "chmod", "link"}
    if unsupported:
        raise DockerfileError(
            f"line {instruction.line}: COPY --{', --'.join(sorted(unsupported))} is not reproduced"
        )
    words = instruction.args if isinstance(instruction.args, list) else shlex.split(instruction.args)
    if len(words) < 2:
        raise DockerfileError(f"line {instruction.line}: COPY needs a source and a destination")
    *sources, destination = (substitute(word, stage.env) for word in words)
    source_stage = instruction.flags.get("from")
    if source_stage is not None:
        if source_stage not in built:
            raise DockerfileError(
                f"line {instruction.line}: COPY --from={source_stage}: no earlier stage of that name"
            )
        origin_stage = built[source_stage]
    target = _resolve(stage, destination)
    stage.learn_paths(target)
    into_folder = destination.endswith("/") or len(sources) > 1
    for source in sources:
        if source_stage is None:
            matches = (
                sorted(context.glob(source.lstrip("/")))
                if any(c in source for c in "*?[")
                else [context / source]
            )
        else:
            matches = [origin_stage.host_path(source)]
        for match in matches:
            if not match.exists():
                raise BuildError(f"line {instruction.line}: COPY {source}: not found in the build context")
            host_target = stage.host_path(target)
            if match.is_dir():
                _copy(match, host_target)
            elif into_folder or host_target.is_dir():
                _copy(match, host_target / match.name)
            else:
                _copy(match, host_target)


def _step_run(
    stage: BuiltStage, instruction: Instruction, *, built: dict[str, BuiltStage], log: Path, is_final: bool
) -> None:
    """A RUN step: an OS-changing one is listed, any other runs with image paths and mounts in place.

    One function because the mounts it links in must be undone however the command ends."""
    unsupported = set(instruction.flags) - {"mount", "network"}
    if unsupported:
        raise DockerfileError(
            f"line {instruction.line}: RUN --{', --'.join(sorted(unsupported))} is not reproduced"
        )
    command = instruction.args if isinstance(instruction.args, str) else shlex.join(instruction.args)
    first_word = command.split(None, 1)[0] if command.strip() else ""
    if first_word in SYSTEM_COMMANDS:
        if is_final and "install" in command and COMPILERS.search(command):
            raise BuildError(f"line {instruction.line}: the final stage installs a compiler: {command}")
        _record_user(stage, command)
        stage.not_reproduced.append(command)
        return
    stage.learn_paths(command)
    links = []
    for mount in parse_mounts(instruction.flags.get("mount")):
        target = mount["target"]
        stage.learn_paths(target)
        if mount["type"] == "bind":
            origin_name = mount.get("from")
            if origin_name is None or origin_name not in built:
                raise DockerfileError(f"line {instruction.line}: RUN --mount needs from=<an earlier stage>")
            source = built[origin_name].host_path(mount.get("source", "/"))
        elif mount["type"] == "cache":
            # A cache mount outlives builds: the host's own cache folder of the same name plays it.
            relative = target.removeprefix("/root/").lstrip("/")
            source = (
                Path.home() / relative
                if target.startswith("/root/.cache/")
                else Path.home() / ".cache" / "image-check" / relative
            )
            source.mkdir(parents=True, exist_ok=True)
        else:
            raise DockerfileError(
                f"line {instruction.line}: RUN --mount=type={mount['type']} is not reproduced"
            )
        links.append((stage.host_path(target), source))
    moved_aside = []
    try:
        for link, source in links:
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.exists() or link.is_symlink():
                aside = link.with_name(link.name + ".image-check-aside")
                link.rename(aside)
                moved_aside.append((aside, link))
            link.symlink_to(source, target_is_directory=True)
        workdir = stage.host_path(stage.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        _run(
            ["sh", "-c", stage.rewrite(command)],
            cwd=workdir,
            env=stage.process_env(home="/root"),
            log=log,
            what=f"{stage.name}: RUN {command}",
        )
    finally:
        for link, _ in links:
            if link.is_symlink():
                link.unlink()
        for aside, link in moved_aside:
            aside.rename(link)


def _record_user(stage: BuiltStage, command: str) -> None:
    words = shlex.split(command)
    if words[0] not in {"useradd", "adduser"}:
        return
    uid = next((int(words[i + 1]) for i, word in enumerate(words[:-1]) if word in {"--uid", "-u"}), 1000)
    name = words[-1]
    stage.users[name] = uid
    if "--create-home" in words or "-m" in words:
        stage.host_path(f"/home/{name}").mkdir(parents=True, exist_ok=True)


def build(
    dockerfile: Path, context_source: Path, folder: Path, *, logs: Path, python: str = sys.executable
) -> Layout:
    """Lay out every stage of `dockerfile` under `folder`, with `context_source` as the build context.

    `python` stands in for the base image's interpreter (same minor version)."""
    global_args, stages = parse_dockerfile(dockerfile.read_text())
    context = folder / "context"
    files = build_context(context_source, context)
    built: dict[str, BuiltStage] = {}
    results = []
    for stage in stages:
        results.append(
            _build_stage(
                stage,
                global_args,
                context=context,
                folder=folder,
                logs=logs,
                built=built,
                python=python,
                is_final=stage is stages[-1],
            )
        )
        built[stage.name or str(stage.index)] = results[-1]
    return Layout(folder=folder, context=context, context_files=files, stages=results, python=python)


def _build_stage(
    stage: Stage,
    global_args: dict[str, str],
    *,
    context: Path,
    folder: Path,
    logs: Path,
    built: dict[str, BuiltStage],
    python: str,
    is_final: bool,
) -> BuiltStage:
    """Every step of one stage in order; one function because each step reads what the previous left."""
    name = stage.name or f"stage-{stage.index}"
    if stage.base in built:
        raise DockerfileError(f"FROM {stage.base}: a stage built on another stage is not reproduced")
    stage_folder = folder / name
    rootfs = stage_folder / "rootfs"
    for path in ("tmp", "root"):
        (rootfs / path).mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"build-{name}.log"
    result = BuiltStage(
        name=name,
        index=stage.index,
        base=stage.base,
        rootfs=rootfs,
        python_home=_python_stand_in(stage_folder / "python", stage.base, python=python, log=log),
    )
    args = dict(global_args)
    for instruction in stage.instructions:
        variables = {**args, **result.env}
        if instruction.keyword == "ARG":
            key, _, default = str(instruction.args).partition("=")
            args[key.strip()] = substitute(default.strip(), variables)
        elif instruction.keyword == "ENV":
            result.env.update(parse_env(instruction.args, variables))
            for value in result.env.values():
                result.learn_paths(value.replace(":", " "))
        elif instruction.keyword == "WORKDIR":
            result.workdir = _resolve(result, substitute(str(instruction.args), variables))
            result.learn_paths(result.workdir)
            result.host_path(result.workdir).mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY":
            _step_copy(result, instruction, context=context, built=built)
        elif instruction.keyword == "RUN":
            _step_run(result, instruction, built=built, log=log, is_final=is_final)
        elif instruction.keyword == "USER":
            result.user = substitute(str(instruction.args), variables).split(":")[0]
        elif instruction.keyword == "CMD":
            result.cmd = instruction.args
        elif instruction.keyword == "ENTRYPOINT":
            result.entrypoint = instruction.args
        elif instruction.keyword == "EXPOSE":
            result.exposed.extend(str(instruction.args).split())
    return result
