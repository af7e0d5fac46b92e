"""Exchange accounts and backups in a real browser: add an account with its secrets in password
fields, and never see them again — not in the page, not in any input's value; test it; download a
backup; screenshots; and a hand edit of config.json reaching the running engine (tests run in file
order)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from .conftest import OPERATOR, Engine, csp_violations, live, sign_in, wait_for

WAIT_MS = 30_000
KEY = "PAPERKEY-0123456789-Z9Y8X7"
SECRET = "paper-secret-never-shown-5T6U"
PASSPHRASE = "paper-passphrase-never-shown"
HIDDEN = (KEY, SECRET, PASSPHRASE, "never-shown")
CHECK_SECRET = (
    "from exchanges.models import ExchangeAccount as A; a = A.objects.get(label='paper-two'); "
    f"print(a.api_secret == {SECRET!r} and a.passphrase == {PASSPHRASE!r})"
)


def assert_nothing_secret(page: Any) -> None:
    """Neither the HTML nor any input's current value holds a secret."""
    html = page.content()
    values = " ".join(page.eval_on_selector_all("input", "els => els.map(e => e.value)"))
    for secret in HIDDEN:
        assert secret not in html and secret not in values


def test_add_an_account_with_masked_secrets_and_never_see_them_again(admin: Any, engine: Engine) -> None:
    page = admin.new_page()
    violations = csp_violations(page)
    page.goto(engine.base + "/settings/accounts/")
    live(page)  # the page's socket is accepted like every console page's

    page.fill("input[name=label]", "paper-two")
    page.select_option("select[name=venue]", "paper")
    for name, value in (("api_key", KEY), ("api_secret", SECRET), ("passphrase", PASSPHRASE)):
        field = page.locator(f"input[name={name}]")
        assert field.get_attribute("type") == "password"
        field.fill(value)
    page.click("[data-testid=account-form] button[type=submit]")
    page.wait_for_url(engine.base + "/settings/accounts/paper-two/", timeout=WAIT_MS)

    assert page.inner_text("[data-testid=masked-key]") == "****" + KEY[-6:]
    assert_nothing_secret(page)
    page.goto(engine.base + "/settings/accounts/")
    assert page.locator("[data-testid=account-row][data-label=paper-two]").count() == 1
    assert_nothing_secret(page)
    assert violations == []


def test_saving_with_blank_secret_fields_keeps_the_stored_ones(admin: Any, engine: Engine) -> None:
    page = admin.new_page()
    page.goto(engine.base + "/settings/accounts/paper-two/")
    page.select_option("select[name=rate_limit_mode]", "conservative")
    page.click("[data-testid=account-form] button[type=submit]")
    page.wait_for_selector("[data-testid=flash]", timeout=WAIT_MS)

    assert "rate limit mode" in page.inner_text("[data-testid=flash]")
    assert_nothing_secret(page)
    assert engine.manage("shell", "-c", CHECK_SECRET).splitlines()[-1] == "True"


def test_test_the_account_and_screenshot_the_page(admin: Any, engine: Engine, screenshot_dir: Path) -> None:
    page = admin.new_page()
    page.goto(engine.base + "/settings/accounts/paper-two/")
    page.click("[data-testid=test-account]")
    page.wait_for_selector("[data-testid=check-result]", timeout=WAIT_MS)
    result = page.inner_text("[data-testid=check-result]")
    assert "keys OK; balances: USDT" in result and "nothing can be withdrawn" in result
    assert_nothing_secret(page)

    page.goto(engine.base + "/settings/accounts/")
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    page.screenshot(path=str(screenshot_dir / "settings-accounts-dark.png"), full_page=True)


def test_the_operator_reads_the_accounts_and_has_no_forms(browser: Any, engine: Engine) -> None:
    context = sign_in(browser, engine, OPERATOR)
    try:
        page = context.new_page()
        page.goto(engine.base + "/settings/accounts/")
        assert page.locator("[data-testid=account-row][data-label=paper-two]").count() == 1
        assert page.locator("[data-testid=account-form]").count() == 0
        assert_nothing_secret(page)
    finally:
        context.close()


def test_download_a_backup_and_screenshot_the_backup_page(
    admin: Any, engine: Engine, screenshot_dir: Path, tmp_path: Path
) -> None:
    page = admin.new_page()
    page.goto(engine.base + "/settings/backup/")
    assert "API keys in a backup stay encrypted" in page.inner_text("[data-testid=key-note]")
    with page.expect_download(timeout=WAIT_MS) as info:
        page.click("[data-testid=download-backup]")
    download = info.value
    assert download.suggested_filename.startswith("tv-engine-backup-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with tarfile.open(saved) as archive:
        names = archive.getnames()
    assert "manifest.json" in names and "config.json" in names

    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    page.screenshot(path=str(screenshot_dir / "settings-backup-dark.png"), full_page=True)


EVENTS = (
    "from trading.models import Event; "
    "print(*Event.objects.filter(message__startswith='config').values_list('message', flat=True), sep='|')"
)


def test_a_hand_edit_of_config_json_reaches_the_running_engine(engine: Engine) -> None:
    """The real scheduler: the engine process's watch loads the file, a bad edit is refused."""
    path = engine.data_dir / "config.json"
    version = engine.call("GET", "/api/v1/health")[1]["config_version"]
    document = json.loads(path.read_text())
    document["risk_engine"]["evaluate_interval_sec"] = 321
    path.write_text(json.dumps(document, indent=2))

    wait_for(
        lambda: engine.call("GET", "/api/v1/health")[1]["config_version"] == version + 1,
        what="the edit loaded",
    )
    assert engine.call("GET", "/api/v1/config")[1]["config"]["risk_engine"]["evaluate_interval_sec"] == 321

    document["risk_engine"]["evaluate_interval_sec"] = -1
    path.write_text(json.dumps(document, indent=2))
    wait_for(lambda: "config.json edit refused" in engine.manage("shell", "-c", EVENTS), what="the refusal")
    assert engine.call("GET", "/api/v1/health")[1]["config_version"] == version + 1
