"""`manage.py create_operator USERNAME`: a read-only console user (sees everything, acts on nothing).

The password is prompted for, or taken from `DJANGO_OPERATOR_PASSWORD` with `--noinput` (like
`createsuperuser` does with `DJANGO_SUPERUSER_PASSWORD`). Admins are made with `createsuperuser`.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.access import OPERATORS_GROUP

PASSWORD_ENV = "DJANGO_OPERATOR_PASSWORD"


class Command(BaseCommand):
    help = "Create a read-only operator account for the console."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--noinput", "--no-input", action="store_true", help=f"Take the password from ${PASSWORD_ENV}."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        username: str = options["username"]
        if users._default_manager.filter(**{users.USERNAME_FIELD: username}).exists():
            raise CommandError(f"user {username!r} already exists")
        password = self._password(options["noinput"])
        user = users(**{users.USERNAME_FIELD: username}, email=options["email"])
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        user.set_password(password)
        user.save()
        group, _ = Group.objects.get_or_create(name=OPERATORS_GROUP)
        user.groups.add(group)
        self.stdout.write(f"operator {username!r} created (read-only console access)")

    def _password(self, noinput: bool) -> str:
        if noinput:
            password = os.environ.get(PASSWORD_ENV, "")
            if not password:
                raise CommandError(f"--noinput needs the password in ${PASSWORD_ENV}")
            return password
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("the passwords differ")
        return first
