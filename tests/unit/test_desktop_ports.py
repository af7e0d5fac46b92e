"""The desktop app's port: the same one each start while it is free, else one the OS picks at bind time."""

from __future__ import annotations

import socket

from desktop.ports import DEFAULT_PORT, LET_THE_OS_CHOOSE, choose_port, port_is_free


def test_preferred_port_is_kept_while_free() -> None:
    assert choose_port(DEFAULT_PORT, lambda port: True) == DEFAULT_PORT


def test_taken_preferred_port_lets_the_os_choose() -> None:
    asked: list[int] = []

    def taken(port: int) -> bool:
        asked.append(port)
        return False

    assert choose_port(8765, taken) == LET_THE_OS_CHOOSE
    assert asked == [8765]


def test_port_zero_asks_the_os_without_probing() -> None:
    def never_called(port: int) -> bool:
        raise AssertionError("port 0 needs no probe")

    assert choose_port(0, never_called) == LET_THE_OS_CHOOSE


def test_port_is_free_sees_a_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_is_free(port) is False
    assert port_is_free(port) is True
