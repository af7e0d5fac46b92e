import json
import pytest
from tests.conftest import signal_payload

pytestmark = pytest.mark.django_db

@pytest.mark.parametrize("mut", ["float", "nul", "surrogate", "deep", "nan", "nulkey"])
def test_probe(driver, mut):
    p = signal_payload()
    if mut == "float":
        body = json.dumps(p).replace('"43000"', '43000.5').encode()
    elif mut == "nul":
        p["strategy_info"] = {"alert_name": "a\u0000b"}
        body = json.dumps(p).encode()
    elif mut == "nulkey":
        p["x\u0000"] = 1
        body = json.dumps(p).encode()
    elif mut == "surrogate":
        p["note"] = "\ud800"
        body = json.dumps(p).encode()
    elif mut == "deep":
        p["note"] = json.loads("[" * 900 + "]" * 900)
        body = json.dumps(p).encode()
    elif mut == "nan":
        body = json.dumps(p).replace('"43000"', 'NaN').replace('"500"', 'Infinity').encode()
    r = driver.webhook(raw=body)
    print(mut, r.status_code, r.content[:300])
    assert r.status_code < 500
