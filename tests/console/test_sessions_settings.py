"""Sessions (device, address, last seen; end the others; an admin ends a user's) and personal settings."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, UserSession
from runs.models import RunStatus

pytestmark = pytest.mark.django_db
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
CHROME_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _signed_in(username: str, agent: str, address: str) -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    response = client.post(reverse("login"), {"username": username, "password": "pw-for-tests-1"})
    assert response.status_code == 302
    return client


def test_sessions_are_listed_and_the_others_ended(analyst):
    laptop = _signed_in(analyst.username, FIREFOX, "10.0.0.1")
    phone = _signed_in(analyst.username, CHROME_MAC, "10.0.0.2")
    page = laptop.get(reverse("console:sessions"))
    rows = page.context["rows"]
    assert {(device, str(s.address)) for s, device, _ in rows} == {
        ("Firefox on Linux", "10.0.0.1"), ("Chrome on macOS", "10.0.0.2")}
    assert [current for _, device, current in rows if device == "Firefox on Linux"] == [True]
    laptop.post(reverse("console:sessions"))
    assert phone.get(reverse("home")).status_code == 302  # ended
    assert laptop.get(reverse("home")).status_code == 200  # kept
    assert AuditEvent.objects.filter(action="user.sessions_end", target=analyst.username).exists()


def test_an_admin_ends_a_users_sessions_a_viewer_may_not(admin_user, analyst, viewer, client_for):
    session = _signed_in(analyst.username, FIREFOX, "10.0.0.1")
    assert client_for(viewer).post(reverse("console:user_sessions_end", args=[analyst.pk])).status_code == 403
    assert session.get(reverse("home")).status_code == 200
    assert client_for(admin_user).post(reverse("console:user_sessions_end", args=[analyst.pk])).status_code == 302
    assert session.get(reverse("home")).status_code == 302
    assert not UserSession.objects.filter(user=analyst).exists()


def test_last_seen_is_written_at_most_once_a_minute(analyst):
    client = _signed_in(analyst.username, FIREFOX, "10.0.0.1")
    first = UserSession.objects.get(user=analyst).last_seen
    for _ in range(3):
        client.get(reverse("console:settings"))
    assert UserSession.objects.get(user=analyst).last_seen == first  # throttled by the cache


def test_settings_apply_on_every_page(analyst):
    client = _signed_in(analyst.username, FIREFOX, "10.0.0.1")
    response = client.post(reverse("console:settings"), {
        "page_size": "10", "time_zone": "Asia/Tokyo", "date_format": "d/m/Y H:i", "theme": "dark",
        "run_status": RunStatus.FAILED, "run_mine": "on"})
    assert response.status_code == 302
    page = client.get(reverse("runs:list"))
    assert b'data-theme="dark"' in page.content
    assert page.context["page_size"] == 10
    assert page.context["filter"].form.cleaned_data["status"] in ([RunStatus.FAILED], RunStatus.FAILED)
    from django.utils import timezone as tz

    assert str(page.context.get("prefs", {}).get("date_format")) == "d/m/Y H:i"
    # Dates on pages: in the user's time zone and format.
    import zoneinfo

    signed = UserSession.objects.get(user=analyst).created_at.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert signed.strftime("%d/%m/%Y %H:%M").encode() in client.get(reverse("console:sessions")).content
    event = AuditEvent.objects.get(action="settings.update")
    assert event.detail["after"]["theme"] == "dark" and event.detail["before"]["theme"] == "light"
    # Unknown time zones are refused with a form error, nothing saved.
    bad = client.post(reverse("console:settings"), {"page_size": "10", "time_zone": "Mars/Olympus",
                                                   "date_format": "d/m/Y H:i", "theme": "light"})
    assert bad.status_code == 400
    assert tz.get_current_timezone_name() == "UTC"  # deactivated after each request
