"""First-run set-up shared by `run` and `runengine`: schema, default account, config, webhook secret."""

from __future__ import annotations

import secrets

from django.core.management import call_command

from exchanges.registry import ensure_paper_account
from exchanges.secrets import check_canary

from . import config_service
from .config_schema import EngineConfig


def prepare(*, migrate: bool = True) -> EngineConfig:
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    check_canary()  # refuse to start with a key that cannot read the stored secrets
    ensure_paper_account()
    cfg = config_service.ensure_initialised()
    if not config_service.webhook_secret(cfg):
        # A fresh install must never accept unauthenticated webhooks: generate a secret once.
        cfg = config_service.update(
            {"security": {"webhook_secret": secrets.token_urlsafe(18)}}, source="first run"
        )
    return cfg
