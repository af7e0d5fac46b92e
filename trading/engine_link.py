"""The link between `manage.py run` (web server) and the engine process it starts.

One local TCP connection (stdlib `multiprocessing.connection`, authenticated with a random key
passed to the child in its environment), carrying small JSON messages both ways:

    web → engine   {"kind": "wake"}     a signal or command was committed: tick now
                   {"kind": "stop"}     `run` is stopping: stop cleanly
    engine → web   {"kind": "ready"}    the engine holds its lock and runs
                   {"kind": "live", "topics": [...], "groups": [...]}
                                        what changed, for the console's live pushes (the in-memory
                                        channel layer lives in the web process)

The connection also ties the two lives together: when the web process dies, however it dies, the
engine reads end-of-file and stops; when the engine dies, `run` sees it and starts a new one.
JSON, not pickle: nothing received is ever executed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Client, Connection
from typing import Any

log = logging.getLogger(__name__)

ADDRESS_ENV = "ENGINE_PARENT_LINK"  # "127.0.0.1:port"
KEY_ENV = "ENGINE_PARENT_KEY"  # hex


def encode(kind: str, **fields: Any) -> bytes:
    return json.dumps({"kind": kind, **fields}).encode()


def decode(raw: bytes) -> dict[str, Any]:
    message = json.loads(raw)
    if not isinstance(message, dict) or not isinstance(message.get("kind"), str):
        raise ValueError("not a link message")
    return message


class Endpoint:
    """One side of the link: thread-safe sends, a reader thread that dispatches by `kind`."""

    def __init__(self, conn: Connection, name: str) -> None:
        self.conn = conn
        self.name = name
        self._send_lock = threading.Lock()
        self.closed = threading.Event()

    def send(self, kind: str, **fields: Any) -> bool:
        """False (never an exception) when the other side is gone."""
        if self.closed.is_set():
            return False
        try:
            with self._send_lock:
                self.conn.send_bytes(encode(kind, **fields))
            return True
        except (OSError, EOFError, ValueError):
            self.closed.set()
            return False

    def serve(
        self, handlers: dict[str, Callable[[dict[str, Any]], None]], on_close: Callable[[], None]
    ) -> None:
        """Read messages on a daemon thread until the other side closes, then call `on_close`."""

        def read() -> None:
            try:
                while True:
                    message = decode(self.conn.recv_bytes())
                    handler = handlers.get(message["kind"])
                    if handler is not None:
                        handler(message)
            except (OSError, EOFError):
                pass  # the other side closed or died
            except Exception:  # noqa: BLE001 - a broken message ends the link like a close does
                log.exception("%s: unreadable message on the engine link", self.name)
            finally:
                self.closed.set()
                self.close()
                on_close()

        threading.Thread(target=read, name=f"{self.name}-reader", daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        try:
            self.conn.close()
        except OSError:
            pass


def link_environment(address: tuple[str, int], key: bytes) -> dict[str, str]:
    """What the engine child needs in its environment to connect back."""
    return {ADDRESS_ENV: f"{address[0]}:{address[1]}", KEY_ENV: key.hex()}


def connect_to_parent() -> Endpoint | None:
    """The engine child's end, if `run` started this process (None for a standalone `runengine`)."""
    address = os.environ.get(ADDRESS_ENV)
    key = os.environ.get(KEY_ENV)
    if not address or not key:
        return None
    host, _, port = address.rpartition(":")
    conn = Client((host, int(port)), authkey=bytes.fromhex(key))
    return Endpoint(conn, "engine")
