"""Section D: the waiting queue, ranked exactly as the API (and the engine) rank it."""

from __future__ import annotations

from exchanges.models import ExchangeAccount
from trading.reads.queue import ranked_rows

from ..commands import pending_labels
from .grid import grids_for
from .state import ViewState


def table(view: ViewState) -> dict:
    rows = ranked_rows()
    pending = pending_labels()
    account_ids = dict(ExchangeAccount.objects.values_list("label", "pk"))
    keys = {row["id"]: (account_ids.get(row["account"], 0), row["symbol"]) for row in rows}
    grids = grids_for((*keys[row["id"]], row["side"]) for row in rows)
    for row in rows:
        row["waited"] = view.now - row["queued_at"]
        row["pending"] = pending.get(("entry_id", row["id"]), [])
        row["grid"] = grids[keys[row["id"]]]
    return {"queue_rows": rows, "can_act": view.can_act}
