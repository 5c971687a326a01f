"""The params-hash cache: hits, canonical keys, force recompute, corrupted entries, deletion and eviction."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import storages

from runs.artifacts import artifact_delete_bytes, artifact_read, artifacts_checksum
from runs.models import LogLevel, Run, RunStatus
from simulations.models import CachedResult, ParameterSet
from simulations.services import cache_evict, cached_result_read

pytestmark = pytest.mark.usefixtures("sim_env")


def _entries() -> list[CachedResult]:
    return list(CachedResult.objects.exclude(kind=CachedResult.Kind.REPORT))


def _messages(run: Run, level: str | None = None) -> list[str]:
    logs = run.logs.all() if level is None else run.logs.filter(level=level)
    return list(logs.values_list("message", flat=True))


def test_a_second_identical_launch_is_served_from_the_cache(launch, analyst):
    first = launch(analyst)
    second = launch(analyst)
    assert first.status == second.status == RunStatus.SUCCEEDED
    assert first.metrics["cache"]["hit"] is False
    assert second.metrics["cache"]["hit"] is True
    assert second.metrics["cache"]["computed_by"] == first.run_id
    assert second.checksum == first.checksum and len(first.checksum) == 64
    assert second.metrics["total_rwa"] == first.metrics["total_rwa"]
    assert any(m.startswith("Served from cache (params hash") for m in _messages(second))
    entries = _entries()
    assert len(entries) == 8 and {e.hit_count for e in entries} == {1}
    assert all(e.last_hit_at is not None for e in entries)
    assert not any(m.startswith("Generating") for m in _messages(second))


def test_the_cache_records_what_it_holds(launch, analyst):
    run = launch(analyst)
    by_name = {e.name: e for e in _entries()}
    assert set(by_name) == set(run.artifacts.values_list("name", flat=True))
    positions = by_name["positions.parquet"]
    assert positions.kind == "positions" and positions.format == "parquet" and positions.rows == 2_000
    assert by_name["summary.json"].format == "json" and by_name["summary.json"].rows is None
    assert by_name["capital.json"].kind == "ratios" and by_name["lcr.json"].kind == "lcr"
    artifact = run.artifacts.get(name="positions.parquet")
    # Shared, not copied: the cache points at the run's content-addressed file.
    assert positions.storage == "file" and positions.path == artifact.path
    assert positions.sha256 == artifact.sha256 and positions.size_bytes == artifact.size_bytes
    assert positions.source_run_id == run.pk


def test_key_order_and_int_or_float_spelling_give_one_cache_entry(launch, analyst):
    first = launch(analyst, seed=7, n_positions=2_000, total_assets_eur=10_000_000_000, off_balance_ratio=0.12)
    second = launch(analyst, off_balance_ratio=0.12, total_assets_eur=1e10, n_positions=2000.0, seed=7.0)
    assert ParameterSet.objects.count() == 1
    assert second.metrics["cache"]["hit"] is True
    assert second.metrics["cache"]["params_hash"] == first.metrics["cache"]["params_hash"]
    assert second.checksum == first.checksum


def test_other_parameters_are_another_entry(launch, analyst):
    first = launch(analyst)
    other = launch(analyst, seed=8)
    assert other.metrics["cache"]["hit"] is False
    assert ParameterSet.objects.count() == 2
    assert other.checksum != first.checksum


def test_force_recompute_bypasses_the_cache(launch, analyst):
    first = launch(analyst)
    forced = launch(analyst, use_cache=False)
    assert forced.metrics["cache"] == {
        "hit": False, "params_hash": first.metrics["cache"]["params_hash"], "use_cache": False,
    }
    assert any(m.startswith("Cache bypassed on request") for m in _messages(forced))
    assert any(m.startswith("Generating 2,000 positions") for m in _messages(forced))
    assert forced.checksum == first.checksum
    assert {e.hit_count for e in _entries()} == {0}
    # The recompute refreshed the entries: they now name the forced run as their source.
    assert {e.source_run_id for e in _entries()} == {forced.pk}


def _damage(path: str, data: bytes = b"not what was stored") -> None:
    Path(storages["artifacts"].path(path)).write_bytes(data)


@pytest.mark.parametrize("damage", ["overwrite", "delete"])
def test_a_corrupted_cached_file_is_recomputed_never_served(launch, analyst, damage):
    first = launch(analyst)
    entry = CachedResult.objects.get(name="positions.parquet")
    if damage == "overwrite":
        _damage(entry.path)
    else:
        storages["artifacts"].delete(entry.path)

    second = launch(analyst)

    assert second.status == RunStatus.SUCCEEDED
    assert second.metrics["cache"]["hit"] is False
    warnings = _messages(second, LogLevel.WARNING)
    assert any("Cached positions.parquet is corrupted" in m and "never served" in m for m in warnings)
    assert second.checksum == first.checksum
    # The good bytes are back in the store, for the new run, the old one and the cache.
    assert artifacts_checksum(list(second.artifacts.all())) == first.checksum
    assert artifacts_checksum(list(first.artifacts.all())) == first.checksum
    restored = CachedResult.objects.get(name="positions.parquet")
    cached_result_read(restored)  # raises if the bytes do not match

    third = launch(analyst)
    assert third.metrics["cache"]["hit"] is True and third.checksum == first.checksum


def test_a_corrupted_blob_is_recomputed_never_served(launch, analyst, settings):
    settings.ARTIFACT_STORE = "db"
    first = launch(analyst)
    assert {e.storage for e in _entries()} == {"db"}
    CachedResult.objects.filter(name="summary.json").update(blob=b'{"total_rwa": 1}')

    second = launch(analyst)

    assert second.metrics["cache"]["hit"] is False
    assert any("Cached summary.json is corrupted" in m for m in _messages(second, LogLevel.WARNING))
    assert second.checksum == first.checksum
    assert second.metrics["total_rwa"] == first.metrics["total_rwa"] != 1
    assert launch(analyst).metrics["cache"]["hit"] is True


def test_a_damaged_stored_copy_is_not_trusted_by_a_forced_recompute(launch, analyst):
    first = launch(analyst)
    _damage(first.artifacts.get(name="explain.parquet").path)
    forced = launch(analyst, use_cache=False)
    assert forced.checksum == first.checksum
    assert any("Stored copy of explain.parquet was damaged" in m for m in _messages(forced, LogLevel.WARNING))


def test_deleting_a_run_keeps_the_bytes_the_cache_holds(launch, analyst):
    first = launch(analyst)
    checksum = first.checksum
    paths = [a.path for a in first.artifacts.all()]
    for artifact in first.artifacts.all():
        assert artifact_delete_bytes(artifact) is False
    first.delete()
    assert all(storages["artifacts"].exists(path) for path in paths)

    second = launch(analyst)
    assert second.metrics["cache"]["hit"] is True and second.checksum == checksum


def test_eviction_keeps_files_a_run_uses_and_deletes_the_rest(launch, analyst, django_capture_on_commit_callbacks):
    run = launch(analyst)
    paths = {a.path for a in run.artifacts.all()}
    with django_capture_on_commit_callbacks(execute=True):
        kept = cache_evict(entries=CachedResult.objects.all())
    assert kept.entries == 8 and kept.files == 0 and kept.parameter_sets == 1
    assert CachedResult.objects.count() == ParameterSet.objects.count() == 0
    assert all(storages["artifacts"].exists(p) for p in paths)
    assert artifact_read(run.artifacts.get(name="summary.json"))

    again = launch(analyst)  # computes again and fills the cache
    assert again.metrics["cache"]["hit"] is False and CachedResult.objects.count() == 8
    Run.objects.all().delete()  # rows only: the files stay until nothing holds them
    with django_capture_on_commit_callbacks(execute=True):
        freed = cache_evict(entries=CachedResult.objects.all())
    assert freed.entries == 8 and freed.files == len(paths)
    assert not any(storages["artifacts"].exists(p) for p in paths)


def test_a_dry_run_eviction_changes_nothing(launch, analyst):
    launch(analyst)
    Run.objects.all().delete()
    plan = cache_evict(entries=CachedResult.objects.all(), dry_run=True)
    assert plan.entries == 8 and plan.files == 8
    assert CachedResult.objects.count() == 8


# --- Only engine results of succeeded runs enter or leave the cache --------------------------
def _imported_copy(run: Run, actor) -> Run:
    from runs.services.exchange import run_export, run_import

    data = b"".join(run_export(run=run, fmt="json").chunks)
    return run_import(file=data, actor=actor, as_new=True).run


def test_an_imported_run_cannot_put_anything_in_the_cache(launch, analyst):
    from simulations.results import FileSpec
    from simulations.services.cache import UntrustedSource, cached_result_store_artifact, cached_result_store_bytes

    first = launch(analyst)
    copy = _imported_copy(first, analyst)
    parameter_set = ParameterSet.objects.get()
    artifact = copy.artifacts.get(name="summary.json")
    with pytest.raises(UntrustedSource, match="imported"):
        cached_result_store_artifact(
            parameter_set=parameter_set, file=FileSpec("summary.json", "summary", 0, "json"),
            artifact=artifact, source_run=copy,
        )
    with pytest.raises(UntrustedSource, match="imported"):
        cached_result_store_bytes(
            parameter_set=parameter_set, file=FileSpec("report.xlsx", "report", 0, "xlsx"), data=b"x",
            source_run=copy, results_checksum=copy.checksum,
        )
    assert not CachedResult.objects.filter(source_run=copy).exists()


def test_a_failed_run_cannot_put_anything_in_the_cache(launch, analyst):
    from simulations.results import FileSpec
    from simulations.services.cache import UntrustedSource, cached_result_store_artifact

    first = launch(analyst)
    Run.objects.filter(pk=first.pk).update(status=RunStatus.FAILED)
    with pytest.raises(UntrustedSource, match="failed"):
        cached_result_store_artifact(
            parameter_set=ParameterSet.objects.get(), file=FileSpec("summary.json", "summary", 0, "json"),
            artifact=first.artifacts.get(name="summary.json"), source_run=first,
        )


def test_entries_an_imported_run_produced_are_dropped_never_served(launch, analyst):
    """What an older version could leave behind: the cache's entries credited to an imported run."""
    first = launch(analyst)
    copy = _imported_copy(first, analyst)
    CachedResult.objects.update(source_run=copy)
    later = launch(analyst)
    assert later.metrics["cache"]["hit"] is False and later.checksum == first.checksum
    assert not CachedResult.objects.filter(source_run=copy).exists()
    assert {e.source_run_id for e in _entries()} == {later.pk}


def test_a_report_is_kept_under_the_checksum_of_its_results(launch, analyst, client_for):
    run = launch(analyst)
    client = client_for(analyst)
    assert client.get(f"/simulations/runs/{run.run_id}/report.xlsx").status_code == 200
    entry = CachedResult.objects.get(kind=CachedResult.Kind.REPORT)
    assert entry.results_checksum == run.checksum and entry.source_run_id == run.pk
    # A run with the same parameters but other bytes is not served that report.
    Run.objects.filter(pk=run.pk).update(checksum="0" * 64)
    run.refresh_from_db()
    from simulations.services import simulation_report_get

    _, cached = simulation_report_get(run=run)
    assert cached is False


def test_an_imported_runs_report_is_built_from_its_own_bytes_and_never_kept(launch, analyst, client_for):
    first = launch(analyst)
    copy = _imported_copy(first, analyst)
    from simulations.services import simulation_report_get

    data, cached = simulation_report_get(run=copy)
    assert data[:2] == b"PK" and cached is False
    assert not CachedResult.objects.filter(kind=CachedResult.Kind.REPORT).exists()
