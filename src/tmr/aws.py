"""AWS Lambda entry point: the same app behind API Gateway through Mangum.

Built once per container (cold start) and reused across invocations; no background thread is
relied upon, and only /tmp is writable, so the data directory defaults there on Lambda.
"""

from __future__ import annotations

import os
from typing import Any

from mangum import Mangum

from tmr.app import create_app

os.environ.setdefault("TMR_DATA_DIR", "/tmp/tmr")  # noqa: S108 - Lambda's only writable place
_handler = Mangum(create_app(), lifespan="off", api_gateway_base_path=os.environ.get("TMR_BASE_PATH", "/"))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = _handler(event, context)
    return result
