"""`tmr serve --fd`: serving on a socket the starter bound (port 0) and handed over, so the port can
never be taken between choosing and serving it (serving/listener.py, serving/server.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tmr.errors import InvalidInput
from tmr.serving import server
from tmr.serving.listener import inherited_address


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock


def test_the_address_is_read_from_the_socket_and_the_socket_stays_open(listener: socket.socket) -> None:
    assert inherited_address(listener.fileno()) == ("127.0.0.1", listener.getsockname()[1])
    assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1  # not closed by the check


def test_a_bound_socket_that_does_not_listen_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        with pytest.raises(InvalidInput, match="is not listening"):
            inherited_address(sock.fileno())


def test_a_udp_socket_is_refused() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        pytest.raises(InvalidInput, match="not a TCP"),
    ):
        inherited_address(sock.fileno())


def test_a_closed_descriptor_is_refused() -> None:
    sock = socket.socket()
    fd = sock.fileno()
    sock.close()
    with pytest.raises(InvalidInput, match=f"--fd {fd} is not an open socket"):
        inherited_address(fd)


def test_uvicorn_is_given_the_descriptor_instead_of_an_address(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **options: calls.append(options))
    server.run("sendfile", "127.0.0.1", 8123, 2, fd=7)
    [call] = calls
    assert call["fd"] == 7
    assert "host" not in call
    assert "port" not in call


def test_granian_cannot_take_a_descriptor() -> None:
    with pytest.raises(InvalidInput, match="not --fd"):
        server.run("granian", "127.0.0.1", 8000, 1, fd=7)
