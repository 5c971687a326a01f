"""Time of the run list's tag filter, `GET /api/runs/?tag=t0,…,tN`, as N grows.

Run against a database of its own (it adds 20,000 runs with 5 tags each from a
vocabulary of 300 when there are fewer runs):

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/runsight_bench \
        .venv/bin/python manage.py migrate
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/runsight_bench \
        .venv/bin/python bench/bench_tag_filter.py 10 50 100 200 1000

For each N it builds the API's FilterSet with N tag names (the limit
RUN_FILTER_MAX_VALUES is lifted for the measurement) and times the first page
plus the count, as the list endpoint does.
"""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import django  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings  # noqa: E402

from runs.filters import RunFilter  # noqa: E402
from runs.models import Run, Tag  # noqa: E402

N_RUNS = 20000


def seed() -> None:
    Tag.objects.bulk_create([Tag(name=f"t{i}") for i in range(300)], ignore_conflicts=True)
    tags = list(Tag.objects.filter(name__in=[f"t{i}" for i in range(300)]))
    Run.objects.bulk_create(
        [Run(run_id=f"bench-{i:06d}", kind="demo", params={}, params_hash="x" * 64, status="SUCCEEDED")
         for i in range(N_RUNS)],
        batch_size=2000,
    )
    through = Run.tags.through
    pks = list(Run.objects.filter(run_id__startswith="bench-").values_list("pk", flat=True))
    rows = [through(run_id=pk, tag=tags[(j * 7 + k * 13) % len(tags)]) for j, pk in enumerate(pks) for k in range(5)]
    through.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    print("seeded", Run.objects.count(), "runs", through.objects.count(), "tag links")


def main() -> None:
    if Run.objects.count() < N_RUNS:
        seed()
    settings.RUN_FILTER_MAX_VALUES = 100_000
    for n in [int(a) for a in sys.argv[1:]] or [10, 50, 100, 200]:
        value = ",".join(f"t{i}" for i in range(n))
        qs = RunFilter({"tag": value}, queryset=Run.objects.all()).qs
        started = time.perf_counter()
        list(qs.order_by("-created_at")[:26])
        count = qs.count()
        print(f"{n} tags: {time.perf_counter() - started:.3f} s ({count} runs)")


if __name__ == "__main__":
    main()
