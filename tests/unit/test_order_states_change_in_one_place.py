"""Every change of an order's state goes through `trading.engine.order_states` (checked against
the transition table, stamped, told). A static check: no other module of trading/ or risk/ sets
`Order.state` — no assignment, no `update(state=...)`, no order created in a state of its choosing.
(Saving a row whose state `move(..., save=False)` set, together with other fields, is allowed.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("trading", "risk")
THE_ONE_PLACE = ROOT / "trading" / "engine" / "order_states.py"
WRITES = {"update", "create", "bulk_create", "update_or_create", "get_or_create"}


def _root_name(node: ast.expr) -> str:
    """The name a chain like `Order.objects.filter(...).update` starts from."""
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return node.id if isinstance(node, ast.Name) else ""


def _chain_attrs(node: ast.expr) -> set[str]:
    found = set()
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        if isinstance(node, ast.Attribute):
            found.add(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            node = node.value
    return found


def _is_order(node: ast.expr) -> bool:
    """An order instance (`order`, `close_order`, ...) or a query over orders (`Order.objects`,
    `group.orders`)."""
    name = node.id if isinstance(node, ast.Name) else ""
    return "order" in name.lower() or _root_name(node) == "Order" or "orders" in _chain_attrs(node)


def _mentions_order_state(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "OrderState" for n in ast.walk(node))


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        found: list[ast.expr] = []
        for target in node.targets:
            found += target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
        return found
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target]
    return []


def state_writes(source: str) -> list[int]:
    """Line numbers where `source` writes an order's state."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        for target in _targets(node):
            value = getattr(node, "value", None)
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "state"
                and (_is_order(target.value) or (value is not None and _mentions_order_state(value)))
            ):
                lines.append(node.lineno)
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if "state" in keywords and (
            (isinstance(func, ast.Name) and func.id == "Order")
            or (
                isinstance(func, ast.Attribute)
                and func.attr in WRITES
                and (_is_order(func.value) or _mentions_order_state(keywords["state"]))
            )
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_check_finds_every_way_of_writing_an_order_state():
    source = """
order.state = OrderState.CANCELLED
order.state, order.error = OrderState.CANCELLED, "why"
close_order.state = new_state
row.state = OrderState.OPEN
Order.objects.filter(pk__in=ids).update(state=OrderState.QUEUED)
group.orders.filter(purpose="dca").update(state="cancelled")
Order.objects.create(state="open", qty=1)
Order(state="filled")
"""
    assert state_writes(source) == list(range(2, 10))


def test_the_check_leaves_reads_and_other_states_alone():
    source = """
Order.objects.filter(state=OrderState.QUEUED).exists()
qs.exclude(state=OrderState.QUEUED)
leg.state = LegState.CANCELLED
order.leg.state = LegState.CANCELLED
DcaLeg.objects.filter(pk__in=ids).update(state=state)
leg.save(update_fields=["state", "updated_at"])
group.save(update_fields=["status"])
if order.state == OrderState.OPEN: pass
order.save(update_fields=["state", "error"])  # persists what `move(..., save=False)` set
"""
    assert state_writes(source) == []


def test_every_order_state_change_goes_through_order_states():
    offenders = []
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == THE_ONE_PLACE or "migrations" in path.parts:
                continue
            for line in state_writes(path.read_text()):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == [], "order state written outside trading/engine/order_states.py"
