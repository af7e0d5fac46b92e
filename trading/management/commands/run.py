"""`python manage.py run`: the embedded default — the web server (daphne) here, the engine loop in a
child process it starts, links and supervises (trading/engine_process.py). One command, one Ctrl-C.

Ctrl-C or SIGTERM stops both within `trading.shutdown.STOP_BOUND_SEC`: the web stops accepting,
drops the console's sockets (the pages reconnect once the server is back) and gives the requests in
flight `WEB_DRAIN_SEC` to finish; meanwhile the engine starts no new step, finishes the one in
progress and releases its lock. A second signal, or the watchdog if the clean stop overruns, ends
the process at once. The engine process also stops by itself when `run` dies, however it dies.
"""

from __future__ import annotations

import asyncio
import logging

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from exchanges.secrets import WrongEncryptionKey
from trading import config_service, live, web_address
from trading.bootstrap import prepare
from trading.engine.runner import PaperFeed
from trading.engine_process import EngineProcess, EngineStartFailed
from trading.shutdown import Shutdown, exit_now

log = logging.getLogger(__name__)

WEB_DRAIN_SEC = 2.0
# A deep accept queue: alerts come in bursts, and past daphne's default of 50 waiting connections
# the kernel resets the rest before daphne sees them (200 at once did, on a busy machine).
LISTEN_BACKLOG = 1024


class Command(BaseCommand):
    help = "Run the web server and the engine loop together (SQLite in the data dir by default)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--paper-feed",
            choices=["manual", "walk", "replay"],
            default=None,
            help="paper prices: manual (API), walk (seeded random walk) or replay (real candles)",
        )
        parser.add_argument(
            "--no-engine", action="store_true", help="serve the web only (engine runs elsewhere)"
        )

    def handle(
        self, *args, host: str, port: int, paper_feed: PaperFeed | None, no_engine: bool, **options
    ) -> None:
        # Import daphne first: it installs Twisted's asyncio reactor before anything else picks one.
        import daphne.server  # noqa: F401
        from daphne.endpoints import build_endpoint_description_strings
        from django.conf import settings

        from engine_site.asgi import application

        stopping = Shutdown()
        stopping.install()
        try:
            prepare()
        except WrongEncryptionKey as exc:
            raise CommandError(str(exc)) from exc
        service = None
        if not no_engine:
            service = EngineProcess(paper_feed)
            try:
                service.start()
            except EngineStartFailed as exc:
                raise CommandError(
                    f"{exc}. If another engine runs on this database, stop it, or start this one"
                    " with --no-engine."
                ) from exc
            stopping.on_request(service.request_stop)
        config_service.current()  # read once here: the flusher then follows this process's cached config
        live.start_flusher(lambda: config_service.cached().ui.realtime_update_ms / 1000, stopping.requested)
        try:
            endpoints = build_endpoint_description_strings(host=host, port=port)
            web = _web_server(application, endpoints=[f"{e}:backlog={LISTEN_BACKLOG}" for e in endpoints])
            stopping.on_request(web.stop_soon)
            self.stdout.write(
                f"TV engine on http://{host}:{port}/  (data dir {settings.DATA_DIR})\n"
                f"  webhook URL   http://{host}:{port}/webhooks/tradingview\n"
                f"  webhook secret in {settings.ENGINE_CONFIG_FILE} (security.webhook_secret)\n"
                f"  API docs      http://{host}:{port}/api/v1/docs\n"
                f"  engine        {f'running (process {service.pid})' if service else 'not started (--no-engine)'}\n"
                f"  stop          Ctrl-C or SIGTERM"
            )
            self.stdout.flush()
            if not stopping.requested.is_set():
                web.run()
        finally:
            web_address.forget()
            web_failed = not stopping.requested.is_set()  # the reactor stopped by itself: no listener
            stopping.request("the web server stopped")  # (if no signal did already)
            clean = service.stop(stopping.time_left()) if service is not None else True
        cut = "" if clean else " (the engine's step in progress was cut off)"
        log.info("stopped in %.1f s%s", stopping.elapsed(), cut)
        connections.close_all()
        if web_failed:
            log.error("could not serve on %s:%s (is the port in use?)", host, port)
        exit_now(1 if web_failed or not clean else 0)


def _web_server(application, *, endpoints: list[str]):
    """daphne's Server with a draining stop (`stop_soon`); built here, after daphne picked the reactor."""
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet import reactor

    class WebServer(Server):
        _draining = False

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.ports: list = []

        def run(self) -> None:
            # Twisted runs startup callbacks before the loop itself runs; one turn later it does.
            reactor.callWhenRunning(reactor.callLater, 0, self._loop_running)
            super().run()

        def _loop_running(self) -> None:
            live.use_event_loop(asyncio.get_running_loop())

        def listen_success(self, port) -> None:
            self.ports.append(port)
            super().listen_success(port)
            address = port.getHost()  # the bound port, also for --port 0
            web_address.remember(address.host, address.port)  # send_test_signal finds us here

        def stop_soon(self) -> None:
            """Drain and stop, from any thread or a signal handler."""
            reactor.callFromThread(self._drain)

        def _drain(self) -> None:
            if self._draining:
                return
            self._draining = True
            for listening in self.ports:
                listening.stopListening()
            for protocol in list(self.connections):
                if isinstance(protocol, WebSocketProtocol) and protocol.transport is not None:
                    # An abrupt close: the console's socket reconnects (with backoff) on 1006.
                    protocol.transport.abortConnection()
            self._wait_for_requests(reactor.seconds() + WEB_DRAIN_SEC)

        def _in_flight(self) -> int:
            return sum(
                1
                for details in self.connections.values()
                if (app := details.get("application_instance")) is not None and not app.done()
            )

        def _wait_for_requests(self, deadline: float) -> None:
            busy = self._in_flight()
            if busy and reactor.seconds() < deadline:
                reactor.callLater(0.05, self._wait_for_requests, deadline)
                return
            if busy:  # cut off when the loop stops: their clients get no answer
                log.warning(
                    "web: %d requests still in flight after %.1f s; dropping them", busy, WEB_DRAIN_SEC
                )
            self.stop()

    # Our own handlers (trading.shutdown) decide what a signal does, not Twisted's.
    return WebServer(application=application, endpoints=endpoints, signal_handlers=False)
