"""FinOps cost views: p50/p95 of each page and API answer over a large set of aggregates, on PostgreSQL.

Creates (and afterwards drops) a database of its own; builds a catalogue of
--applications applications over the four domains (families of about 25
applications), inserts --months × applications × --per readings with one SQL
statement (generate_series; not timed), refreshes the aggregates as the batch does,
then requests each view --repeat times (after one warm-up) through Django's test
client as a finops_user: the time includes routing, the role check, the queries
and the rendering, not the network.

The aggregates' size depends on months × applications (× the providers and
service categories an application uses), not on the readings per
application-month: --per 20 gives the same aggregates as the issue's 20M readings
(--per 830), in a fraction of the set-up time; no page or API answer reads the
readings (tests/finops/test_cost_views.py checks it).

    .venv/bin/python bench/bench_finops_costs.py --months 24 --applications 1000 --per 20 --repeat 30
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--per", type=int, default=20, help="readings per application and month")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true",
                        help="time against the database a --keep run left, without filling it again (implies --keep)")
    args = parser.parse_args()
    args.keep = args.keep or args.reuse

    import psycopg

    dbname = "runsight_bench_finops_costs"
    if not args.reuse:
        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {dbname}")
    os.environ.update(
        DATABASE_URL=f"{args.pg}/{dbname}", DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings",
        RUNSIGHT_VAR_DIR="/tmp/runsight-bench-finops-costs", RUNSIGHT_ENV_FILE="", LOG_LEVEL="WARNING",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    try:
        run_bench(args)
    finally:
        connections.close_all()
        if not args.keep:
            with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


def populate(months: int, applications: int, per: int) -> str:
    from django.db import connection

    from finops_admin.aggregates import aggregates_refresh
    from finops_admin.costs import add_months
    from finops_admin.models import Application, Domain, Family

    t0 = time.perf_counter()
    domains = list(Domain.objects.order_by("position"))
    apps = []
    families_per_domain = max(1, applications // len(domains) // 25)
    for d_index, domain in enumerate(domains):
        fams = [Family.objects.create(domain=domain, code=f"fam-{d_index}-{f}", name=f"{domain.name} family {f}")
                for f in range(families_per_domain)]
        for i in range(applications // len(domains)):
            fam = fams[i % len(fams)]
            apps.append(Application(code=f"app-{d_index}-{i:04d}", name=f"Application {d_index}-{i}", family=fam,
                                    domain=domain))
    Application.objects.bulk_create(apps, batch_size=2000)
    from datetime import date

    last = date.today().replace(day=1)
    first = add_months(last, -(months - 1))
    with connection.cursor() as cursor:
        # Costs vary by application, month and reading; every tenth application grows month after month.
        cursor.execute(
            """
            INSERT INTO finops_admin_costreading (period, domain_id, family_id, application_id, provider,
                service_category, service_name, billing_account, sub_account, region, billed_cost, effective_cost,
                list_cost, billing_currency, consumed_unit, source_file, source_row)
            SELECT m::date, a.domain_id, a.family_id, a.id,
                   (ARRAY['AWS','Azure','GCP','OnPrem'])[1 + (r %% 4)],
                   (ARRAY['Compute','Storage','Databases','Networking','Analytics'])[1 + (r %% 5)],
                   'svc', 'acct', 'sub', 'eu-west-1',
                   round((10 + (a.id %% 97) + (r %% 13) + CASE WHEN a.id %% 10 = 0
                         THEN extract(month from m) * 3 ELSE 0 END)::numeric, 6),
                   round((9 + (a.id %% 89) + (r %% 11))::numeric, 6), NULL, 'EUR', '', 'bench.csv', r
            FROM generate_series(%s::date, %s::date, interval '1 month') AS m
            CROSS JOIN finops_admin_application a
            CROSS JOIN generate_series(1, %s) AS r
            """,
            [first, last, per],
        )
        cursor.execute("SELECT COUNT(*) FROM finops_admin_costreading")
        readings = cursor.fetchone()[0]
    aggregates_refresh()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return (f"populated {readings:,} readings ({months} months × {Application.objects.count()} applications) "
            f"and refreshed the aggregates in {time.perf_counter() - t0:.1f} s")


def run_bench(args) -> None:
    from django.contrib.auth.models import Group
    from django.test import Client

    from accounts.models import User
    from finops_admin.models import Application, Family

    if args.reuse:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM finops_admin_costreading")
            print(f"reusing {cursor.fetchone()[0]:,} readings over {Application.objects.count()} applications")
    else:
        print(populate(args.months, args.applications, args.per))
    user, _ = User.objects.get_or_create(username="finops-bench")
    user.groups.add(Group.objects.get(name="finops_user"))
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    family = Family.objects.filter(domain__code="public", is_unallocated=False).first()
    app = Application.objects.filter(family=family).order_by("code").first()
    urls = [
        "/finops/", "/finops/domains/", "/finops/domains/?domain=public", f"/finops/families/?family={family.pk}",
        "/finops/families/", "/finops/applications/", "/finops/applications/?sort=-change_pct&page=5",
        "/finops/applications/?domain=public&sort=name", f"/finops/applications/?application={app.code}",
        "/finops/rankings/", "/finops/rankings/?by=change_pct&top=100", "/finops/rankings/?level=family&by=change",
        "/finops/history/", "/finops/history/?level=application&key=" + app.code + "&compare_start=2000-01",
        "/finops/?export=domains", "/finops/?export=domains&format=xlsx",
        "/finops/applications/?export=applications", "/finops/applications/?export=applications&format=xlsx",
        "/api/finops/costs/totals/", "/api/finops/costs/breakdown/?level=family",
        "/api/finops/costs/breakdown/?level=application", "/api/finops/costs/breakdown/?level=application&page=10",
        "/api/finops/costs/breakdown/?level=application&domain=public", "/api/finops/costs/rankings/?by=change",
        "/api/finops/costs/history/",
    ]
    print(f"uptime before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"{'url':<62} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    worst = worst_page = 0.0
    for url in urls:
        assert client.get(url).status_code == 200, url  # warm-up
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, url
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        worst = max(worst, p95)
        if "export=" not in url:
            worst_page = max(worst_page, p95)
        print(f"{url[:62]:<62} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}")
    print(f"worst p95: {worst:.1f} ms (pages: {worst_page:.1f} ms); load average {os.getloadavg()[0]:.2f} "
          f"(2 cores shared)")
    print(f"uptime after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
