"""`python manage.py run`: the embedded default — web server (daphne) and engine loop in one process."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError

from exchanges.secrets import WrongEncryptionKey
from trading.bootstrap import prepare
from trading.engine.lock import EngineAlreadyRunning
from trading.engine.loop import Engine
from trading.engine.runner import build_scheduler

log = logging.getLogger(__name__)


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

    def handle(self, *args, host: str, port: int, paper_feed: str | None, no_engine: bool, **options) -> None:
        # Import daphne first: it installs Twisted's asyncio reactor before anything else picks one.
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server
        from django.conf import settings

        from engine_site.asgi import application

        try:
            prepare()
        except WrongEncryptionKey as exc:
            raise CommandError(str(exc)) from exc
        engine = scheduler = None
        if not no_engine:
            engine = Engine()
            try:
                engine.start()
            except EngineAlreadyRunning as exc:
                raise CommandError(
                    f"{exc}. Stop the other engine, or start this one with --no-engine."
                ) from exc
            scheduler = build_scheduler(engine, blocking=False, paper_feed=paper_feed)
            scheduler.start()
        self.stdout.write(
            f"TV engine on http://{host}:{port}/  (data dir {settings.DATA_DIR})\n"
            f"  webhook URL   http://{host}:{port}/webhooks/tradingview\n"
            f"  webhook secret in {settings.ENGINE_CONFIG_FILE} (security.webhook_secret)\n"
            f"  API docs      http://{host}:{port}/api/v1/docs\n"
            f"  engine        {'running' if engine else 'not started (--no-engine)'}"
        )
        self.stdout.flush()
        from twisted.internet import reactor

        from trading import live

        live.use_event_loop(reactor._asyncioEventloop)  # type: ignore[attr-defined]
        try:
            Server(
                application=application,
                endpoints=build_endpoint_description_strings(host=host, port=port),
                signal_handlers=True,
            ).run()
        finally:
            live.use_event_loop(None)  # the web loop is gone: pushes must not wait on it
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            if engine is not None:
                engine.stop()
