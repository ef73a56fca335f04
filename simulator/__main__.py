"""``python -m simulator --host 127.0.0.1 --port 5000 [--demo-world] [--time-scale N] [--seed N] [--latency-ms N]``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from simulator.server import SimulatorServer
from simulator.state import StartupOptions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Local Amazon WorkSpaces Core simulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument(
        "--demo-world", action="store_true", help="create the demo customer accounts at start"
    )
    parser.add_argument(
        "--demo-ready",
        action="store_true",
        help="with --demo-world: also onboard them (BYOL, directory, bundle)",
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per wall second")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and faults")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added latency of every WorkSpaces call"
    )
    parser.add_argument(
        "--duration",
        action="append",
        default=[],
        metavar="NAME=SECONDS",
        help="override a simulated duration, e.g. --duration provisioning=60 (repeatable)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    durations = {}
    for item in args.duration:
        name, _, seconds = item.partition("=")
        durations[name] = float(seconds)
    options = StartupOptions(
        time_scale=args.time_scale,
        seed=args.seed,
        latency_ms=args.latency_ms,
        demo_world=args.demo_world or args.demo_ready,
        demo_ready=args.demo_ready,
        durations=durations,
    )
    server = SimulatorServer(args.host, args.port, options)
    server.prepare()
    if server.demo is not None:
        print(json.dumps(server.demo, indent=2), flush=True)
    print(f"WorkSpaces simulator on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(prepared=True)


if __name__ == "__main__":
    main()
