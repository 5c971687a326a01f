"""Console › Caches: the registry over the real caches, roles, audited clears, the command."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from accounts.console import caches
from accounts.models import AuditEvent
from runs.services import run_create
from simulations.models import CachedResult

pytestmark = pytest.mark.django_db

SMALL = {"seed": 7, "n_positions": 2_000}


@pytest.fixture
def launch(django_capture_on_commit_callbacks, analyst):
    def _launch(**params):
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="simulation", params={**SMALL, **params}, owner=analyst)
        run.refresh_from_db()
        return run

    return _launch


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_every_cache_is_registered_and_answers():
    names = {c.name for c in caches.registered_caches()}
    assert {"django", "run-list-counts", "api-key-usage", "api-key-failures", "throttles", "health",
            "simulation-results", "simulation-reports"} <= names
    for managed in caches.registered_caches():
        assert managed.as_dict()["error"] == "", managed.name


def test_django_cache_families_count_clear_and_expire(admin_user, settings):
    # Expiry is planted through local memory's internals, so this test runs on it in both legs.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "families"}}
    cache.set("runs:count:generation", 3, None)
    cache.set("runs:count:abc", 10, 60)
    cache.set("api-key-usage:1:20261130", 4, 60)
    cache.set("runs:count:old", 1, 60)
    # An entry past its lifetime (locmem keeps it until it is read or culled).
    cache._expire_info[cache.make_key("runs:count:old")] = 0
    counts = caches.get_cache("run-list-counts").stats()
    assert counts.entries == 3 and counts.expired == 1 and counts.size_bytes > 0
    assert caches.caches_clear_expired(actor=admin_user)["run-list-counts"] == 1
    assert caches.cache_clear(actor=admin_user, name="run-list-counts") == 2
    assert cache.get("api-key-usage:1:20261130") == 4  # another family stays
    event = AuditEvent.objects.filter(action="cache.clear").latest("id")
    assert event.target == "run-list-counts" and event.actor == admin_user and event.detail["removed"] == 2
    assert AuditEvent.objects.filter(action="cache.clear_expired").count() == 1


def test_simulation_results_listed_evicted_by_age_and_size_never_taking_run_bytes(launch, admin_user):
    run = launch()
    launch(seed=8)
    results = caches.get_cache("simulation-results")
    stats = results.stats()
    assert stats.entries == CachedResult.objects.exclude(kind="report").count() > 0
    assert stats.size_bytes > 0 and results.list_entries()[0]["params_hash"]
    # Old entries of the first run only.
    old = CachedResult.objects.filter(source_run=run).exclude(kind="report")
    count = old.count()
    old.update(created_at=timezone.now() - timedelta(days=40), last_hit_at=None)
    removed = caches.cache_evict_by(actor=admin_user, name="simulation-results", older_than_days=30)
    assert removed == count > 0
    assert not CachedResult.objects.filter(source_run=run).exclude(kind="report").exists()
    # The run still reads every artifact: eviction keeps bytes a run holds.
    from runs.artifacts import artifact_read

    for artifact in run.artifacts.all():
        assert artifact_read(artifact)
    remaining = CachedResult.objects.exclude(kind="report").count()
    caches.cache_evict_by(actor=admin_user, name="simulation-results", max_total_bytes=0)
    assert CachedResult.objects.exclude(kind="report").count() == 0 and remaining > 0
    assert AuditEvent.objects.filter(action="cache.evict", target="simulation-results").count() == 2
    with pytest.raises(ValueError):
        caches.cache_evict_by(actor=admin_user, name="run-list-counts", older_than_days=1)


@pytest.mark.parametrize("fixture,read,clear", [
    ("admin_user", 200, 302), ("ml_admin", 200, 302), ("governance", 200, 403),
    ("analyst", 403, 403), ("viewer", 403, 403), ("finops_admin", 403, 403),
])
def test_caches_page_and_api_per_role(request, client_for, fixture, read, clear):
    client = client_for(request.getfixturevalue(fixture))
    cache.set("runs:count:x", 1, 60)
    assert client.get(reverse("console_ops:caches")).status_code == read
    assert client.get(reverse("console_ops:api_caches")).status_code == read
    response = client.post(reverse("console_ops:caches_action"), {"action": "clear", "name": "run-list-counts"})
    assert response.status_code == clear
    api = client.post(reverse("console_ops:api_cache_clear", args=["run-list-counts"]))
    assert api.status_code == (200 if clear == 302 else 403)
    cleared = AuditEvent.objects.filter(action="cache.clear").count()
    assert cleared == (2 if clear == 302 else 0)
    if clear != 302:
        assert cache.get("runs:count:x") == 1  # a refused clear changes nothing


def test_governance_sees_no_clear_buttons(client_for, governance, admin_user):
    assert b'value="clear-all"' not in client_for(governance).get(reverse("console_ops:caches")).content
    assert b'value="clear-all"' in client_for(admin_user).get(reverse("console_ops:caches")).content


def test_api_clear_all_expired_and_bad_names(client_for, admin_user, client):
    api = client_for(admin_user)
    assert api.post(reverse("console_ops:api_caches_clear_all")).status_code == 200
    assert api.post(reverse("console_ops:api_caches_clear_expired")).status_code == 200
    assert api.post(reverse("console_ops:api_cache_clear", args=["nope"])).status_code == 404
    assert api.post(reverse("console_ops:api_cache_evict", args=["simulation-results"]),
                    {"older_than_days": -1}).status_code == 400
    assert api.post(reverse("console_ops:api_cache_evict", args=["simulation-results"])).status_code == 400
    assert client.get(reverse("console_ops:api_caches")).status_code == 401
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"cache.clear_all", "cache.clear_expired"} <= actions


def test_caches_command_lists_clears_and_fails_on_unknown(capsys):
    cache.set("runs:count:y", 1, 60)
    call_command("caches", "list")
    assert "run-list-counts" in capsys.readouterr().out
    call_command("caches", "clear", "run-list-counts")
    assert "1 entries removed" in capsys.readouterr().out
    event = AuditEvent.objects.get(action="cache.clear")
    assert event.surface == "command" and event.actor is None
    call_command("caches", "clear-expired")
    call_command("caches", "clear-all")
    with pytest.raises(CommandError, match="unknown cache"):
        call_command("caches", "clear", "nope")
    with pytest.raises(CommandError):
        call_command("caches", "evict", "simulation-results")


def test_admin_eviction_is_audited(client_for, admin_user, launch):
    launch()
    ids = list(CachedResult.objects.values_list("pk", flat=True)[:2])
    response = client_for(admin_user).post(
        reverse("admin:simulations_cachedresult_changelist"), {"action": "evict", "_selected_action": ids})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="cache.evict")
    assert event.surface == "admin" and event.detail["removed"] == 2
