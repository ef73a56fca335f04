"""`make image-check`: what `docker build` and `docker compose up` would do, proven without a Docker engine.

1. The compose files: production refuses to start without its settings (and `docker compose config`
   agrees, where a compose client is installed); the demo file alone brings the simulator.
2. The image: the Dockerfile's stages are laid out in a temporary folder outside the repository
   (`tests/image/layout.py`): the build context as .dockerignore leaves it, the builder's wheels, the
   final stage installing them into a fresh Python, collectstatic with production settings.
3. From that install only (its own Python, cwd in the layout, no PYTHONPATH, the image's user):
   every file of every package of the build context is installed; each service's command exists;
   migrate on a new PostgreSQL database; `check --deploy`; gunicorn serving /healthz, the admin's
   login page, a hashed static file and the API; a Celery worker and beat with compose's exact commands
   against a throwaway Redis (the worker answers a ping and runs what beat sends); Flower refusing a
   request without credentials; the simulator of the demo file answering an AWS call.
4. A negative control: the same install with one package hidden fails the check, for every package.

Compose's commands run as written, except that a server's `0.0.0.0:<published port>` becomes
127.0.0.1:<a free port>; URLs naming the postgres, redis and simulator services point at their
stand-ins. Every process started is stopped, and the database dropped, however the check ends.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import pickle
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.image import compose
from tests.image.dockerfile import Stage, parse_dockerfile
from tests.image.layout import BuiltStage, Layout, build

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
PRODUCTION_COMPOSE = ROOT / "docker-compose.yml"
DEMO_COMPOSE = ROOT / "docker-compose.demo.yml"
HOST = "portal.example.com"
# Values the check gives compose's required variables; a new required variable needs one here.
SETTINGS_FOR_THE_RUN = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
    "ALLOWED_HOSTS": HOST,
    "FLOWER_BASIC_AUTH": f"ops:{secrets.token_urlsafe(16)}",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PARTNER_AWS_ACCOUNT_ID": "210987654321",
}
# The one setting the check changes: beat sends the jobs sweep every second, so a round trip through
# beat, Redis and the worker shows within seconds (the schedule logic is production's).
FAST_SCHEDULE = {"JOBS_SWEEP_INTERVAL_SECONDS": "1"}
WAIT_STEP_SECONDS = 0.25


class CheckFailed(AssertionError):
    """One step of the image check failed; the message says what the image did and what was expected."""


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Run:
    """The temporary folder and the processes of one run, all removed at its end."""

    folder: Path
    processes: list[Started] = field(default_factory=list)
    steps: list[tuple[str, float, str]] = field(default_factory=list)
    image_user: tuple[str, int] | None = None
    reported: bool = False

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        details: list[str] = []
        started = time.monotonic()
        print(f"... {name}", flush=True)
        try:
            yield details
        except Exception as error:
            print(f"FAIL {name} ({time.monotonic() - started:.1f} s)\n{error}", flush=True)
            self.reported = True
            raise
        seconds = time.monotonic() - started
        self.steps.append((name, seconds, "; ".join(details)))
        print(f"ok   {name} ({seconds:.1f} s){': ' + '; '.join(details) if details else ''}", flush=True)

    # ------------------------------------------------------------------------------- processes
    def as_image_user(self, command: list[str]) -> list[str]:
        if self.image_user is None:
            return command
        _, uid = self.image_user
        # `env` starts the command: setpriv's own exec may still pass root's permission checks.
        return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", "env", *command]

    def start(
        self, name: str, command: list[str], *, env: dict[str, str], cwd: Path, image: bool = True
    ) -> Started:
        log = self.logs / f"{name}.log"
        with log.open("ab") as output:
            process = subprocess.Popen(
                self.as_image_user(command) if image else command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = Started(name, process, log)
        self.processes.append(started)
        return started

    def run(
        self, name: str, command: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.as_image_user(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with (self.logs / f"{name}.log").open("a") as log:
            log.write(f"$ {shlex.join(command)}\n{result.stdout}{result.stderr}\n")
        return result

    def stop(self, started: Started) -> None:
        if started.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(started.process.pid, signal.SIGTERM)
            try:
                started.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(started.process.pid, signal.SIGKILL)
                started.process.wait(timeout=10)
        # Children that outlived their leader (gunicorn's workers, celery's pool) go with its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started.process.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for started in reversed(self.processes):
            self.stop(started)
        self.processes.clear()


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "    (no output)"
    return "\n".join("    " + line for line in path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    what: str, ready: Callable[[], bool], *, attempts: int = 240, process: Started | None = None
) -> None:
    """Poll `ready` a bounded number of times; a process that exits meanwhile fails at once, with its log."""
    for _ in range(attempts):
        if process is not None and process.process.poll() is not None:
            raise CheckFailed(
                f"{process.name} exited with {process.process.returncode} before {what}:\n{tail(process.log)}"
            )
        if ready():
            return
        time.sleep(WAIT_STEP_SECONDS)
    log = f":\n{tail(process.log)}" if process is not None else ""
    raise CheckFailed(f"gave up waiting for {what} after {attempts} tries{log}")


def port_answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str:
        return ", ".join(self.headers.get_all(name) or [])


def request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# ------------------------------------------------------------------------------------- compose files
def compose_client() -> list[str] | None:
    """`docker compose` (v2) or `docker-compose` (v1), whichever is installed; neither needs an engine for `config`."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def check_compose_files(run: Run) -> None:
    with run.step("compose: production refuses to start without its settings") as details:
        missing = compose.missing_variables([PRODUCTION_COMPOSE], {})
        required = sorted({item.name for item in missing})
        expect(bool(required), "docker-compose.yml starts with no settings at all")
        unknown = [name for name in required if name not in SETTINGS_FOR_THE_RUN]
        expect(not unknown, f"docker-compose.yml requires {unknown}: give the check a value for each")
        details.append("requires " + ", ".join(required))
        raw = compose.load_raw([PRODUCTION_COMPOSE])
        expect("simulator" not in raw["services"], "the production compose file runs the simulator")
        text = PRODUCTION_COMPOSE.read_text()
        expect(
            "AWS_ENDPOINT_URL" not in text,
            "the production compose file points AWS somewhere (AWS_ENDPOINT_URL)",
        )
        expect(
            not re.search(r"AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY):[^\n]*:-\w", text),
            "the production compose file has default AWS keys",
        )

    client = compose_client()
    with run.step("compose: `config` of a compose client agrees") as details:
        if client is None:
            details.append("skipped: no `docker compose` or `docker-compose` on this machine")
            return
        empty_env_file = run.folder / "empty.env"
        empty_env_file.write_text("")
        base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(run.folder)}

        def config(files: list[Path], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
            arguments = [*client, "--project-directory", str(ROOT), "--env-file", str(empty_env_file)]
            for path in files:
                arguments += ["-f", str(path)]
            return subprocess.run(
                [*arguments, "config", "-q"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )

        refused = config([PRODUCTION_COMPOSE], base_env)
        expect(refused.returncode != 0, "`config` accepted docker-compose.yml with no settings")
        said = refused.stdout + refused.stderr
        messages = {item.message for item in compose.missing_variables([PRODUCTION_COMPOSE], {})}
        expect(
            any(message in said for message in messages),
            f"`config` refused without naming a missing setting:\n{said}",
        )
        for files in ([PRODUCTION_COMPOSE], [PRODUCTION_COMPOSE, DEMO_COMPOSE]):
            accepted = config(files, {**base_env, **SETTINGS_FOR_THE_RUN})
            expect(
                accepted.returncode == 0,
                f"`config` refused {[p.name for p in files]}:\n{accepted.stdout}{accepted.stderr}",
            )
        details.append(
            f"{' '.join(client)}: refuses without settings, accepts production and production + demo"
        )


# ---------------------------------------------------------------------------------------- the image
def image_user(stages: list[Stage]) -> tuple[str, int] | None:
    """The final stage's USER and the uid its useradd gives it (None for root)."""
    final = stages[-1]
    name: str | None = None
    uid: int | None = None
    for instruction in final.instructions:
        if instruction.keyword == "USER":
            name = str(instruction.args).split(":")[0]
        if (
            instruction.keyword == "RUN"
            and isinstance(instruction.args, str)
            and instruction.args.startswith("useradd")
        ):
            words = shlex.split(instruction.args)
            for index, word in enumerate(words[:-1]):
                if word in {"--uid", "-u"}:
                    uid = int(words[index + 1])
    if name is None or name in ("root", "0"):
        return None
    if name.isdigit():
        return name, int(name)
    if uid is None:
        raise CheckFailed(f"USER {name}: no `useradd --uid N {name}` in the final stage")
    return name, uid


def python_for(version: tuple[int, int], run: Run) -> str:
    """A CPython of the base image's version that the image's user may run (root's own may be unreadable)."""
    base = getattr(sys, "_base_executable", sys.executable)
    candidates = [
        base,
        shutil.which(f"python{version[0]}.{version[1]}") or "",
        f"/usr/bin/python{version[0]}.{version[1]}",
    ]
    for candidate in dict.fromkeys(c for c in candidates if c and Path(c).exists()):
        probe = subprocess.run(
            run.as_image_user(
                [
                    candidate,
                    "-c",
                    "import os, sys, venv, ensurepip; open(os.__file__).close(); print('%d.%d' % sys.version_info[:2])",
                ]
            ),
            capture_output=True,
            text=True,
            cwd="/",
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == f"{version[0]}.{version[1]}":
            return candidate
    raise CheckFailed(f"no CPython {version[0]}.{version[1]} with venv that the image's user can run")


def build_image(run: Run, dockerfile: Path) -> Layout:
    with run.step("Dockerfile: read, and a stand-in for its base image's Python") as details:
        _, stages = parse_dockerfile(dockerfile.read_text())
        final_user = image_user(stages)
        run.image_user = final_user if os.geteuid() == 0 else None
        match = re.search(r"python:(\d+)\.(\d+)", stages[-1].base)
        expect(match is not None, f"FROM {stages[-1].base}: not an official python image")
        assert match is not None
        version = (int(match.group(1)), int(match.group(2)))
        try:
            interpreter = python_for(version, run)
        except CheckFailed:
            if run.image_user is None:
                raise
            # No interpreter of that version the image's uid may run: run everything as this user.
            run.image_user = None
            interpreter = python_for(version, run)
            details.append(
                f"no CPython {version[0]}.{version[1]} the image's uid can run, so services run as root"
            )
        details.append(f"{len(stages)} stage(s); {stages[-1].base} stands in as {interpreter}")
        if final_user is not None and os.geteuid() != 0:
            details.append("not root here, so services run as this user rather than the image's")

    with run.step(
        "docker build, reproduced (.dockerignore, builder wheels, final install, collectstatic)"
    ) as details:
        saved = run.folder / "layout.pickle"
        if saved.exists():
            layout = pickle.loads(saved.read_bytes())  # noqa: S301 - our own file, from an earlier --keep run
            details.append("reused the layout of an earlier run")
        else:
            layout = build(dockerfile, ROOT, run.folder / "image", logs=run.logs, python=interpreter)
            saved.write_bytes(pickle.dumps(layout))
        image = layout.image
        wheels = sorted(p.name for p in run.folder.glob("image/*/rootfs/wheels/*.whl"))
        details.append(f"context {len(layout.context_files)} files")
        details.append(f"{len(wheels)} wheels")
        skipped = [command.split(" ", 1)[0] for stage in layout.stages for command in stage.not_reproduced]
        details.append("not reproduced (operating system): " + ", ".join(skipped))
        if run.image_user is not None:
            # The image's user reads the layout, and writes its /tmp as on any system.
            os.chmod(run.folder, 0o755)  # noqa: S103
            os.chmod(image.host_path("/tmp"), 0o1777)  # noqa: S103
            home = image.host_path(f"/home/{run.image_user[0]}")
            home.mkdir(parents=True, exist_ok=True)
            os.chown(home, run.image_user[1], run.image_user[1])

    check_image_rules(run, stages, final_user, layout.image)
    return layout


def check_image_rules(
    run: Run, stages: list[Stage], final_user: tuple[str, int] | None, image: BuiltStage
) -> None:
    with run.step("the image is multi-stage, slim and runs as a user") as details:
        expect(
            len(stages) >= 2,
            "the Dockerfile has one stage: build wheels in a builder stage, install them in a slim one",
        )
        expect(
            final_user is not None,
            "the final stage runs as root: add a user with useradd and switch to it with USER",
        )
        assert final_user is not None
        expect(image.user == final_user[0], "USER is not the final stage's last word on the user")
        expect(
            "slim" in stages[-1].base, f"the final stage is built FROM {stages[-1].base}, not a slim image"
        )
        details.append(
            f"{len(stages)} stages; final FROM {stages[-1].base} as {final_user[0]} (uid {final_user[1]})"
        )


def context_packages(layout: Layout) -> list[str]:
    """Top-level Python packages of the build context: each must be in the image, whole."""
    return sorted(
        {
            path.split("/")[0]
            for path in layout.context_files
            if path.count("/") == 1 and path.endswith("/__init__.py")
        }
    )


def files_missing_from(layout: Layout, site_packages: Path) -> dict[str, list[str]]:
    """Per package, the context files (code, templates, static files, data) that the install lacks."""
    missing: dict[str, list[str]] = {}
    packages = set(context_packages(layout))
    for path in layout.context_files:
        top = path.split("/")[0]
        if top not in packages or "__pycache__" in path or path.endswith((".pyc", ".pyo")):
            continue
        if not (site_packages / path).is_file():
            missing.setdefault(top, []).append(path)
    return missing


def describe_missing(missing: dict[str, list[str]], layout: Layout) -> str:
    lines = []
    for package, paths in sorted(missing.items()):
        total = sum(1 for p in layout.context_files if p.startswith(package + "/") and "__pycache__" not in p)
        lines.append(f"  {package}: {len(paths)} of {total} files missing, e.g. {', '.join(paths[:4])}")
    return "\n".join(lines)


@dataclass
class Services:
    """docker-compose.yml (and the demo file) read with the run's settings, pointed at the stand-ins."""

    production: dict[str, Any]
    demo: dict[str, Any]
    stand_ins: dict[str, str]

    def app_services(self, spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {name: service for name, service in spec["services"].items() if "build" in service}

    def env(
        self, layout: Layout, spec: dict[str, Any], name: str, extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        service = spec["services"][name]
        declared = compose.service_environment(service)
        names = set(self.demo["services"])
        pointed = {
            key: compose.point_at_stand_ins(value, self.stand_ins, names) for key, value in declared.items()
        }
        return layout.image.process_env({**pointed, **(extra or {})})

    def command(self, spec: dict[str, Any], name: str) -> list[str]:
        return compose.command_list(spec["services"][name])


def check_install(run: Run, layout: Layout, services: Services) -> None:
    image = layout.image
    workdir = image.host_path(image.workdir)
    env = services.env(layout, services.production, "web")
    with run.step("the image runs the installed wheel, not a source tree") as details:
        packages = context_packages(layout)
        expect(bool(packages), "the build context has no Python package")
        probe = run.run(
            "install",
            [
                "python",
                "-c",
                "import importlib.util, json, sys; print(json.dumps({n: importlib.util.find_spec(n).origin for n in sys.argv[1:]}))",
                *packages,
            ],
            env=env,
            cwd=workdir,
        )
        expect(probe.returncode == 0, f"the image cannot find its packages:\n{probe.stdout}{probe.stderr}")
        origins = json.loads(probe.stdout)
        outside = {
            name: origin
            for name, origin in origins.items()
            if not str(origin).startswith(str(layout.site_packages))
        }
        expect(not outside, f"packages imported from outside the installed wheel: {outside}")
        for direct_url in layout.site_packages.glob("*.dist-info/direct_url.json"):
            expect(
                not json.loads(direct_url.read_text()).get("dir_info", {}).get("editable"),
                f"editable install: {direct_url.parent.name}",
            )
        details.append(f"{', '.join(packages)} from site-packages")

    with run.step("every file of every package is in the image (code, templates, static files)") as details:
        missing = files_missing_from(layout, layout.site_packages)
        expect(
            not missing,
            "files of the build context missing from the installed image:\n"
            + describe_missing(missing, layout),
        )
        count = sum(1 for p in layout.context_files if p.split("/")[0] in packages)
        details.append(f"{count} files of {len(packages)} packages")

    with run.step("every compose service's command exists in the image") as details:
        checked = []
        all_services = {**services.app_services(services.production), **services.app_services(services.demo)}
        for name in all_services:
            spec = services.demo if name not in services.production["services"] else services.production
            for words in split_shell(services.command(spec, name)):
                problem = command_problem(run, words, env=services.env(layout, spec, name), cwd=workdir)
                expect(problem is None, f"{name}: `{shlex.join(words)}`: {problem}")
                checked.append(f"{name}: {words[0]}")
        cmd = image.cmd
        if isinstance(cmd, list):
            problem = command_problem(run, cmd, env=env, cwd=workdir)
            expect(problem is None, f"the image's CMD `{shlex.join(cmd)}`: {problem}")
            checked.append(f"CMD: {cmd[0]}")
        details.append(", ".join(checked))


def split_shell(command: list[str]) -> list[list[str]]:
    """A command, or the commands of `sh -c "a && b"`, each as a word list."""
    if command[:2] == ["sh", "-c"] and len(command) == 3:
        return [shlex.split(part) for part in re.split(r"&&|\|\||;", command[2]) if part.strip()]
    return [command]


def command_problem(run: Run, words: list[str], *, env: dict[str, str], cwd: Path) -> str | None:
    """Why `words` would not start in the image (None: it would): its program, module or subcommand is absent."""
    program = shutil.which(words[0], path=env["PATH"])
    if program is None:
        return f"{words[0]} is not installed"
    probe: list[str] | None = None
    if words[0].startswith("python") and words[1:2] == ["-m"]:
        probe = [
            words[0],
            "-c",
            f"import importlib.util, sys; sys.exit(importlib.util.find_spec({words[2]!r}) is None)",
        ]
    elif words[0].startswith("python") and len(words) > 1 and words[1].endswith(".py"):
        if not (cwd / words[1]).is_file():
            return f"{words[1]} is not in the working directory"
        if len(words) > 2 and not words[2].startswith("-"):
            probe = [words[0], words[1], "help", words[2]]
    elif words[0] == "celery":
        rest = words[1:]
        options = []
        while rest and rest[0].startswith("-"):
            options.append(rest.pop(0))
            if options[-1] in {"-A", "--app", "-b", "--broker"} and rest:
                options.append(rest.pop(0))
        if rest:
            probe = ["celery", *options, rest[0], "--help"]
    elif words[0] == "gunicorn":
        probe = ["gunicorn", "--check-config", *words[1:]]
    if probe is None:
        return None
    result = run.run("commands", probe, env=env, cwd=cwd, timeout=120)
    if result.returncode != 0:
        return f"`{shlex.join(probe)}` failed:\n{(result.stdout + result.stderr)[-2000:]}"
    return None


# ---------------------------------------------------------------------------------- the stand-ins
def admin_database_url() -> str:
    return os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def fresh_database(run: Run) -> Iterator[str]:
    """A new, uniquely named database on the test PostgreSQL server, dropped at the end."""
    import psycopg

    parts = urlsplit(admin_database_url())
    name = f"image_check_{os.getpid()}_{secrets.token_hex(4)}"
    admin = f"postgresql://{parts.netloc}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{parts.netloc}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_redis(run: Run, services: dict[str, Any]) -> int:
    """Compose's Redis command (AOF, noeviction) on a free loopback port, keeping its files in the run's folder."""
    port = free_port()
    command = compose.command_list(services["redis"])
    expect(command[:1] == ["redis-server"], f"the redis service runs {command}, not redis-server")
    data = run.folder / "redis"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    started = run.start(
        "redis",
        [*command, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), "--save", ""],
        env={"PATH": "/usr/bin:/bin"},
        cwd=data,
        image=False,
    )
    wait_for("Redis to accept connections", lambda: port_answers(port), process=started)
    return port


# ---------------------------------------------------------------------------------------- services
@dataclass
class Stack:
    """One run's services: the install, compose's files read with the run's settings, and the stand-ins."""

    run: Run
    layout: Layout
    services: Services
    simulator_port: int

    @property
    def workdir(self) -> Path:
        return self.layout.image.host_path(self.layout.image.workdir)

    @property
    def production(self) -> dict[str, Any]:
        return self.services.production

    @property
    def demo(self) -> dict[str, Any]:
        return self.services.demo

    def env(self, name: str, *, demo: bool = False, extra: dict[str, str] | None = None) -> dict[str, str]:
        return self.services.env(self.layout, self.demo if demo else self.production, name, extra)

    def start(self, name: str, *, demo: bool = False, port: int | None = None) -> Started:
        """A service with compose's command; a server is moved from 0.0.0.0:<published> to loopback:`port`."""
        spec = self.demo if demo else self.production
        command = self.services.command(spec, name)
        if port is not None:
            command = compose.listen_locally(
                command, compose.container_ports(spec["services"][name])[0], port
            )
        return self.run.start(name, command, env=self.env(name, demo=demo), cwd=self.workdir)


def check_services(run: Run, layout: Layout) -> None:
    """Compose's services from the install, in compose's order, against a new database and a throwaway Redis."""
    production = compose.load([PRODUCTION_COMPOSE], SETTINGS_FOR_THE_RUN)
    demo = compose.load([PRODUCTION_COMPOSE, DEMO_COMPOSE], SETTINGS_FOR_THE_RUN)
    with fresh_database(run) as database_url:
        redis_port = start_redis(run, production["services"])
        simulator_port = free_port()
        services = Services(
            production=production,
            demo=demo,
            stand_ins={
                "postgres": database_url,
                "redis": f"redis://127.0.0.1:{redis_port}",
                "simulator": f"http://127.0.0.1:{simulator_port}",
            },
        )
        stack = Stack(run=run, layout=layout, services=services, simulator_port=simulator_port)
        check_install(run, layout, services)
        check_migrate(stack)
        check_web(stack)
        check_worker_and_beat(stack)
        check_flower(stack)
        check_simulator(stack)
        run.stop_all()


def check_migrate(stack: Stack) -> None:
    with stack.run.step("migrate: compose's migrate command on a new PostgreSQL database") as details:
        command = stack.services.command(stack.production, "migrate")
        env = stack.env("migrate", extra=FAST_SCHEDULE)
        result = stack.run.run("migrate", command, env=env, cwd=stack.workdir)
        said = result.stdout + result.stderr
        expect(
            result.returncode == 0,
            f"`{shlex.join(command)}` exited with {result.returncode}:\n{said[-3000:]}",
        )
        details.append(f"{result.stdout.count(' OK')} migrations applied, schedules installed")

    with stack.run.step("production settings pass `check --deploy`") as details:
        command = ["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
        result = stack.run.run("check-deploy", command, env=stack.env("web"), cwd=stack.workdir)
        expect(result.returncode == 0, f"{shlex.join(command)}:\n{result.stdout}{result.stderr}")
        details.append(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "")


def check_web(stack: Stack) -> None:
    with stack.run.step("web: gunicorn with production settings serves the portal") as details:
        port = free_port()
        web = stack.start("web", port=port)
        wait_for("gunicorn to listen", lambda: port_answers(port), process=web)
        details.extend(web_answers(port))


def check_worker_and_beat(stack: Stack) -> None:
    with stack.run.step(
        "worker and beat: compose's commands; the worker answers a ping and runs what beat sends"
    ) as details:
        worker = stack.start("worker")
        beat = stack.start("beat")
        replies: list[str] = []

        def worker_answers() -> bool:
            ping = ["celery", "-A", "partnerportal", "inspect", "ping", "--timeout", "2"]
            result = stack.run.run("ping", ping, env=stack.env("worker"), cwd=stack.workdir, timeout=60)
            if result.returncode == 0 and "pong" in result.stdout:
                replies.append(result.stdout.strip().splitlines()[0])
                return True
            return False

        def sweep_ran() -> bool:
            return (
                re.search(r"Task orchestration\.jobs_sweep\[[^\]]+\] succeeded", log_text(worker)) is not None
            )

        wait_for("the worker to answer a ping", worker_answers, attempts=30, process=worker)
        wait_for("beat to start", lambda: "beat: Starting" in log_text(beat), process=beat)
        wait_for("the worker to run the jobs sweep that beat sent", sweep_ran, process=worker)
        expect(beat.process.poll() is None, f"beat exited:\n{tail(beat.log)}")
        sent = log_text(beat).count("Sending due task jobs-sweep")
        details.append(f"ping: {replies[0]}")
        details.append(f"beat sent jobs-sweep {sent}x; the worker ran it")


def check_flower(stack: Stack) -> None:
    with stack.run.step("flower: refuses a request without credentials, answers with them") as details:
        port = free_port()
        password = stack.env("flower").get("FLOWER_BASIC_AUTH", "")
        expect(bool(password), "flower's environment has no FLOWER_BASIC_AUTH")
        flower = stack.start("flower", port=port)
        wait_for("Flower to listen", lambda: port_answers(port), process=flower)

        def basic(credentials: str) -> dict[str, str]:
            return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

        anonymous = request(port, "/")
        expect(
            anonymous.status == 401, f"Flower answered {anonymous.status} to a request without credentials"
        )
        wrong = request(port, "/", headers=basic("ops:wrong"))
        expect(wrong.status == 401, f"Flower answered {wrong.status} to a wrong password")
        signed_in = request(port, "/", headers=basic(password))
        expect(
            signed_in.status == 200,
            f"Flower answered {signed_in.status} with its password:\n{tail(flower.log)}",
        )
        details.append("401 without or with a wrong password, 200 with FLOWER_BASIC_AUTH")


def check_simulator(stack: Stack) -> None:
    with stack.run.step("simulator (demo file): its command serves AWS to the image's boto3") as details:
        expect("simulator" in stack.demo["services"], "docker-compose.demo.yml has no simulator service")
        port = stack.simulator_port
        simulator = stack.start("simulator", demo=True, port=port)
        wait_for("the simulator to listen", lambda: port_answers(port), process=simulator)
        demo_env = stack.env("web", demo=True)
        expect(
            demo_env.get("AWS_ENDPOINT_URL", "").endswith(f":{port}"),
            "the demo file does not point the app at the simulator",
        )
        call = ["python", "-c", "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])"]
        result = stack.run.run("simulator-call", call, env=demo_env, cwd=stack.workdir)
        expect(result.returncode == 0, f"GetCallerIdentity failed:\n{result.stdout}{result.stderr}")
        details.append(f"GetCallerIdentity: account {result.stdout.strip()}")


def log_text(started: Started) -> str:
    return started.log.read_text(errors="replace") if started.log.exists() else ""


def web_answers(port: int) -> list[str]:
    """What a TLS proxy in front of the web service would see."""
    proxied = {"Host": HOST, "X-Forwarded-Proto": "https"}
    health = request(port, "/healthz", headers=proxied)
    expect(
        health.status == 200 and json.loads(health.body) == {"status": "ok"},
        f"/healthz: {health.status} {health.body[:300]!r}",
    )
    plain = request(port, "/healthz", headers={"Host": HOST})
    expect(
        plain.status == 301 and plain.header("Location").startswith("https://"),
        f"plain HTTP is not redirected to HTTPS: {plain.status}",
    )
    login = request(port, "/admin/login/", headers=proxied)
    expect(login.status == 200, f"/admin/login/: {login.status}\n{login.body[:500]!r}")
    expect("Secure" in login.header("Set-Cookie"), "the login page's cookies are not Secure")
    hashed = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login.body)
    expect(hashed is not None, "the login page does not link a hashed stylesheet (collectstatic's manifest)")
    assert hashed is not None
    stylesheet = request(port, hashed.group(1).decode(), headers=proxied)
    expect(
        stylesheet.status == 200 and len(stylesheet.body) > 0,
        f"{hashed.group(1).decode()}: {stylesheet.status}",
    )
    expect(
        "immutable" in stylesheet.header("Cache-Control"), "the hashed stylesheet is not served as immutable"
    )
    api = request(
        port,
        "/api/v1/session-events",
        method="POST",
        headers={**proxied, "Authorization": "Bearer wsc_nokey_nosecret", "Content-Type": "application/json"},
        body=b'{"events": []}',
    )
    expect(api.status == 401, f"the API answered {api.status} to an unknown token: {api.body[:300]!r}")
    anonymous = request(port, "/api/v1/session-events", headers=proxied)
    expect(anonymous.status in (401, 405), f"the API answered {anonymous.status} to a GET without a token")
    return [
        "/healthz 200 (301 to https without the proxy's header)",
        "/admin/login/ 200, Secure cookies",
        f"{hashed.group(1).decode()} 200 immutable",
        f"/api/v1/session-events: POST with an unknown token 401, GET without one {anonymous.status}",
    ]


# --------------------------------------------------------------------------------- negative control
def check_negative_control(run: Run, layout: Layout) -> None:
    """Hide each package from a copy of the install: the file check and the import-level commands must fail."""
    with run.step("negative control: the check fails when a package is left out of the image") as details:
        image = layout.image
        workdir = image.host_path(image.workdir)
        caught = []
        shutil.rmtree(run.folder / "without", ignore_errors=True)
        for package in context_packages(layout):
            home = run.folder / "without" / package
            subprocess.run(
                [layout.python, "-m", "venv", "--without-pip", str(home)], check=True, capture_output=True
            )
            visible = run.folder / "without" / f"{package}-site-packages"
            visible.mkdir(parents=True)
            for entry in layout.site_packages.iterdir():
                if entry.name != package:
                    (visible / entry.name).symlink_to(entry)
            site = next((home / "lib").glob("python*/site-packages"))
            (site / "image.pth").write_text(f"{visible}\n")
            missing = files_missing_from(layout, visible)
            expect(package in missing, f"without {package}, the file check still passed")
            env = image.process_env(
                {
                    "DJANGO_SECRET_KEY": "negative-control-only-0123456789abcdefghijklmnopqrstuvwxyzABCD",
                    "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
                    **{k: v for k, v in SETTINGS_FOR_THE_RUN.items() if k != "DJANGO_SECRET_KEY"},
                }
            )
            env["PATH"] = f"{home / 'bin'}{os.pathsep}{env['PATH']}"
            failures = []
            for command in (["python", "manage.py", "check"], ["python", "-m", "simulator", "--help"]):
                result = run.run(f"without-{package}", command, env=env, cwd=workdir, timeout=120)
                said = result.stdout + result.stderr
                if result.returncode != 0 and re.search(rf"No module named '?{package}\b", said):
                    failures.append(shlex.join(command))
            expect(bool(failures), f"without {package}, `manage.py check` and the simulator still start")
            caught.append(f"{package} ({len(missing[package])} files; {' and '.join(failures)} fail)")
        details.append("; ".join(caught))


# ----------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (the image's layout and logs)"
    )
    parser.add_argument(
        "--dockerfile",
        type=Path,
        default=DOCKERFILE,
        help="another Dockerfile, with this checkout as its context",
    )
    parser.add_argument(
        "--folder", type=Path, help="work in this folder (kept); a layout already built there is reused"
    )
    options = parser.parse_args(argv)
    started = time.monotonic()
    if options.folder:
        folder = options.folder.resolve()
        folder.mkdir(parents=True, exist_ok=True)
        options.keep = True
    else:
        folder = Path(tempfile.mkdtemp(prefix="image-check-"))
    run = Run(folder=folder)
    shutil.rmtree(run.logs, ignore_errors=True)  # a reused folder starts with no earlier run's output
    run.logs.mkdir()
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    failed = True
    try:
        check_compose_files(run)
        layout = build_image(run, options.dockerfile.resolve())
        check_services(run, layout)
        check_negative_control(run, layout)
        failed = False
    except Exception as error:
        if not run.reported:
            print(f"FAIL {type(error).__name__}: {error}", flush=True)
            traceback.print_exc()
    finally:
        run.stop_all()
        signal.signal(signal.SIGTERM, previous)
        if failed:
            kept = Path(tempfile.mkdtemp(prefix="image-check-logs-"))
            shutil.copytree(run.logs, kept, dirs_exist_ok=True)
            print(f"image-check: logs of this run kept in {kept}", flush=True)
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"image-check: layout kept in {folder}", flush=True)
    seconds = time.monotonic() - started
    if failed:
        print(f"image-check FAILED after {len(run.steps)} steps passed ({seconds:.0f} s)", flush=True)
        return 1
    print(f"image-check passed: {len(run.steps)} steps in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
