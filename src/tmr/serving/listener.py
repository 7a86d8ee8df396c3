"""A listening socket inherited from the process that started `tmr serve` (`--fd`).

Whoever starts tmr can bind the port first (port 0: the kernel picks a free one) and hand the
already-listening socket over, so no other process can take the port between choosing and serving
it: the test harness and benchmarks start servers this way.
"""

from __future__ import annotations

import os
import socket

from tmr.errors import InvalidInput


def inherited_address(fd: int) -> tuple[str, int]:
    """The (host, port) the inherited TCP socket `fd` listens on; InvalidInput when it is not one."""
    try:
        # A duplicate, so closing this object leaves `fd` itself open for the server.
        sock = socket.socket(fileno=os.dup(fd))
    except OSError as exc:
        raise InvalidInput(f"--fd {fd} is not an open socket ({exc.strerror})") from None
    with sock:
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
            raise InvalidInput(f"--fd {fd} is not a TCP socket")
        if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            raise InvalidInput(f"--fd {fd} is not listening (bind and listen before handing it over)")
        host, port = sock.getsockname()[:2]
    return str(host), int(port)
