"""The link between `manage.py run` and its engine process: JSON messages both ways over an
authenticated local connection, and the end of one side seen by the other."""

from __future__ import annotations

import os
import threading
from multiprocessing.connection import Client, Listener

import pytest

from trading.engine_link import (
    ADDRESS_ENV,
    KEY_ENV,
    Endpoint,
    connect_to_parent,
    decode,
    encode,
    link_environment,
)


@pytest.fixture
def pair():
    key = os.urandom(32)
    listener = Listener(("127.0.0.1", 0), authkey=key)
    accepted: list = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()))
    thread.start()
    child = Endpoint(Client(listener.address, authkey=key), "engine")
    thread.join(timeout=30)
    parent = Endpoint(accepted[0], "web")
    yield parent, child
    parent.close()
    child.close()
    listener.close()


def test_messages_are_json_with_a_kind() -> None:
    assert decode(encode("live", topics=["groups"], groups=[3])) == {
        "kind": "live",
        "topics": ["groups"],
        "groups": [3],
    }
    with pytest.raises(ValueError):
        decode(b'["wake"]')


def test_a_wake_sent_by_the_web_reaches_the_engine_handler(pair) -> None:
    parent, child = pair
    woken = threading.Event()
    child.serve({"wake": lambda message: woken.set()}, on_close=lambda: None)
    assert parent.send("wake")
    assert woken.wait(30)


def test_the_engine_sees_the_web_process_go_away(pair) -> None:
    parent, child = pair
    gone = threading.Event()
    child.serve({}, on_close=gone.set)
    parent.close()  # as when `run` dies: the socket closes
    assert gone.wait(30)
    assert not child.send("ready")  # a send to a closed link reports False, never raises


def test_unknown_kinds_are_ignored_and_the_link_stays_up(pair) -> None:
    parent, child = pair
    got = threading.Event()
    child.serve({"stop": lambda message: got.set()}, on_close=lambda: None)
    parent.send("from-the-future", detail=1)
    parent.send("stop")
    assert got.wait(30)


def test_a_standalone_runengine_has_no_parent(monkeypatch) -> None:
    monkeypatch.delenv(ADDRESS_ENV, raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert connect_to_parent() is None


def test_a_wrong_key_is_refused(monkeypatch) -> None:
    listener = Listener(("127.0.0.1", 0), authkey=os.urandom(32))
    refused: list[BaseException] = []

    def accept() -> None:
        try:
            listener.accept()
        except Exception as exc:  # noqa: BLE001 - the refusal is what this test looks for
            refused.append(exc)

    thread = threading.Thread(target=accept)
    thread.start()
    for name, value in link_environment(listener.address, os.urandom(32)).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Exception):  # noqa: B017, PT011 - AuthenticationError on the client side
        connect_to_parent()
    thread.join(timeout=30)
    listener.close()
    assert refused
