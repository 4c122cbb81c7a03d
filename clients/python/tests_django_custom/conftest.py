"""The fixtures of ``tests_django/conftest.py`` (a real Warden server for the session, a clean
Warden for every test), imported from that file rather than copied."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_path = Path(__file__).resolve().parents[1] / "tests_django" / "conftest.py"
_spec = importlib.util.spec_from_file_location("warden_django_fixtures", _path)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

warden_server = _fixtures.warden_server
django_db_setup = _fixtures.django_db_setup
warden = _fixtures.warden
clean_warden = _fixtures.clean_warden
