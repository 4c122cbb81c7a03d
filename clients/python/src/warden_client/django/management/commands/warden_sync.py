"""``manage.py warden_sync``: push Django's whole auth state to Warden (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from warden_client.django.sync import sync


class Command(BaseCommand):
    """Push content types and permissions, users, groups, memberships and model-level grants."""

    help = (
        "Push Django's auth state (content types and permissions, users, groups, memberships, "
        "model-level user and group permissions) to Warden through WriteBatch and BulkGrant. "
        "Idempotent: a second run changes nothing. --prune also deletes what Warden holds and "
        "Django does not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prune",
            action="store_true",
            help="delete Warden's users, groups, memberships and model grants that Django does not have",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = sync(prune=options["prune"], progress=lambda line: self.stdout.write(line))
        total = sum(report.changed.values())
        self.stdout.write(self.style.SUCCESS(f"warden_sync: done, {total} changes"))
