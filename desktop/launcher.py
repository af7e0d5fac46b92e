"""`tv-engine`: the desktop app's entry point (the console script and the frozen app's executable).

It keeps the data in the platform's user data folder, serves on a local port, starts exactly what
`manage.py run` starts (web + engine process, same start-up and same clean stop on Ctrl-C, SIGTERM
or closing the window), opens the console in the browser once it answers, and on first start opens
the one-time set-up page instead (desktop.first_run).

    tv-engine [--port N] [--data-dir DIR] [--no-browser] [--paper-feed manual|walk|replay]
    tv-engine manage COMMAND ...     any manage.py command on the app's data (backup, send_test_signal …)
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import webbrowser
from collections.abc import Mapping
from pathlib import Path
from typing import IO, NoReturn

from . import first_run
from .ports import DEFAULT_PORT, choose_port, port_is_free

APP_NAME = "TV Engine"
SETTINGS_MODULE = "engine_site.settings"
HEALTH_PATH = "/api/v1/health"
# A first start on a slow machine migrates and loads the market rules before the web answers.
READY_TIMEOUT_SEC = 300.0
DESKTOP_LOG = "desktop.log"


def data_dir(explicit: str | None, environ: Mapping[str, str]) -> Path:
    """--data-dir, else ENGINE_DATA_DIR (as for `manage.py`), else the platform's user data folder."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    if environ.get("ENGINE_DATA_DIR"):
        return Path(environ["ENGINE_DATA_DIR"]).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=False))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    # The engine process: trading.engine_process starts `sys.executable -m django runengine`; in the
    # frozen app sys.executable is this program, so it answers that command line itself.
    if argv[:2] == ["-m", "django"]:
        return _manage(argv[2:])
    # `sys.executable path/to/manage.py COMMAND` (how `replay` starts its child): the same.
    if argv[:1] and Path(argv[0]).name == "manage.py":
        return _manage(argv[1:])
    if argv[:1] == ["manage"]:
        os.environ["ENGINE_DATA_DIR"] = str(data_dir(None, os.environ))
        return _manage(argv[1:])
    _serve(_parser().parse_args(argv))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tv-engine", description="Start TV Engine and open its console.")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="preferred local port (0: any free one)"
    )
    parser.add_argument("--data-dir", help="where the database, config and logs live")
    parser.add_argument("--no-browser", action="store_true", help="do not open the browser")
    parser.add_argument("--paper-feed", choices=["manual", "walk", "replay"], default=None)
    return parser


def _manage(args: list[str]) -> None:
    _set_up_environment(Path(os.environ["ENGINE_DATA_DIR"]) if os.environ.get("ENGINE_DATA_DIR") else None)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tv-engine manage", *args])


def _serve(args: argparse.Namespace) -> None:
    directory = data_dir(args.data_dir, os.environ)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["ENGINE_DATA_DIR"] = str(directory)  # before Django reads its settings
    _set_up_environment(directory)
    import django

    django.setup()
    from django.core.management import CommandError, call_command
    from django.db import connections

    from .accounts import anyone_can_sign_in

    # `run` migrates too; here first, to know whether this is a first start (no account yet).
    call_command("migrate", interactive=False, verbosity=0)
    has_user = anyone_can_sign_in()
    running = _already_running()
    token = None if has_user else first_run.issue_token(directory)
    connections.close_all()
    if running is not None:
        # Started again (a second click on the icon): show the running app instead of a second one.
        print(f"TV Engine is already running on this data folder: {running}/ (this copy exits)", flush=True)
        _show(running, directory, has_user, token, not args.no_browser, here=False)
        return
    port = choose_port(args.port, port_is_free)
    threading.Thread(
        target=_announce_when_ready,
        args=(directory, has_user, token, not args.no_browser),
        name="desktop-announce",
        daemon=True,
    ).start()
    # The very command `manage.py run` is: its start-up, engine process and clean stop. It ends this
    # process itself (trading.shutdown.exit_now) once web and engine have stopped.
    try:
        call_command("run", host="127.0.0.1", port=port, paper_feed=args.paper_feed, no_engine=False)
    except CommandError as exc:  # e.g. another engine holds this data folder, or a wrong key file
        _refuse_to_start(str(exc))


def _refuse_to_start(reason: str) -> NoReturn:
    print(f"TV Engine could not start: {reason}", file=sys.stderr, flush=True)
    # A double-clicked Windows app's window closes when it exits: keep the reason on screen.
    if getattr(sys, "frozen", False) and sys.stdin is not None and sys.stdin.isatty():
        input("Press Enter to close this window.")
    sys.exit(1)


def _set_up_environment(directory: Path | None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    # An app started from Finder or a windowed Windows build has no terminal (no stdout, or /dev/null):
    # its output goes to a file in the data dir instead, where docs/desktop.md sends people to look.
    if directory is None or not (output_discarded(sys.stdout) or output_discarded(sys.stderr)):
        return
    logs = directory / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stream = open(logs / DESKTOP_LOG, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the process's life
    if output_discarded(sys.stdout):
        sys.stdout = stream
    if output_discarded(sys.stderr):
        sys.stderr = stream


def output_discarded(stream: IO[str] | None) -> bool:
    """True when nobody can read what is written to `stream`: none at all, or the null device."""
    if stream is None:
        return True
    try:
        return os.path.samestat(os.fstat(stream.fileno()), os.stat(os.devnull))
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False  # no file descriptor (a test's StringIO) or no null device to compare: keep it


def _announce_when_ready(directory: Path, has_user: bool, token: str | None, open_browser: bool) -> None:
    base = _wait_until_healthy(READY_TIMEOUT_SEC)
    if base is None:
        print(
            f"TV Engine did not answer within {READY_TIMEOUT_SEC:.0f} s; see the messages above.", flush=True
        )
        return
    _show(base, directory, has_user, token, open_browser, here=True)


def _show(
    base: str, directory: Path, has_user: bool, token: str | None, open_browser: bool, *, here: bool
) -> None:
    """Say where the app runs and keeps its data; open the console (or the first-start page)."""
    page = first_run.first_page(base, has_user=has_user, token=token)
    from django.conf import settings

    lines = [
        "",
        f"TV Engine is running: {base}/",
        f"  data folder  {directory}",
        f"  event log    {settings.ENGINE_LOG_FILE}",
    ]
    if sys.stdout is not None and getattr(sys.stdout, "name", "").endswith(DESKTOP_LOG):
        lines.append(f"  output log   {sys.stdout.name}")
    if token:
        lines.append(f"  first start: create your admin account at {page}")
    if here:
        lines.append("  to stop: press Ctrl-C (or close this window)")
    print("\n".join(lines), flush=True)
    if open_browser and not webbrowser.open(page):
        print(f"Could not open a browser; open {page} yourself.", flush=True)


def _already_running() -> str | None:
    """The base URL of an app already serving this data folder, if one answers."""
    from trading import web_address

    base = web_address.running_base_url()
    return base if base is not None and _answers(base + HEALTH_PATH) else None


def _wait_until_healthy(timeout: float) -> str | None:
    """The base URL once `run` listens (it records the bound port) and its health check answers 200."""
    from trading import web_address

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        base = web_address.running_base_url()
        if base is not None and _answers(base + HEALTH_PATH):
            return base
        time.sleep(0.2)
    return None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


if __name__ == "__main__":
    main()
