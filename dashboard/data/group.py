"""`/positions/<id>/`: one group — its pyramids and legs, orders, trades and events."""

from __future__ import annotations

from itertools import groupby

from django.http import Http404

from trading import config_service
from trading.models import Event, Order, Pyramid, Trade

from ..commands import pending_labels
from .grid import grids_for
from .metrics import exits_for, figures_for, groups_with_account
from .positions import legs_for
from .state import ViewState

ORDERS_SHOWN = 50


def detail(view: ViewState) -> dict:
    group_id = int(view.params.get("group", 0) or 0)
    group = groups_with_account().filter(pk=group_id).first()
    if group is None:
        raise Http404(f"group #{group_id} not found")
    fig = figures_for([group])[group.pk]
    legs = legs_for(group, fig.price)
    pyramids = {p.index: p for p in Pyramid.objects.filter(group=group)}
    by_pyramid = [
        (pyramids.get(index), list(rows)) for index, rows in groupby(legs, key=lambda leg: leg.pyramid)
    ]
    return {
        "group": group,
        "fig": fig,
        "grid": grids_for([(group.account_id, group.symbol, group.side)])[(group.account_id, group.symbol)],
        "exits": exits_for([group]).get(group.pk),
        "pyramids": by_pyramid,
        "max_pyramids": config_service.current().grid_strategy.max_pyramids_per_group,
        "orders": list(Order.objects.filter(group=group).order_by("-id")[:ORDERS_SHOWN]),
        "trades": list(Trade.objects.filter(group=group).order_by("-closed_at", "-id")),
        "events": list(Event.objects.filter(group_id_ref=group.pk).order_by("-id")[:20]),
        "pending": pending_labels().get(("group_id", group.pk), []),
        "can_act": view.can_act,
    }
