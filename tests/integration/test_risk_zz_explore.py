from __future__ import annotations
import pytest
from risk.models import RiskAction, RiskEngineState
from trading.models import Trade, PositionGroup, DcaLeg, Event
from ..conftest import configure

pytestmark = pytest.mark.django_db

def test_explore(driver, clock):
    configure(grid_strategy={"dca_levels": [{"gap_percent": "0", "weight_percent": "100", "tp_percent": "50"}]},
              risk_engine={"post_full_wait_minutes": 0})
    driver.price("ETHUSDT", "2000"); driver.send(symbol="ETHUSDT", price="2000", size="500", trade_id="e")
    driver.price("SOLUSDT", "100"); driver.send(symbol="SOLUSDT", price="100", size="500", trade_id="s")
    for i, p in enumerate(["43000", "42000", "41000", "40000", "39000"]):
        driver.price("BTCUSDT", p); driver.send(price=p, size="200", trade_id=f"b{i}")
    driver.price("BTCUSDT", "36000"); driver.price("ETHUSDT", "2400"); driver.price("SOLUSDT", "110")
    print(RiskEngineState.objects.get().reason, RiskAction.objects.count())
    clock.advance(seconds=10)
    driver.tick()
    st = RiskEngineState.objects.get()
    print(st.status, st.reason)
    for a in RiskAction.objects.all():
        print(a.__dict__)
    for t in Trade.objects.all():
        print(t.symbol, t.reason, t.qty, t.entry_price, t.exit_price, t.realized_pnl, t.fees)
    for g in PositionGroup.objects.all():
        print(g.pk, g.symbol, g.status, g.realized_pnl, g.risk_timer_started_at, [(l.filled_qty, l.closed_qty, l.state) for l in g.legs.all()])
    for e in Event.objects.filter(category="risk").order_by("id"):
        print("EV", e.severity, e.message)
    import json; print(json.dumps(st.report, indent=1)[:3000])
