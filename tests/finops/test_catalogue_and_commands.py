"""finops_load_catalogue (idempotent, atomic, the bad line named), finops_generate_sources, finops_ingest."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from finops_admin.models import AllocationRule, Application, BatchRun, CostReading, Family
from runs.models import RunStatus

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    return Family.objects.count(), Application.objects.count(), AllocationRule.objects.count()


def test_generate_then_load_the_catalogue_twice(finops_dirs):
    out = io.StringIO()
    call_command("finops_generate_sources", "--months", "2", "--applications", "10", "--rows-per-month", "200",
                 "--seed", "1", "--last-month", "2026-11", "--missing-month", "2026-10", "--out", str(finops_dirs),
                 stdout=out)
    assert sorted(p.name for p in (finops_dirs / "public").iterdir()) == ["focus_public_2026-11.csv"]
    call_command("finops_load_catalogue", str(finops_dirs / "catalogue.csv"), stdout=io.StringIO())
    once = _counts()
    call_command("finops_load_catalogue", str(finops_dirs / "catalogue.csv"), stdout=io.StringIO())
    assert _counts() == once and once[1] == 10 + 4  # ten applications and the four Unallocated buckets


def test_the_generator_is_seeded(tmp_path):
    for name in ("a", "b"):
        call_command("finops_generate_sources", "--months", "1", "--applications", "5", "--rows-per-month", "100",
                     "--seed", "4", "--last-month", "2026-11", "--out", str(tmp_path / name), stdout=io.StringIO())
    assert (tmp_path / "a/open/focus_open_2026-11.csv").read_bytes() == (tmp_path / "b/open/focus_open_2026-11.csv").read_bytes()


@pytest.mark.parametrize("line,problem", [
    ("application,public,app-x,X,no-such-family,Team,,,,,", "line 4: unknown family 'no-such-family'"),
    ("rule,public,,,,,10,colour,,red,app-a", "line 4: unknown rule field 'colour'"),
    ("rule,,,,,,ten,provider,,AWS,app-a", "line 4: priority must be a whole number"),
    ("rule,,,,,,10,tag,,x,app-a", "line 4: a tag rule needs a tag_key"),
    ("planet,public,p,P,,,,,,,", "line 4: unknown kind 'planet'"),
])
def test_a_bad_line_is_named_and_nothing_is_loaded(tmp_path, line, problem):
    path = tmp_path / "catalogue.csv"
    path.write_text(
        "kind,domain,code,name,family,owner_team,priority,field,tag_key,value,application\n"
        "family,public,web,Web,,,,,,,\n"
        "application,public,app-a,A,web,Team,,,,,\n" + line + "\n"
    )
    before = _counts()
    with pytest.raises(CommandError) as exc:
        call_command("finops_load_catalogue", str(path))
    assert problem in str(exc.value) and "nothing loaded" in str(exc.value)
    assert _counts() == before  # lines 2 and 3 were rolled back too


def test_ingest_in_process_prints_the_blocks(sources):
    out, err = io.StringIO(), io.StringIO()
    call_command("finops_ingest", "--periods", "2026-11", "--domains", "public,open", "--in-process",
                 stdout=out, stderr=err)
    text = out.getvalue()
    assert "succeeded" in text and "Public" in text and "Open" in text and "Private" not in text
    assert "100%" in err.getvalue()
    batch = BatchRun.objects.get()
    assert batch.run.status == RunStatus.SUCCEEDED and batch.domains == ["open", "public"]
    assert CostReading.objects.count() == batch.rows_inserted > 0


def test_ingest_refuses_bad_parameters(sources):
    with pytest.raises(CommandError, match="periods: Not a month"):
        call_command("finops_ingest", "--periods", "2026-1", "--in-process")
    with pytest.raises(CommandError, match="source: The source must be a folder under"):
        call_command("finops_ingest", "--source", "/etc", "--in-process")


def test_ingest_of_a_bad_file_fails_naming_the_block(sources):
    bad = sources / "native" / "focus_native_2026-11.csv"
    bad.write_text("BilledCost\n1\n")
    with pytest.raises(CommandError, match="Native"):
        call_command("finops_ingest", "--periods", "2026-11", "--in-process", stdout=io.StringIO(),
                     stderr=io.StringIO())
    assert not CostReading.objects.filter(domain__code="native").exists()
    assert CostReading.objects.filter(domain__code="public").exists()


def test_a_flush_keeps_the_reference_data(db):
    from django.core.management import call_command as run

    from finops_admin.models import Currency, Domain

    run("flush", "--no-input", verbosity=0)
    assert list(Domain.objects.values_list("code", flat=True)) == ["open", "private", "public", "native"]
    assert Application.objects.filter(is_unallocated=True).count() == 4
    assert Currency.objects.filter(code="EUR").exists()
