"""``manage.py warden_clean_orphans``: guardian's ``clean_orphan_obj_perms`` command for Warden."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from warden_client.django.utils import clean_orphan_obj_perms


class Command(BaseCommand):
    """Revoke Warden's object grants whose object no longer exists (guardian's options)."""

    help = (
        "Removes object permissions with not existing targets: revokes Warden's object grants whose "
        "object is no longer in the database (guardian's clean_orphan_obj_perms)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            help="Number of grants to check per batch. If not specified, all grants are checked.",
        )
        parser.add_argument(
            "--max-batches", type=int, help="Maximum number of batches to process. Use with --batch-size."
        )
        parser.add_argument("--max-duration-secs", type=int, help="Maximum duration in seconds for the cleanup.")
        parser.add_argument(
            "--skip-batches",
            type=int,
            default=0,
            help="Number of batches to skip before starting cleanup. Use with --batch-size.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        removed = clean_orphan_obj_perms(
            batch_size=options["batch_size"],
            max_batches=options["max_batches"],
            max_duration_secs=options["max_duration_secs"],
            skip_batches=options["skip_batches"] or 0,
        )
        if options["verbosity"] > 0:
            self.stdout.write("Removed %d object permission entries with no targets" % removed)
