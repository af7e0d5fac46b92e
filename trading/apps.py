from django.apps import AppConfig
from django.db.models.signals import post_save


def _wake_engine(sender, created: bool = False, **kwargs) -> None:
    """A new inbox signal or operator command: wake the engine once it is committed (trading/wake.py)."""
    if created:
        from . import wake

        wake.notify_on_commit()


class TradingConfig(AppConfig):
    name = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .models import Command, Signal

        post_save.connect(_wake_engine, sender=Signal, dispatch_uid="wake-engine-signal")
        post_save.connect(_wake_engine, sender=Command, dispatch_uid="wake-engine-command")
