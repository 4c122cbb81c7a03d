"""The admin's object-permission pages in a real browser: headless Chromium driven by Selenium
against Django's live server and a live Warden. A staff user logs in, opens a car's permission
page, sees who holds what, grants a group a permission, revokes it, and is refused (the page
saying why) when granting what they do not hold and when changing their own grants.

Needs Debian's ``chromium`` and ``chromium-driver`` and ``selenium`` from PyPI: without them the
test is skipped, naming what is missing, unless ``WARDEN_REQUIRE_BROWSER=1`` (CI), which makes
it fail. Every wait is an explicit Selenium wait of up to 60 s for what the page must show.
``WARDEN_ADMIN_SCREENSHOT=<path>`` saves the object's page as a PNG there (the one in
``docs/images/django-admin-object-permissions.png`` was made so)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from drivers.models import Car

from warden_client.django import shortcuts as ws

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("testproject.admin_urls")]

WAIT = 60.0


def _missing() -> str | None:
    """What the browser test lacks, or ``None``."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} is not on PATH (apt-get install chromium chromium-driver)"
    return None


def require_browser() -> None:
    """Skips the test when the browser or its driver is missing, naming what; fails instead
    under ``WARDEN_REQUIRE_BROWSER=1``."""
    missing = _missing()
    if missing is not None:
        if os.environ.get("WARDEN_REQUIRE_BROWSER") == "1":
            pytest.fail(f"WARDEN_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(f"browser test: {missing}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium (see :func:`require_browser`)."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


def perm(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="drivers", codename=codename)


@pytest.fixture
def fleet() -> dict[str, Any]:
    """A car with a few holders, and mia: staff, in "fleet-managers" (view and change cars)."""
    managers = Group.objects.create(name="fleet-managers")
    managers.permissions.add(perm("view_car"), perm("change_car"))
    mia = User.objects.create_user("mia", password="mia-secret", is_staff=True)
    mia.groups.add(managers)
    car = Car.objects.create(name="Volvo V70 (fleet 12)")
    ann, joe, lee = (User.objects.create_user(name) for name in ("ann", "joe", "lee"))
    drivers, mechanics = Group.objects.create(name="drivers"), Group.objects.create(name="mechanics")
    Group.objects.create(name="night-shift")
    ws.assign_perm("drivers.drive", joe, car)
    ws.assign_perm("drivers.view_car", joe, car)
    ws.assign_perm("drivers.change_car", ann, car)
    ws.assign_perm("drivers.view_car", ann, car)
    ws.assign_perm("drivers.publish_car", lee, car)
    ws.assign_perm("drivers.view_car", mia, car)
    ws.assign_perm("drivers.drive", drivers, car)
    ws.assign_perm("drivers.view_car", drivers, car)
    ws.assign_perm("drivers.change_car", mechanics, car)
    ws.assign_perm("drivers.delete_car", mechanics, car)
    return {"car": car, "mia": mia}


class Page:
    """The browser on the live server, with explicit waits."""

    def __init__(self, driver: Any, base: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.base = driver, base
        self.wait = WebDriverWait(driver, WAIT)

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))

    def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css))).click()

    def rows(self, kind: str) -> dict[str, str]:
        """The object page's table of ``kind``: holder → its codenames."""
        from selenium.webdriver.common.by import By

        self.find(f"table#{kind}-permissions")
        rows = self.driver.find_elements(By.CSS_SELECTOR, f"table#{kind}-permissions tr.holder")
        return {row.get_attribute(f"data-{kind}"): row.get_attribute("data-perms") for row in rows}

    def choose(self, codenames: list[str], *, remove: bool = False) -> None:
        """Moves options between the permissions widget's two boxes (FilteredSelectMultiple)."""
        from selenium.webdriver.support.ui import Select

        box = Select(self.find("#id_permissions_to" if remove else "#id_permissions_from"))
        box.deselect_all()
        for codename in codenames:
            box.select_by_value(codename)
        self.click("#id_permissions_remove" if remove else "#id_permissions_add")

    def save_and_wait(self, css: str) -> Any:
        """Submits the subject's form and waits for ``css`` on the page that answers."""
        old = self.find("#object-permissions-form")
        self.click("#submit")
        from selenium.webdriver.support import expected_conditions as ec

        self.wait.until(ec.staleness_of(old))
        return self.find(css)


def test_staff_user_manages_a_cars_permissions_in_a_browser(browser: Any, live_server: Any, fleet: dict[str, Any]) -> None:
    car, mia = fleet["car"], fleet["mia"]
    page = Page(browser, live_server.url)
    page.open("/admin/login/?next=/admin/")
    page.find("#id_username").send_keys("mia")
    page.find("#id_password").send_keys("mia-secret")
    page.click("input[type=submit]")
    page.find("#site-name")
    permissions = f"/admin/drivers/car/{car.pk}/permissions/"

    # Who holds what: the object's own grants, users and groups.
    page.open(permissions)
    assert page.rows("user") == {"ann": "change_car view_car", "joe": "drive view_car", "lee": "publish_car", "mia": "view_car"}
    assert page.rows("group") == {"drivers": "drive view_car", "mechanics": "change_car delete_car"}
    screenshot = os.environ.get("WARDEN_ADMIN_SCREENSHOT")
    if screenshot:
        browser.save_screenshot(screenshot)

    # Grant "night-shift" view_car through the group form and the group's page.
    page.find("#manage-group-form input[name=group]").send_keys("night-shift")
    page.click("#manage-group-form input[name=submit_manage_group]")
    page.choose(["view_car"])
    page.save_and_wait("ul.messagelist li.success")
    night = Group.objects.get(name="night-shift")
    assert ws.get_perms(night, car, accept_global_perms=False) == ["view_car"]
    page.open(permissions)
    assert page.rows("group")["night-shift"] == "view_car"

    # Revoke it.
    page.open(f"{permissions}group-manage/{night.pk}/")
    page.choose(["view_car"], remove=True)
    page.save_and_wait("ul.messagelist li.success")
    assert ws.get_perms(night, car, accept_global_perms=False) == []
    page.open(permissions)
    assert "night-shift" not in page.rows("group")

    # Refused: granting delete_car, which mia does not hold; the page says why.
    page.open(f"{permissions}group-manage/{night.pk}/")
    page.choose(["delete_car"])
    refusal = page.save_and_wait("#warden-refusal").text
    assert "Warden refused the change" in refusal and "delete_car" in refusal, refusal
    assert ws.get_perms(night, car, accept_global_perms=False) == []

    # Refused: changing her own grants, even one she holds (change_car, through her group).
    page.open(permissions)
    page.find("#manage-user-form input[name=user]").send_keys("mia")
    page.click("#manage-user-form input[name=submit_manage_user]")
    page.choose(["change_car"])
    refusal = page.save_and_wait("#warden-refusal").text
    assert "Warden refused the change" in refusal and "own" in refusal, refusal
    assert ws.get_perms(mia, car, accept_global_perms=False) == ["view_car"]


@pytest.mark.parametrize("required", ["", "1"])
def test_a_missing_browser_skips_unless_required(required: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda program: None)
    monkeypatch.setenv("WARDEN_REQUIRE_BROWSER", required)
    expected = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(expected, match="chromium is not on PATH"):
        require_browser()
