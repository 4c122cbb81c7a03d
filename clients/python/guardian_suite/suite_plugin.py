"""guardian's suite through Warden: one throwaway ``warden serve`` for the session (the plugin),
and Warden reset to the test database's state before every test — so every answer a test
gets comes from state that reached Warden through the integration's signals. Loaded with
``-p suite_plugin`` (pytest.ini): guardian's test files live outside this folder, so a
``conftest.py`` here would not apply to them."""

import pytest


@pytest.fixture(autouse=True)
def _warden(warden_reset: None) -> None:
    """Every test starts from the database's state as Warden's whole state."""
