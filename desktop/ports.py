"""Which local port the desktop app serves on."""

from __future__ import annotations

import socket
from collections.abc import Callable

DEFAULT_PORT = 8765  # away from the usual development ports (8000, 8080), so both can run at once
LET_THE_OS_CHOOSE = 0  # `run --port 0` binds any free port and records it (trading.web_address)


def choose_port(preferred: int, is_free: Callable[[int], bool]) -> int:
    """The preferred port while it is free (a console address that stays the same between starts,
    so bookmarks and saved passwords keep working), else 0: the OS picks a free one at bind time,
    which no other program can take between our check and the bind."""
    if preferred != LET_THE_OS_CHOOSE and is_free(preferred):
        return preferred
    return LET_THE_OS_CHOOSE


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Can this process listen on host:port right now?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
