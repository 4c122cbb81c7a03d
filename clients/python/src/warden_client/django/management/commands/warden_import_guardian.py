"""``manage.py warden_import_guardian``: copy django-guardian's object permissions into Warden."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from warden_client.django.sync import import_guardian, sync


class Command(BaseCommand):
    """Copy guardian's UserObjectPermission/GroupObjectPermission rows into Warden (BulkGrant)."""

    help = (
        "Copy django-guardian's object permissions (UserObjectPermission, GroupObjectPermission and "
        "direct foreign-key subclasses) into Warden in one BulkGrant stream. The users and groups must "
        "be in Warden: run warden_sync first, or pass --sync. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sync", action="store_true", help="run warden_sync first")

    def handle(self, *args: Any, **options: Any) -> None:
        progress = lambda line: self.stdout.write(line)  # noqa: E731
        if options["sync"]:
            sync(progress=progress)
        report = import_guardian(progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"warden_import_guardian: done, {report.sent.get('object grants', 0)} rows sent, "
                f"{report.changed.get('object grants', 0)} new, {report.skipped} skipped"
            )
        )
