"""`python manage.py runengine`: the engine loop alone, for production next to `daphne`."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from exchanges.secrets import WrongEncryptionKey
from trading.bootstrap import prepare
from trading.engine.lock import EngineAlreadyRunning
from trading.engine.loop import Engine
from trading.engine.runner import build_scheduler


class Command(BaseCommand):
    help = "Run the engine loop (blocking). Only one engine per database can run; a second one exits."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--paper-feed", choices=["manual", "walk", "replay"], default=None)
        parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations on start")

    def handle(self, *args, paper_feed: str | None, no_migrate: bool, **options) -> None:
        try:
            prepare(migrate=not no_migrate)
        except WrongEncryptionKey as exc:
            raise CommandError(str(exc)) from exc
        engine = Engine()
        try:
            engine.start()
        except EngineAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
        scheduler = build_scheduler(engine, blocking=False, paper_feed=paper_feed)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        scheduler.start()
        self.stdout.write("engine running; Ctrl-C to stop")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            # Let the running step finish and commit before letting go of the lock.
            scheduler.shutdown(wait=True)
            engine.stop()
