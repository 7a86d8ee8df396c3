"""`python -m tests.emulator --host 127.0.0.1 --port 8900`: run the emulator standalone (end-to-end tests)."""

from __future__ import annotations

import argparse

import uvicorn

from tests.emulator.app import create_emulator_app
from tests.emulator.server import uvicorn_config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    print(
        f"emulator: HF_ENDPOINT=http://{args.host}:{args.port} "
        f"GITHUB_API_URL=http://{args.host}:{args.port}/github",
        flush=True,
    )
    uvicorn.Server(uvicorn_config(create_emulator_app(), args.host, args.port, args.log_level)).run()


if __name__ == "__main__":
    main()
