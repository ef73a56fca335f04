"""A process that imports the stack's libraries once and forks each Celery worker or beat a test starts.

Every integration test starts a worker and a beat of its own, and each spent about 1.5 s of CPU importing
Django, Celery, boto3 and psycopg before doing anything: on a 2-core machine, minutes of a suite run. A
fork of this process has them imported already; what depends on the test's environment (the settings, the
project's apps, the Celery app) is still imported in the child, after its environment is set, exactly as a
fresh interpreter would.

Run as `python -m tests.integration.preload SOCKET`; `tests.integration.stack.PreloadedStarter` speaks to it:
one JSON line per request ({"argv", "env", "cwd", "log"}), answered with {"pid"}.
"""

import contextlib
import importlib
import json
import os
import signal
import socket
import sys
from typing import Any, NoReturn

# Libraries only: nothing here reads the settings, the environment or a model at import time. The project's
# own modules are imported by the child, after it has its environment.
PRELOADED_MODULES = (
    "boto3",
    "botocore.client",
    "botocore.session",
    "botocore.loaders",
    "jmespath",
    "celery",
    "celery.app.base",
    "celery.bin.celery",
    "celery.bin.worker",
    "celery.bin.beat",
    "celery.apps.worker",
    "celery.apps.beat",
    "celery.worker.consumer",
    "celery.concurrency.prefork",
    "celery.beat",
    "kombu",
    "kombu.transport.redis",
    "redis",
    "billiard.pool",
    "psycopg",
    "django",
    "django.db.models",
    "django.db.backends.postgresql.base",
    "django.forms",
    "django.http",
    "django.template",
    "django.urls",
    "django.views.generic",
    "cryptography.fernet",
    "requests",
    "dateutil.parser",
)


def _preload() -> None:
    for name in PRELOADED_MODULES:
        importlib.import_module(name)


def _become(request: dict[str, Any]) -> NoReturn:
    """In the forked child: the process `argv` would have started, with its environment and log."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the worker waits for its own pool processes
        os.setsid()  # a group of its own: tests kill the worker and its pool with one killpg
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        sys.path.insert(0, request["cwd"])
        argv = request["argv"]
        module = argv[argv.index("-m") + 1]
        sys.argv = [module, *argv[argv.index("-m") + 2 :]]
        runpy = importlib.import_module("runpy")
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # the log shows why; the parent sees the process gone
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    os._exit(code)


def serve(socket_path: str) -> None:
    _preload()
    # Children are reaped by the kernel: the test watches them through pidfds, not wait().
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(8)
    print("preload ready", flush=True)
    while True:
        connection, _ = server.accept()
        with connection:
            request = json.loads(connection.makefile("r").readline())
            pid = os.fork()
            if pid == 0:
                server.close()
                connection.close()
                _become(request)
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")


if __name__ == "__main__":
    serve(sys.argv[1])
