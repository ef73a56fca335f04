"""`.ci/audit-deps` (issue 12, item 12): real pip-audit over this environment, against a local OSV-shaped
service (the one vulnerability feed pip-audit lets us point elsewhere) or against a port nobody listens on."""

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_ROOT / ".ci" / "audit-deps"
# Ours to test with: a package surely installed here, and an advisory of our own making.
VULNERABLE = "django"
ADVISORY = "PYSEC-0000-TEST"

pytestmark = pytest.mark.timeout(240)  # pip-audit reads the whole environment first


class FakeOsv(BaseHTTPRequestHandler):
    """OSV's /v1/query: one advisory for VULNERABLE when `vulnerable` is set, nothing for anything else."""

    vulnerable = False
    queried: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = query["package"]["name"]
        type(self).queried.append(name)
        body: dict = {}
        if self.vulnerable and name == VULNERABLE:
            body = {
                "vulns": [
                    {
                        "id": ADVISORY,
                        "summary": "A test advisory",
                        "affected": [
                            {
                                "package": {"name": VULNERABLE, "ecosystem": "PyPI"},
                                "ranges": [
                                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}
                                ],
                            }
                        ],
                    }
                ]
            }
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def osv_server() -> Iterator[str]:
    FakeOsv.queried = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOsv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()
        FakeOsv.vulnerable = False


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens there


def run_audit(**environment: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("AUDIT_DEPS")}
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=PROJECT_ROOT,
        env={**env, "PYTHON": sys.executable, "NO_PROXY": "127.0.0.1", **environment},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_known_vulnerability_fails_the_run(osv_server):
    FakeOsv.vulnerable = True
    result = run_audit(AUDIT_DEPS_OSV_URL=osv_server)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{VULNERABLE} " in result.stdout and f"{ADVISORY} (fixed in 99.0)" in result.stdout
    assert "1 known vulnerabilities in 1 of" in result.stdout
    assert VULNERABLE in FakeOsv.queried and "pip-audit" in FakeOsv.queried


def test_no_known_vulnerability_passes(osv_server):
    result = run_audit(AUDIT_DEPS_OSV_URL=osv_server)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"no known vulnerability in {len(set(FakeOsv.queried))} packages" in result.stdout


def test_an_unreachable_service_is_said_plainly_and_does_not_fail():
    result = run_audit(AUDIT_DEPS_OSV_URL=f"http://127.0.0.1:{closed_port()}/v1/query")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "could not be reached; the dependencies were NOT audited" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_pypi_behind_an_unreachable_proxy_is_said_plainly_too():
    result = run_audit(HTTPS_PROXY=f"http://127.0.0.1:{closed_port()}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PyPI (pypi.org) could not be reached" in result.stdout


def test_ci_runs_it_after_installing():
    steps = (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
    assert steps.index(".ci/audit-deps") == steps.index("make install") + 2  # after its one-line comment
