"""The suite's own guard (tests/conftest.py `no_network`): a test that resolves a name or
connects or sends anywhere but loopback fails before any packet leaves."""

from __future__ import annotations

import asyncio
import socket

import pytest


def test_resolving_a_name_fails_the_test() -> None:
    with pytest.raises(AssertionError, match="resolve a name"):
        socket.getaddrinfo("example.org", 443)
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("127.0.0.1", 80)


async def test_the_event_loops_lookups_go_through_the_guard() -> None:
    with pytest.raises(AssertionError, match="resolve a name"):
        await asyncio.get_running_loop().getaddrinfo("metadata.google.internal", 80)


@pytest.mark.parametrize("address", [("10.0.0.1", 80), ("169.254.169.254", 80), ("8.8.8.8", 53)])
def test_connecting_or_sending_elsewhere_fails_the_test(address: tuple[str, int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, pytest.raises(AssertionError):
        tcp.connect(address)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(AssertionError):
        udp.sendto(b"x", address)


def test_loopback_is_allowed() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
    ):
        server.bind(("127.0.0.1", 0))
        client.sendto(b"ping", server.getsockname())
        assert server.recv(4) == b"ping"
