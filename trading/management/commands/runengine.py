"""`python manage.py runengine`: the engine loop alone, for production next to `daphne`; also the
engine process that `manage.py run` starts (linked to it, see trading/engine_process.py).

Ctrl-C or SIGTERM: no new step starts, the one in progress finishes and the lock is released, within
`trading.shutdown.STOP_BOUND_SEC`; a second signal, or the watchdog, ends the process at once.
"""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from exchanges.secrets import WrongEncryptionKey
from trading import engine_link, live
from trading.bootstrap import prepare
from trading.engine.lock import EngineAlreadyRunning
from trading.engine.loop import Engine
from trading.engine.runner import EngineService, PaperFeed
from trading.shutdown import Shutdown, exit_now

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the engine loop (blocking). Only one engine per database can run; a second one exits."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--paper-feed", choices=["manual", "walk", "replay"], default=None)
        parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations on start")

    def handle(self, *args, paper_feed: PaperFeed | None, no_migrate: bool, **options) -> None:
        stopping = Shutdown()
        stopping.install()
        try:
            prepare(migrate=not no_migrate)
        except WrongEncryptionKey as exc:
            raise CommandError(str(exc)) from exc
        engine = Engine()
        try:
            engine.start()
        except EngineAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
        service = EngineService(engine, paper_feed=paper_feed)
        stopping.on_request(service.request_stop)
        parent = engine_link.connect_to_parent()
        if parent is not None:
            _follow_parent(parent, service, stopping)
        service.start()
        if parent is not None:
            parent.send("ready")
        else:
            self.stdout.write("engine running; Ctrl-C or SIGTERM to stop")
            self.stdout.flush()
        try:
            stopping.requested.wait()
        finally:
            stopping.request("stop")  # also on an unexpected exit from the wait: the bound holds
            clean = service.stop(stopping.time_left())
        cut = "" if clean else " (the engine's step in progress was cut off)"
        log.info("stopped in %.1f s%s", stopping.elapsed(), cut)
        connections.close_all()
        exit_now(0 if clean else 1)


def _follow_parent(parent: engine_link.Endpoint, service: EngineService, stopping: Shutdown) -> None:
    """Started by `manage.py run`: woken by it, pushing console updates through it, gone with it."""
    live.use_sink(lambda topics, groups: parent.send("live", topics=topics, groups=groups))
    parent.serve(
        {"wake": lambda message: service.wake(), "stop": lambda message: stopping.request("run is stopping")},
        on_close=lambda: stopping.request("the web process (manage.py run) is gone"),
    )
