"""The server entry point and concurrent clients."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from simulator.control import SimulatorControl
from tests.simulator.conftest import PARTNER_TAG, admin_credentials, make_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_python_m_simulator_serves_the_demo_world(tmp_path):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "simulator",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--demo-world",
        "--time-scale",
        "60",
        "--seed",
        "3",
        "--latency-ms",
        "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        health = None
        deadline = time.monotonic() + 90  # moto's imports take a while on a loaded machine
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_simulator/health", timeout=1
                ) as response:
                    health = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.1)
        assert health is not None and health["ok"]
        assert health["clock"]["time_scale"] == 60
        endpoint = f"http://127.0.0.1:{port}"
        accounts = SimulatorControl(endpoint).accounts()
        assert [a["name"] for a in accounts] == ["acme", "globex"]
        client = make_client("workspaces", endpoint, admin_credentials(accounts[0]))
        assert client.describe_workspaces()["Workspaces"] == []
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    world = json.loads(out)
    assert [a["account_id"] for a in world["accounts"]] == ["111111111111", "222222222222"]


def test_concurrent_clients_do_not_lose_or_duplicate(simulator, acme):
    errors: list[Exception] = []

    def worker(index: int) -> None:
        client = make_client("workspaces", simulator.endpoint_url, admin_credentials(acme))
        try:
            for batch in range(4):
                requests = [
                    {
                        "DirectoryId": acme["directory_id"],
                        "UserName": f"w{index}-{batch}-{i}",
                        "BundleId": acme["bundle_id"],
                        "Tags": PARTNER_TAG,
                    }
                    for i in range(5)
                ]
                assert client.create_workspaces(Workspaces=requests)["FailedRequests"] == []
                client.describe_workspaces(Limit=5)
        except Exception as error:  # noqa: BLE001 - surfaced below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    client = make_client("workspaces", simulator.endpoint_url, admin_credentials(acme))
    ids = [
        w["WorkspaceId"]
        for p in client.get_paginator("describe_workspaces").paginate()
        for w in p["Workspaces"]
    ]
    assert len(ids) == len(set(ids)) == 8 * 4 * 5
    assert simulator.call_counts()["CreateWorkspaces"] == 32
