"""`manage.py create_api_token USERNAME [--readonly] [--create-user]`: print a new API token.

Only the token goes to stdout, so a script can capture it; notes go to stderr.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.api.tokens import issue_token


class Command(BaseCommand):
    help = "Issue an API token for a user and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--readonly", action="store_true", help="The token may only read (GET).")
        parser.add_argument(
            "--create-user",
            action="store_true",
            help="Create the user (with an unusable password) if it does not exist.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username: str = options["username"]
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            if not options["create_user"]:
                raise CommandError(f"user {username!r} does not exist (pass --create-user to create it)")
            user = user_model(**{user_model.USERNAME_FIELD: username})
            user.set_unusable_password()
            user.save()
            self.stderr.write(f"created user {username!r} (no password: API access only)")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive; its tokens would be refused")
        token = issue_token(user, readonly=options["readonly"])
        kind = "read-only" if options["readonly"] else "read-write"
        self.stderr.write(f"{kind} token for {username!r} (store it now; it cannot be shown again):")
        self.stdout.write(token)
