"""Section D: the waiting queue, ranked exactly as the API (and the engine) rank it."""

from __future__ import annotations

from trading.reads.queue import ranked_rows

from ..commands import pending_labels
from .state import ViewState


def table(view: ViewState) -> dict:
    rows = ranked_rows()
    pending = pending_labels()
    for row in rows:
        row["waited"] = view.now - row["queued_at"]
        row["pending"] = pending.get(("entry_id", row["id"]), [])
    return {"queue_rows": rows, "can_act": view.can_act}
