"""`python -m tests.emulator --host 127.0.0.1 --port 8900`: run the emulator standalone (end-to-end tests).

`--port 0` lets the kernel pick a free port; the first line printed names the one bound, so a caller
never has to guess a free port in advance."""

from __future__ import annotations

import argparse
import socket

import uvicorn

from tests.emulator.app import create_emulator_app
from tests.emulator.server import uvicorn_config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)  # connections queue from now on, before the app is even built
    port = sock.getsockname()[1]
    print(
        f"emulator: HF_ENDPOINT=http://{args.host}:{port} GITHUB_API_URL=http://{args.host}:{port}/github",
        flush=True,
    )
    server = uvicorn.Server(uvicorn_config(create_emulator_app(), args.host, port, args.log_level))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
