"""`manage.py replay`: what-if runs of recorded signals on historical candles (docs/replay.md).

The parent checks the inputs, reads what it needs from the live database (the config, and the
inbox with --from-inbox) without writing, and runs each replay in a child process of this command
whose database is a throw-away SQLite file in a temp dir: Django's DATABASES is fixed when settings
load, so a fresh process is the one sure way to never touch the live database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchanges.core.adapter import ExchangeError
from trading.replay.candles import InputError, load_candles, parse_time, symbol_from_name
from trading.replay.metrics import format_summaries
from trading.replay.signals import load_signals, timed

_SECRET_WORDS = ("secret", "token", "password")


class Command(BaseCommand):
    help = "Replay signals against historical candles through the engine on a throw-away database."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--signals",
            help="JSON list of TradingView alerts, or CSV timestamp,symbol,timeframe,intent,side,price,size",
        )
        source.add_argument("--from-inbox", action="store_true", help="the signals this instance received")
        parser.add_argument("--from", dest="start", help="start (ISO 8601 date or time, UTC)")
        parser.add_argument("--to", dest="end", help="end (ISO 8601 date or time, UTC; inclusive)")
        parser.add_argument(
            "--candles",
            action="append",
            default=[],
            help="candle file (freqtrade JSON or CSV); SYMBOL=FILE or FILE named like BTC_USDT-1h.json; repeat for more markets",
        )
        parser.add_argument(
            "--fetch",
            metavar="ACCOUNT",
            help="fetch the signals' markets' candles from this exchange account's venue (ccxt fetch_ohlcv),"
            " cached in <data dir>/candles/; markets given with --candles are not fetched",
        )
        parser.add_argument("--timeframe", default="1h", help="candle length for --fetch (default 1h)")
        parser.add_argument("--config", help="config file to replay under (default: the current config)")
        parser.add_argument("--out", default="replay-out", help="output directory (default ./replay-out)")
        parser.add_argument("--compare", help="a second config file: run both and print them side by side")
        parser.add_argument("--child", help=argparse_hidden())

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["child"]:
            self._child(Path(opts["child"]))
            return
        try:
            base = self._spec(opts)
        except InputError as exc:
            raise CommandError(str(exc)) from exc
        out = Path(opts["out"])
        if not opts["compare"]:
            report = _run_child(base, out)
            self.stdout.write(format_summaries([(base["label"], report["summary"])]))
            self.stdout.write(f"outputs in {out}")
            return
        try:
            other_config = _read_config(Path(opts["compare"]))
        except InputError as exc:
            raise CommandError(str(exc)) from exc
        other = {**base, "config": other_config, "label": Path(opts["compare"]).name}
        if other["label"] == base["label"]:
            other["label"] += " (compare)"
        first = _run_child(base, out / "a")
        second = _run_child(other, out / "b")
        self.stdout.write(
            format_summaries([(base["label"], first["summary"]), (other["label"], second["summary"])])
        )
        (out / "compare.json").write_text(json.dumps({"a": first, "b": second}, indent=2) + "\n")
        self.stdout.write(f"outputs in {out}/a and {out}/b")

    def _spec(self, opts: dict[str, Any]) -> dict[str, Any]:
        if not opts["candles"] and not opts["fetch"]:
            raise InputError("give --candles FILE (a candle file per market) or --fetch ACCOUNT")
        if not opts["signals"] and not opts["from_inbox"]:
            raise InputError("give --signals FILE or --from-inbox")
        start = parse_time(opts["start"], "--from") if opts["start"] else None
        end = parse_time(opts["end"], "--to") if opts["end"] else None
        if start and end and end < start:
            raise InputError("--to is before --from")
        candles: dict[str, str] = {}
        for item in opts["candles"]:
            symbol, _, path = item.rpartition("=")
            file = Path(path)
            symbol = symbol or symbol_from_name(file.name)
            load_candles(file)  # a bad file fails here, with its reason, before anything runs
            candles[symbol] = str(file.resolve())
        if opts["from_inbox"]:
            signals = _inbox_signals(start, end)
        else:
            signals = load_signals(Path(opts["signals"]))
        signals = [
            s
            for s in signals
            if (start is None or datetime.fromisoformat(s["at"]) >= start)
            and (end is None or datetime.fromisoformat(s["at"]) <= end)
        ]
        if opts["fetch"]:
            candles |= _fetched_candles(opts["fetch"], opts["timeframe"], signals, set(candles), start, end)
        config = _read_config(Path(opts["config"])) if opts["config"] else _current_config()
        return {
            "label": Path(opts["config"]).name if opts["config"] else "current config",
            "candles": candles,
            "signals": signals,
            "config": config,
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
        }

    def _child(self, spec_path: Path) -> None:
        from trading.replay.runner import run_spec

        db = settings.DATABASES["default"]
        data_dir = Path(os.environ.get("ENGINE_DATA_DIR", "")).resolve()
        # The guard the whole design rests on: refuse anything but a SQLite file in the temp data dir.
        if not db["ENGINE"].endswith("sqlite3") or data_dir not in Path(str(db["NAME"])).resolve().parents:
            raise CommandError("replay child: refusing to run on a database outside its temp data dir")
        spec = json.loads(spec_path.read_text())
        try:
            run_spec(spec)
        except (InputError, ValueError) as exc:
            Path(spec["error_file"]).write_text(str(exc))
            raise SystemExit(2) from exc


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


def _run_child(spec: dict[str, Any], out: Path) -> dict[str, Any]:
    """Run one replay in a fresh process on a throw-away SQLite database; return its report."""
    tmp = Path(tempfile.mkdtemp(prefix="tv-replay-"))
    try:
        spec_path = tmp / "spec.json"
        error_file = tmp / "error.txt"
        spec_path.write_text(json.dumps({**spec, "out": str(out.resolve()), "error_file": str(error_file)}))
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ENGINE_WEBHOOK_SECRET")}
        env["ENGINE_DATA_DIR"] = str(tmp / "data")
        env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE", "engine_site.settings")
        manage = Path(settings.BASE_DIR) / "manage.py"
        done = subprocess.run(
            [sys.executable, str(manage), "replay", "--child", str(spec_path)], env=env, check=False
        )
        if done.returncode != 0:
            reason = error_file.read_text() if error_file.exists() else f"exit status {done.returncode}"
            raise CommandError(f"replay failed: {reason}")
        return json.loads((out / "report.json").read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetched_candles(
    label: str,
    timeframe: str,
    signals: list[dict[str, Any]],
    have: set[str],
    start: datetime | None,
    end: datetime | None,
) -> dict[str, str]:
    """Cache files of the signals' markets from `label`'s venue, from `start` (else the first signal)
    to `end` (else now); the live database is only read, for the account and its keys."""
    from exchanges.models import ExchangeAccount, Venue
    from exchanges.registry import VenueNotSupported, build_adapter
    from trading.config_schema import default_config
    from trading.replay.fetch import cached_candles, candle_step

    step = candle_step(timeframe)
    account = ExchangeAccount.objects.filter(label=label).first() if _live_database_exists() else None
    if account is None:
        raise InputError(
            f"--fetch {label}: no such exchange account (Settings → Exchange accounts lists them)"
        )
    if account.venue == Venue.PAPER:
        raise InputError(f"--fetch {label}: the paper exchange keeps no candle history; use --candles")
    if not signals:
        raise InputError("--fetch: no signals in that range, so no markets to fetch")
    now = datetime.now(UTC)
    try:
        adapter = build_adapter(account, default_config(), lambda: datetime.now(UTC))
    except VenueNotSupported as exc:
        raise InputError(f"--fetch {label}: {exc}") from exc
    try:
        catalog = adapter.load_markets()
    except ExchangeError as exc:
        raise InputError(f"--fetch {label}: {account.venue} did not answer: {exc}") from exc
    first = min(datetime.fromisoformat(s["at"]) for s in signals)
    start = start or first - step
    cache_dir = (
        Path(settings.DATA_DIR) / "candles" / (account.venue + ("-sandbox" if account.sandbox else ""))
    )
    found: dict[str, str] = {}
    for raw in sorted({str(s["payload"].get("tv", {}).get("symbol", "")) for s in signals}):
        symbol = catalog.resolve(raw)
        if symbol is None:
            raise InputError(f"--fetch {label}: {raw!r} is not a market on {account.venue}")
        if symbol in have or symbol in found:
            continue
        try:
            path = cached_candles(adapter.fetch_candles, cache_dir, symbol, timeframe, start, end or now, now)
        except ExchangeError as exc:
            raise InputError(f"--fetch {label}: {symbol} candles: {exc}") from exc
        found[symbol] = str(path)
    return found


def _read_config(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such config file") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable JSON config: {exc}") from exc
    if not isinstance(document, dict):
        raise InputError(f"{path}: a config is a JSON object of sections")
    from trading.config_schema import ConfigInvalid, default_config, merge_update

    try:
        merge_update(default_config(), document)  # validated here; applied in the child
    except ConfigInvalid as exc:
        raise InputError(f"{path}: invalid config: {exc}") from exc
    return _without_secrets(document)


def _current_config() -> dict[str, Any] | None:
    """The live config as stored, read without writing (None on a fresh install: the defaults)."""
    from django.db import DatabaseError

    from trading.models import ConfigDocument

    if not _live_database_exists():
        return None
    try:
        document = ConfigDocument.objects.filter(pk=1).values_list("document", flat=True).first()
    except DatabaseError:  # not migrated yet: nothing stored, the defaults apply
        return None
    return _without_secrets(document) if document else None


def _live_database_exists() -> bool:
    """False for a SQLite file that is not there yet (opening it would create it)."""
    from django.db import connection

    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return True
    return Path(str(connection.settings_dict["NAME"])).is_file()


def _without_secrets(value: Any) -> Any:
    """The throw-away database needs no secret of the live one."""
    if isinstance(value, dict):
        return {
            k: _without_secrets(v) for k, v in value.items() if not any(w in k.lower() for w in _SECRET_WORDS)
        }
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _inbox_signals(start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    """This instance's signals (duplicates left out), read-only, each at the time it arrived."""
    from django.db import DatabaseError

    from trading.models import Signal, SignalStatus

    if not _live_database_exists():
        raise InputError("no live database yet, so no inbox to replay")
    rows = Signal.objects.exclude(status=SignalStatus.DUPLICATE)
    if start:
        rows = rows.filter(received_at__gte=start)
    if end:
        rows = rows.filter(received_at__lte=end)
    try:
        found = list(rows.order_by("received_at", "id").values_list("id", "payload", "received_at"))
    except DatabaseError as exc:
        raise InputError(f"cannot read the inbox: {exc}") from exc
    signals = []
    for pk, payload, received_at in found:
        try:
            signals.append(timed(payload, f"inbox signal #{pk}", at=received_at))
        except InputError:
            continue  # the live engine rejected it on arrival too; the replay cannot do better
    if not signals:
        raise InputError("no signals in the inbox for that range")
    return signals
