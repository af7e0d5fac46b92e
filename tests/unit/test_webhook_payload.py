"""Rules for reading a TradingView webhook body: decoding, the schema, redaction and staleness."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.core.types import Intent, Side, SizeType
from trading.core.webhook_payload import (
    MAX_BODY_BYTES,
    ParsedSignal,
    PayloadError,
    decode_body,
    is_stale,
    parse_signal,
    payload_fingerprint,
    redact,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
SECRET = "hunter2-Very-Secret"
# An entry alert as TradingView fills the documented template: every placeholder arrives as text.
ALERT = """{"secret": "hunter2-Very-Secret", "source": "tradingview", "timestamp": "2024-05-03T10:15:00Z",
 "tv": {"exchange": "BINANCE", "symbol": "BTCUSDT", "timeframe": "15", "action": "buy",
        "market_position": "long", "market_position_size": "0.01", "prev_market_position": "flat",
        "prev_market_position_size": "0", "entry_price": "43000.5", "close_price": "43001", "order_size": "500"},
 "strategy_info": {"trade_id": "abc", "alert_name": "BTC 15m", "alert_message": ""},
 "execution_intent": {"type": "signal", "side": "buy", "position_size_type": "quote", "precision_mode": "auto"},
 "risk": {"stop_loss": "42000", "take_profit": "45000", "max_slippage_percent": "0.5"}}"""
NOW = datetime(2024, 5, 3, 10, 15, tzinfo=UTC)
# The alert's stop-loss and take-profit suit a long at 43000.5; tests of other prices or sides drop them.
NO_LEVELS = {"stop_loss": None, "take_profit": None}


def payload(**sections: Any) -> dict[str, Any]:
    """The alert above as decoded; a dict overrides keys of a section, anything else replaces it."""
    data: dict[str, Any] = decode_body(ALERT.encode(), "application/json")
    for name, values in sections.items():
        merge = isinstance(data.get(name), dict) and isinstance(values, dict)
        data[name] = {**data[name], **values} if merge else values
    return data


def without(data: dict[str, Any], section: str, key: str | None = None) -> dict[str, Any]:
    if key is None:
        del data[section]
    else:
        del data[section][key]
    return data


def errors_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(PayloadError) as caught:
        parse_signal(data)
    assert caught.value.status == 422
    return {e["field"]: e["message"] for e in caught.value.errors}


def refusal(body: bytes, content_type: str | None = None) -> str:
    with pytest.raises(PayloadError) as caught:
        decode_body(body, content_type)
    assert caught.value.status == 400 and len(caught.value.errors) == 1
    return caught.value.errors[0]["message"]


def test_max_body_is_64_kib() -> None:
    assert MAX_BODY_BYTES == 65536


def test_text_plain_body_holding_json_is_accepted() -> None:
    assert decode_body(ALERT.encode(), "text/plain; charset=utf-8") == payload()


@pytest.mark.parametrize("content_type", [None, "", "application/json", "application/x-www-form-urlencoded"])
def test_any_or_missing_content_type_is_accepted(content_type: str | None) -> None:
    assert decode_body(b'{"secret": "x"}', content_type) == {"secret": "x"}


def test_utf8_bom_and_surrounding_whitespace_are_tolerated() -> None:
    assert decode_body(b'\xef\xbb\xbf \r\n {"a": "1"} \n\n', "text/plain") == {"a": "1"}


@pytest.mark.parametrize("body", [b"", b"   \r\n\t", b"\xef\xbb\xbf"])
def test_empty_body_is_400(body: bytes) -> None:
    assert refusal(body, "text/plain") == "empty body"


def test_invalid_json_is_400_with_the_error_position() -> None:
    assert "line 3 column 7" in refusal(b'\n{"a": 1,\n "b": }', "application/json")


def test_unquoted_placeholder_in_a_broken_body_gets_a_hint() -> None:
    assert "placeholder" in refusal(b'{"price": {{close}}}', "text/plain")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null", b"true"])
def test_json_array_or_scalar_is_400(body: bytes) -> None:
    assert refusal(body, "application/json") == "expected a JSON object"


@pytest.mark.parametrize(
    "body", [b'{"a": "\xff"}', b"[" * 50_000 + b"]" * 50_000, b'{"a": ' + b"9" * 5000 + b"}"]
)
def test_non_utf8_absurd_nesting_and_huge_integers_are_400(body: bytes) -> None:
    refusal(body)


def test_nesting_deeper_than_20_levels_is_400_everywhere() -> None:
    deep = {"secret": "x", "note": json.loads("[" * 900 + "]" * 900)}
    assert "nested deeper than 20" in refusal(json.dumps(deep).encode())
    with pytest.raises(PayloadError) as caught:
        parse_signal(deep)
    assert caught.value.status == 400
    assert decode_body(json.dumps({"a": json.loads("[" * 19 + "]" * 19)}).encode(), None)


def test_valid_entry_alert_parses_to_a_signal() -> None:
    signal = parse_signal(payload())
    assert (signal.secret, signal.source, signal.sent_at) == (SECRET, "tradingview", NOW)
    assert (signal.exchange, signal.raw_symbol, signal.symbol) == ("binance", "BTCUSDT", "BTC/USDT")
    assert (signal.intent, signal.side, signal.size_type) == (Intent.SIGNAL, Side.LONG, SizeType.QUOTE)
    assert (signal.trade_id, signal.alert_name) == ("abc", "BTC 15m")
    assert (signal.prev_market_position, signal.market_position) == ("flat", "long")
    assert (signal.stop_loss, signal.take_profit) == (Decimal("42000"), Decimal("45000"))


def test_numbers_may_arrive_as_strings() -> None:
    signal = parse_signal(payload(tv={"entry_price": " 43000.5 ", "order_size": "1e2"}))
    assert (signal.entry_price, signal.order_size) == (Decimal("43000.5"), Decimal("100"))
    assert signal.max_slippage_percent == Decimal("0.5")


def test_numbers_may_arrive_as_json_numbers_and_stay_exact() -> None:
    assert decode_body(b'{"p": 0.1, "q": 7}', None) == {"p": Decimal("0.1"), "q": 7}
    data = payload(tv={"entry_price": 0.0027451, "order_size": 500}, risk=NO_LEVELS)
    body = json.dumps(data, default=str).encode()
    signal = parse_signal(decode_body(body, None))
    assert (signal.entry_price, signal.order_size) == (Decimal("0.0027451"), Decimal("500"))


def test_entry_price_falls_back_to_close_price() -> None:
    assert parse_signal(payload(tv={"entry_price": ""})).entry_price == Decimal("43001")
    assert parse_signal(payload(tv={"entry_price": "NaN"})).entry_price == Decimal("43001")


@pytest.mark.parametrize("missing", ["", "NaN", None])
def test_signal_needs_entry_or_close_price(missing: str | None) -> None:
    errors = errors_of(payload(tv={"entry_price": missing, "close_price": missing}))
    assert "entry_price or close_price is required" in errors["tv.entry_price"]


@pytest.mark.parametrize(
    ("section", "key"),
    [("tv", "entry_price"), ("tv", "close_price"), ("tv", "order_size"), ("risk", "stop_loss")],
)
@pytest.mark.parametrize("bad", ["0", "-5", 0])
def test_prices_and_sizes_must_be_positive(section: str, key: str, bad: object) -> None:
    assert errors_of(payload(**{section: {key: bad}})) == {f"{section}.{key}": "must be greater than 0"}


@pytest.mark.parametrize(
    "bad", ["Infinity", "-inf", "abc", "1,000", "0x10", "١٥", "1e30", "1e-20", [1], True]
)
def test_non_numbers_infinities_and_absurd_magnitudes_are_rejected(bad: object) -> None:
    assert set(errors_of(payload(tv={"order_size": bad}))) == {"tv.order_size"}


def test_bare_nan_and_infinity_literals_in_json() -> None:
    body = ALERT.replace('"43000.5"', "NaN").replace('"500"', "Infinity").encode()
    data = decode_body(body, None)
    assert set(errors_of(data)) == {"tv.order_size"}
    assert parse_signal(without(data, "tv", "order_size")).entry_price == Decimal("43001")


def test_optional_numbers_treat_empty_nan_and_null_as_missing() -> None:
    blank = {"stop_loss": "", "take_profit": "NaN", "max_slippage_percent": None}
    signal = parse_signal(payload(risk=blank, tv={"order_size": " "}))
    values = [signal.stop_loss, signal.take_profit, signal.max_slippage_percent, signal.order_size]
    assert values == [None] * 4


def test_slippage_is_a_percentage() -> None:
    assert "risk.max_slippage_percent" in errors_of(payload(risk={"max_slippage_percent": "150"}))


def test_size_type_defaults_to_quote() -> None:
    data = without(payload(), "execution_intent", "position_size_type")
    assert parse_signal(data).size_type is SizeType.QUOTE
    assert parse_signal(payload(execution_intent={"position_size_type": "Base"})).size_type is SizeType.BASE


@pytest.mark.parametrize(
    ("raw", "side"), [("buy", Side.LONG), ("LONG", Side.LONG), ("sell", Side.SHORT), ("Short", Side.SHORT)]
)
def test_buy_and_long_mean_long_sell_and_short_mean_short(raw: str, side: Side) -> None:
    assert parse_signal(payload(execution_intent={"side": raw}, risk=NO_LEVELS)).side is side


@pytest.mark.parametrize("intent", ["signal", "reverse"])
def test_side_is_required_for_signal_and_reverse(intent: str) -> None:
    errors = errors_of(payload(execution_intent={"type": intent, "side": ""}))
    assert errors == {"execution_intent.side": f"is required for {intent}"}


@pytest.mark.parametrize("intent", ["exit", "reduce", "EXIT"])
def test_side_and_price_are_optional_for_exit_and_reduce(intent: str) -> None:
    data = payload(execution_intent={"type": intent}, tv={"entry_price": "", "close_price": ""})
    signal = parse_signal(without(data, "execution_intent", "side"))
    assert (signal.intent, signal.side, signal.entry_price) == (Intent(intent.lower()), None, None)


def test_missing_exchange_means_the_default_account() -> None:
    assert parse_signal(without(payload(), "tv", "exchange")).exchange is None
    assert parse_signal(payload(tv={"exchange": ""})).exchange is None


def test_symbol_is_split_when_recognisable_else_left_to_the_engine() -> None:
    assert parse_signal(payload(tv={"symbol": "BINANCE:ETHUSDT.P"})).symbol == "ETH/USDT"
    signal = parse_signal(payload(tv={"symbol": "BTCPERP"}))
    assert (signal.raw_symbol, signal.symbol) == ("BTCPERP", None)


@pytest.mark.parametrize("bad", ["BTC\x00USDT", "BTC\ud800"])
def test_text_a_database_cannot_store_is_422(bad: str) -> None:
    assert set(errors_of(payload(tv={"symbol": bad}, strategy_info={"trade_id": bad}))) == {
        "tv.symbol",
        "strategy_info.trade_id",
    }


def test_overlong_text_is_422() -> None:
    errors = errors_of(payload(tv={"symbol": "X" * 33}, strategy_info={"trade_id": "t" * 101}))
    assert set(errors) == {"tv.symbol", "strategy_info.trade_id"}


def test_timeframe_60_normalises_to_1h() -> None:
    assert parse_signal(payload(tv={"timeframe": "60"})).timeframe == "1h"


@pytest.mark.parametrize(("raw", "expected"), [("15", "15m"), ("1D", "1d"), ("240", "4h"), (15, "15m")])
def test_timeframes_normalise_to_ccxt_form(raw: object, expected: str) -> None:
    assert parse_signal(payload(tv={"timeframe": raw})).timeframe == expected


@pytest.mark.parametrize("raw", ["fortnight", "0", "", "99999999"])
def test_unrecognised_timeframe_is_422_on_tv_timeframe(raw: str) -> None:
    assert set(errors_of(payload(tv={"timeframe": raw}))) == {"tv.timeframe"}


@pytest.mark.parametrize(
    "raw",
    ["2024-05-03T10:15:00Z", "2024-05-03T12:15:00+02:00", "2024-05-03T10:15:00", 1714731300, "1714731300"]
    + [1714731300000, "1714731300000", Decimal("1714731300.0")],
)
def test_timestamp_accepts_iso_and_epoch_seconds_or_ms(raw: object) -> None:
    assert parse_signal(payload(timestamp=raw)).sent_at == NOW


def test_missing_timestamp_is_none() -> None:
    assert parse_signal(without(payload(), "timestamp")).sent_at is None
    assert (
        parse_signal(payload(timestamp="")).sent_at is parse_signal(payload(timestamp=None)).sent_at is None
    )


@pytest.mark.parametrize("raw", ["yesterday", "{{timenow}}", -5, "99999999999999999999", True])
def test_unreadable_timestamp_is_422(raw: object) -> None:
    assert set(errors_of(payload(timestamp=raw))) == {"timestamp"}


def test_unfilled_placeholder_is_called_out() -> None:
    errors = errors_of(payload(tv={"symbol": "{{ticker}}", "entry_price": "{{strategy.order.price}}"}))
    assert all("placeholder" in errors[f] for f in ("tv.symbol", "tv.entry_price"))


def test_unknown_keys_are_ignored() -> None:
    data = payload(tv={"leverage": "3X", "market_position_size": "garbage"}, bot_uuid="x")
    assert parse_signal(data).symbol == "BTC/USDT"


def test_schema_errors_list_every_bad_field() -> None:
    data = payload(
        secret=123,
        timestamp="not a time",
        tv={"symbol": "", "timeframe": "x", "entry_price": "abc", "order_size": "-1"},
        execution_intent={"type": "open", "side": "sideways"},
        risk={"stop_loss": "0"},
    )
    assert list(errors_of(data)) == [
        *("secret", "timestamp", "tv.symbol", "tv.timeframe", "tv.entry_price", "tv.order_size"),
        *("execution_intent.type", "execution_intent.side", "risk.stop_loss"),
    ]


def test_cross_field_errors_are_reported_alongside_field_errors() -> None:
    data = without(
        payload(tv={"symbol": ["BTCUSDT"], "entry_price": "", "close_price": ""}), "execution_intent", "side"
    )
    assert set(errors_of(data)) == {"tv.symbol", "tv.entry_price", "execution_intent.side"}


def test_required_sections_and_fields_are_named() -> None:
    assert errors_of({}) == {"secret": "is required", "tv": "is required", "execution_intent": "is required"}
    assert errors_of(payload(tv=["BTCUSDT"])) == {"tv": "must be a JSON object"}
    assert set(errors_of(payload(tv={"symbol": None, "timeframe": None}))) == {"tv.symbol", "tv.timeframe"}


@pytest.mark.parametrize("secret", ["", 12345, None])
def test_secret_must_be_a_non_empty_string(secret: object) -> None:
    assert set(errors_of(payload(secret=secret))) == {"secret"}


def test_secret_never_appears_in_error_messages() -> None:
    # A trader pasting the secret into the wrong fields must not see it echoed back (or logged).
    data = payload(
        timestamp=SECRET,
        tv={"symbol": SECRET * 2, "timeframe": SECRET, "entry_price": SECRET, "exchange": [SECRET]},
        execution_intent={"type": SECRET, "side": SECRET},
        risk={"stop_loss": SECRET},
    )
    with pytest.raises(PayloadError) as caught:
        parse_signal(data)
    assert len(caught.value.errors) == 8
    assert SECRET not in str(caught.value) and SECRET not in json.dumps(caught.value.errors)


def test_a_secret_that_happens_to_match_message_text_is_still_hidden() -> None:
    assert errors_of(payload(secret="greater than", tv={"order_size": "-1"})) == {
        "tv.order_size": "is invalid"
    }


def test_secret_is_kept_out_of_repr() -> None:
    assert SECRET not in repr(parse_signal(payload()))


def test_dedupe_key_needs_trade_id_and_timestamp() -> None:
    assert parse_signal(payload()).dedupe_key() is not None
    assert parse_signal(payload(strategy_info={"trade_id": ""})).dedupe_key() is None
    assert parse_signal(payload(timestamp=None)).dedupe_key() is None


def test_dedupe_key_is_stable_and_tells_orders_apart() -> None:
    key = parse_signal(payload()).dedupe_key()
    assert key == parse_signal(payload(timestamp=1714731300, tv={"close_price": "1"})).dedupe_key()
    assert key != parse_signal(payload(execution_intent={"type": "exit"})).dedupe_key()
    assert key != parse_signal(payload(strategy_info={"trade_id": "abd"})).dedupe_key()
    assert len(key or "") == 64


def test_payload_fingerprint_ignores_secret_and_key_order() -> None:
    data = payload()
    shuffled = {k: data[k] for k in reversed(list(data))} | {"secret": "another"}
    assert payload_fingerprint(data) == payload_fingerprint(shuffled)
    assert payload_fingerprint(data) != payload_fingerprint(payload(tv={"close_price": "43002"}))
    assert parse_signal(data).payload_fingerprint == payload_fingerprint(data)


def test_redact_masks_secret_like_keys_at_any_level() -> None:
    data = {
        "secret": "a",
        "tv": {"symbol": "BTCUSDT", "Client-Secret": "b"},
        "accounts": [{"API_KEY": "c", "passphrase": "d", "access_token": "e", "password": "f", "key": "g"}],
    }
    assert redact(data) == {
        "secret": "***",
        "tv": {"symbol": "BTCUSDT", "Client-Secret": "***"},
        "accounts": [
            {"API_KEY": "***", "passphrase": "***", "access_token": "***", "password": "***", "key": "***"}
        ],
    }
    assert data["tv"]["Client-Secret"] == "b"  # a copy, not the caller's dict


def test_redacted_copy_is_storable_json() -> None:
    data = decode_body(b'{"p": 43000.5, "n": NaN, "s": "a\\u0000b\\ud800", "k\\u0000": [1.0]}', None)
    assert redact(data) == {"p": "43000.5", "n": "NaN", "s": "a\ufffdb\ufffd", "k\ufffd": ["1.0"]}
    assert payload_fingerprint(data) == payload_fingerprint(redact(data))  # a stored copy replays as itself


def test_signal_older_than_the_lag_is_stale() -> None:
    assert is_stale(NOW - timedelta(seconds=61), NOW, 60)
    assert not is_stale(NOW - timedelta(seconds=60), NOW, 60)


def test_zero_lag_turns_the_check_off_and_no_timestamp_is_never_stale() -> None:
    assert not is_stale(NOW - timedelta(days=3), NOW, 0)
    assert not is_stale(None, NOW, 60)


def test_future_timestamp_is_clock_skew_not_staleness() -> None:
    assert not is_stale(NOW + timedelta(hours=1), NOW, 60)


INDEX = json.loads((FIXTURES / "INDEX.json").read_text(encoding="utf-8"))


def decode_and_parse(body: bytes, content_type: str | None) -> ParsedSignal | None:
    """Run the pipeline; return None when it was refused with a clean 400/422."""
    try:
        data = decode_body(body, content_type)
        stored = json.dumps(redact(data), allow_nan=False, ensure_ascii=False)
        assert "\\u0000" not in stored and stored.encode("utf-8")  # what the inbox's JSON column takes
        return parse_signal(data)
    except PayloadError as exc:
        assert exc.status in (400, 422)
        assert exc.errors and all(set(e) == {"field", "message"} for e in exc.errors)
        return None


def test_fixture_folder_travels_with_its_source_note() -> None:
    assert len(INDEX) == 30
    assert "## webhooks/" in (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    assert all((FIXTURES / entry["file"]).is_file() for entry in INDEX)


@pytest.mark.parametrize("entry", INDEX, ids=[e["file"] for e in INDEX])
def test_real_world_bodies_parse_or_are_refused_cleanly(entry: dict[str, Any]) -> None:
    body = (FIXTURES / entry["file"]).read_bytes()
    content_type = entry["content_type"].split(" ")[0]
    decode_and_parse(body, content_type)
    if not entry["valid_json_as_stored"] or body.strip().startswith(b"["):
        refusal(body, content_type)  # not JSON, or a batch array: a 400, never a 500


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)
tricky = st.sampled_from(
    ["", *"NaN buy long exit reverse 15 1D 43000.5 1e999999 -0 {{close}} BTCUSDT".split()]
)
field_values = (
    st.none() | st.booleans() | st.integers() | st.decimals() | st.floats() | st.text(max_size=12) | tricky
)


def section(*keys: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), field_values)


@given(st.binary(max_size=512))
def test_arbitrary_bytes_only_ever_raise_payload_error(body: bytes) -> None:
    decode_and_parse(body, None)


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_arbitrary_json_objects_only_ever_raise_payload_error(data: dict[str, Any]) -> None:
    decode_and_parse(json.dumps(data).encode(), "application/json")


@given(
    st.fixed_dictionaries(
        {"secret": field_values, "timestamp": field_values},
        optional={
            "tv": section("exchange", "symbol", "timeframe", "entry_price", "close_price", "order_size"),
            "execution_intent": section("type", "side", "position_size_type"),
            "risk": section("stop_loss", "take_profit", "max_slippage_percent"),
            "strategy_info": section("trade_id", "alert_name") | field_values,
        },
    )
)
def test_payload_shaped_noise_only_ever_raises_payload_error(data: dict[str, Any]) -> None:
    try:
        signal = parse_signal(data)
    except PayloadError as exc:
        assert exc.status == 422
        return
    signal.dedupe_key()
    assert signal.entry_price is None or signal.entry_price > 0
