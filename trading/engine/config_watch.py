"""Settings changed outside the engine, picked up while it runs.

- `<data dir>/config.json` edited by hand: a cheap poll of the file's (mtime, size) every
  `WATCH_EVERY_SEC`; a changed file that has stayed the same for one more poll (an editor may write
  it in several steps) is validated by the config schema: a valid one goes through
  `config_service.load_file` (stored as a new version; the next tick applies it), an invalid one is
  refused with its reason in an error event (the console's alert bar and log), the last good config
  staying in force. The config service's own writes (a save in the
  console rewrites the file) come back here too and do nothing: `load_file` stores only a document
  that differs from the stored one.
- An exchange account's credentials or rate-limit mode changed in the console: the engine keeps one
  adapter (and order-rate limiter) per account, so the account's are dropped and rebuilt from the
  new values at their next use.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

from exchanges.models import ExchangeAccount

from .. import config_service, events
from ..config_schema import ConfigInvalid, validate_document
from .loop import Engine

log = logging.getLogger(__name__)

WATCH_EVERY_SEC = 2

Signature = tuple[int, int]  # (mtime_ns, size)


def file_signature() -> Signature | None:
    try:
        stat = config_service.config_path().stat()
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def account_fingerprints() -> dict[int, str]:
    """A digest per account of what its adapter is built from (never the values themselves)."""
    rows = ExchangeAccount.objects.values_list(
        "pk", "api_key", "api_secret", "passphrase", "sandbox", "rate_limit_mode"
    )
    return {row[0]: hashlib.sha256(repr(row[1:]).encode()).hexdigest() for row in rows}


def file_problem() -> tuple[str, list[dict[str, str]]] | None:
    """Why config.json cannot be loaded (a short reason and the field errors), or None if it can."""
    try:
        document = json.loads(config_service.config_path().read_text())
    except (OSError, ValueError) as exc:
        return f"not readable JSON ({exc})", []
    try:
        validate_document(document)
    except ConfigInvalid as exc:  # messages are scrubbed of secrets by the validator
        shown = "; ".join(f"{e['field'] or 'document'}: {e['message']}" for e in exc.errors[:3])
        more = f" (+{len(exc.errors) - 3} more)" if len(exc.errors) > 3 else ""
        return shown + more, exc.errors
    return None


@dataclass
class ConfigWatch:
    engine: Engine
    # What the watch last loaded (or found at start): the file as the engine knows it.
    loaded: Signature | None = None
    # A change seen once and not loaded yet: loaded when the next poll finds it unchanged.
    pending: Signature | None = None
    accounts: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.loaded = file_signature()  # the engine loaded this file when it started
        self.accounts = account_fingerprints()

    def poll(self) -> None:
        """One look at the file and at the accounts (the scheduler calls this every few seconds)."""
        if self.engine.suspended:
            return
        self.poll_file()
        self.poll_accounts()

    def poll_file(self) -> bool:
        """Load the file if it changed and has settled; True if it was loaded (or refused)."""
        seen = file_signature()
        if seen is None or seen == self.loaded:
            self.pending = None
            return False
        if seen != self.pending:
            self.pending = seen  # changed since the last look: wait until it stops changing
            return False
        self.loaded, self.pending = seen, None
        now = self.engine.ctx.now()
        problem = file_problem()
        if problem is not None:
            reason, errors = problem
            # The alert bar and the log show an event's message only: the reason goes into it.
            events.record(
                events.Category.ENGINE,
                f"config.json edit refused, the last good config stays in force: {reason}",
                severity=events.Severity.ERROR,
                context={"errors": errors},
                now=now,
            )
        else:
            try:
                config_service.load_file(now)
            except ConfigInvalid as exc:  # edited again since we looked; load_file recorded it
                log.warning("config.json not loaded: %s", exc)
        # Our own store may have rewritten the file (missing defaults filled in): that is known too.
        self.loaded = file_signature()
        return True

    def poll_accounts(self) -> list[int]:
        """Drop the cached adapter of every account whose credentials changed; their ids."""
        now = account_fingerprints()
        changed = [pk for pk, digest in now.items() if self.accounts.get(pk) != digest]
        self.accounts = now
        ctx = self.engine.ctx
        for pk in changed:
            # Rebuilt on next use from the row as it is now (context.adapter / context.limiter).
            ctx._adapters.pop(pk, None)
            ctx.limiters.pop(pk, None)
        return changed
