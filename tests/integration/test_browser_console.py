"""The console in a real browser: an admin creates an analyst, who makes an API key and uses it;
the admin deactivates the analyst; the key is refused at once; the audit page shows all of it."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.integration.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def browser(live_server, real_services):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        contexts = []

        def new_page():
            context = chromium.new_context(base_url=live_server.url)
            context.set_default_timeout(30_000)
            contexts.append(context)
            page = context.new_page()
            page.errors = []
            page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: page.errors.append(str(exc)))
            return page

        yield new_page
        for context in contexts:
            context.close()
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _sign_in(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_admin_creates_an_analyst_who_uses_a_key_until_deactivated(browser, admin_user, tmp_path):
    from accounts.models import User

    admin = browser()
    _sign_in(admin, admin_user.username, "pw-for-tests-1")
    admin.click("#console-menu >> text=Users")
    admin.click("text=New user")
    admin.fill("#id_username", "carol")
    admin.fill("#id_email", "carol@example.com")
    admin.check("input[name=roles][value=analyst]")
    admin.click("#user-create-form button[type=submit]")
    password = admin.locator("[data-testid=generated-password]").inner_text().strip()
    assert password and User.objects.get(username="carol").groups.filter(name="analyst").exists()

    carol = browser()
    _sign_in(carol, "carol", password)
    carol.click("#console-menu >> text=API keys")
    carol.fill("#id_name", "notebook")
    carol.click("#api-key-form button[type=submit]")
    secret = carol.locator("[data-testid=api-key-secret]").inner_text().strip()
    assert secret.startswith("rsk_")
    answer = carol.request.get("/api/runs/", headers={"Authorization": f"Api-Key {secret}", "Accept": "application/json"})
    assert answer.status == 200
    carol.goto("/console/api-keys/")  # the list shows the key masked, never its secret
    assert secret not in carol.content()

    admin.goto("/console/users/?q=carol")
    admin.click("#user-table >> text=carol")
    admin.check("#user-deactivate-form input[name=confirm]")
    admin.click("#user-deactivate-form button[type=submit]")
    admin.wait_for_selector("text=deactivated")
    refused = carol.request.get("/api/runs/", headers={"Authorization": f"Api-Key {secret}", "Accept": "application/json"})
    assert refused.status == 401 and "revoked" in refused.json()["detail"]
    carol.goto("/runs/")
    assert "/login/" in carol.url  # signed out: the session ended with the deactivation

    admin.click("#console-menu >> text=Audit")
    table = admin.locator("#audit-table").inner_text()
    for action in ("user.create", "user.set_roles", "api_key.create", "user.deactivate"):
        assert action in table, action
    admin.screenshot(path=str(tmp_path / "audit.png"), full_page=True)
    assert not admin.errors and not carol.errors, (admin.errors, carol.errors)
