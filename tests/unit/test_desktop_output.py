"""Output nobody can read (a Finder-started .app, a windowed Windows build) goes to the data dir's log."""

from __future__ import annotations

import io
import os

from desktop.launcher import output_discarded


def test_missing_stream_is_discarded_output() -> None:
    assert output_discarded(None)


def test_null_device_is_discarded_output() -> None:
    with open(os.devnull, "w") as null:
        assert output_discarded(null)


def test_a_file_or_terminal_keeps_the_output(tmp_path) -> None:
    with open(tmp_path / "out.log", "w") as file:
        assert not output_discarded(file)


def test_a_stream_without_a_file_descriptor_keeps_the_output() -> None:
    assert not output_discarded(io.StringIO())
