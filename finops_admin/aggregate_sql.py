"""The aggregates' definitions, shared by the migrations that create them and the refresh.

Order matters: each aggregate after the first reads one before it, so a refresh
scans the readings once. On PostgreSQL each is a MATERIALIZED VIEW with the
unique index REFRESH … CONCURRENTLY needs; on SQLite a table of the same name
and columns, rebuilt in a transaction. Changing a definition means a new
migration that drops and recreates the views: AGGREGATES_0003 is what migration
0003 created (kept as it was, for that migration and to undo 0005); AGGREGATES
is the current set (migration 0005 onwards).
"""
from __future__ import annotations

READINGS = "finops_admin_costreading"
SUMS = "SUM(billed_cost) AS billed_cost, SUM(effective_cost) AS effective_cost, SUM(list_cost) AS list_cost"
# SUM of a bigint is numeric on PostgreSQL: cast back so `readings` is an integer on both databases.
RESUMS = ("SUM(billed_cost) AS billed_cost, SUM(effective_cost) AS effective_cost, "
          "SUM(list_cost) AS list_cost, CAST(SUM(readings) AS bigint) AS readings")

# name, SELECT (with {next_p} for "the month after `x`"), unique key, SQLite column types
Aggregates = list[tuple[str, str, tuple[str, ...], str]]

AGGREGATES_0003: Aggregates = [
    (
        "finops_agg_application_month",
        f"SELECT period, domain_id, family_id, application_id, {SUMS}, COUNT(*) AS readings "
        f"FROM {READINGS} GROUP BY period, domain_id, family_id, application_id",
        ("period", "domain_id", "family_id", "application_id"),
        "period date NOT NULL, domain_id bigint NOT NULL, family_id bigint NOT NULL, application_id bigint NOT NULL",
    ),
    (
        "finops_agg_family_month",
        f"SELECT period, domain_id, family_id, {RESUMS} FROM finops_agg_application_month "
        "GROUP BY period, domain_id, family_id",
        ("period", "domain_id", "family_id"),
        "period date NOT NULL, domain_id bigint NOT NULL, family_id bigint NOT NULL",
    ),
    (
        "finops_agg_domain_month",
        f"SELECT period, domain_id, {RESUMS} FROM finops_agg_family_month GROUP BY period, domain_id",
        ("period", "domain_id"),
        "period date NOT NULL, domain_id bigint NOT NULL",
    ),
    (
        # An application that spent nothing this month but did last month appears with
        # a cost of 0 (its decrease ranks); the first month of the data has no previous one (0).
        "finops_agg_application_ranking",
        "WITH cur AS (SELECT period, application_id, SUM(billed_cost) AS billed_cost, "
        "SUM(effective_cost) AS effective_cost FROM finops_agg_application_month GROUP BY period, application_id), "
        "pairs AS (SELECT COALESCE(c.period, {next_p}) AS period, "
        "COALESCE(c.application_id, p.application_id) AS application_id, "
        "COALESCE(c.billed_cost, 0) AS billed_cost, COALESCE(c.effective_cost, 0) AS effective_cost, "
        "COALESCE(p.effective_cost, 0) AS previous_effective_cost "
        "FROM cur c FULL OUTER JOIN cur p ON p.application_id = c.application_id AND {next_p} = c.period "
        "WHERE COALESCE(c.period, {next_p}) <= (SELECT MAX(period) FROM cur)) "
        "SELECT period, application_id, billed_cost, effective_cost, previous_effective_cost, "
        "effective_cost - previous_effective_cost AS change, "
        "ROW_NUMBER() OVER (PARTITION BY period ORDER BY effective_cost DESC, application_id) AS cost_rank, "
        "ROW_NUMBER() OVER (PARTITION BY period ORDER BY effective_cost - previous_effective_cost DESC, "
        "application_id) AS change_rank FROM pairs",
        ("period", "application_id"),
        "period date NOT NULL, application_id bigint NOT NULL, billed_cost decimal NOT NULL, "
        "effective_cost decimal NOT NULL, previous_effective_cost decimal NOT NULL, change decimal NOT NULL, "
        "cost_rank bigint NOT NULL, change_rank bigint NOT NULL",
    ),
]
# Since 0005: the readings are first grouped by provider and service category as well (what the
# application view splits by), and the application-month aggregate is summed from that one, so a
# refresh still scans the readings once. Its key starts with the application and the month: the
# application view reads one application-month by that index.
AGGREGATES: Aggregates = [
    (
        "finops_agg_service_month",
        f"SELECT period, domain_id, family_id, application_id, provider, service_category, {SUMS}, "
        f"COUNT(*) AS readings FROM {READINGS} "
        "GROUP BY period, domain_id, family_id, application_id, provider, service_category",
        ("application_id", "period", "provider", "service_category", "domain_id", "family_id"),
        "period date NOT NULL, domain_id bigint NOT NULL, family_id bigint NOT NULL, application_id bigint NOT NULL, "
        "provider varchar(100) NOT NULL, service_category varchar(100) NOT NULL",
    ),
    (
        "finops_agg_application_month",
        f"SELECT period, domain_id, family_id, application_id, {RESUMS} FROM finops_agg_service_month "
        "GROUP BY period, domain_id, family_id, application_id",
        ("period", "domain_id", "family_id", "application_id"),
        "period date NOT NULL, domain_id bigint NOT NULL, family_id bigint NOT NULL, application_id bigint NOT NULL",
    ),
    *AGGREGATES_0003[1:],  # family, domain and ranking: unchanged
]
# Secondary indexes (since 0005): the application list reads the 12-month series of one page of
# applications, and an application's history its own months.
INDEXES: dict[str, list[tuple[str, ...]]] = {
    "finops_agg_application_month": [("application_id", "period")],
}
SUM_COLUMNS = "billed_cost decimal, effective_cost decimal, list_cost decimal, readings bigint NOT NULL"
NEXT_MONTH = {
    "postgresql": "(p.period + interval '1 month')::date",
    "sqlite": "date(p.period, '+1 month')",
}


def select_sql(name: str, vendor: str, aggregates: Aggregates | None = None) -> str:
    for view, select, _, _ in AGGREGATES if aggregates is None else aggregates:
        if view == name:
            return select.replace("{next_p}", NEXT_MONTH[vendor])
    raise KeyError(name)


def create_statements(vendor: str, aggregates: Aggregates,
                      indexes: dict[str, list[tuple[str, ...]]] | None = None) -> list[str]:
    statements = []
    for name, _, key, columns in aggregates:
        select = select_sql(name, vendor, aggregates)
        if vendor == "postgresql":
            statements.append(f"CREATE MATERIALIZED VIEW {name} AS {select}")
            statements.append(f"CREATE UNIQUE INDEX {name}_key ON {name} ({', '.join(key)})")
        else:
            extra = "" if name == "finops_agg_application_ranking" else f", {SUM_COLUMNS}"
            statements.append(f"CREATE TABLE {name} ({columns}{extra}, PRIMARY KEY ({', '.join(key)}))")
        for i, columns_of in enumerate((indexes or {}).get(name, []), 1):
            statements.append(f"CREATE INDEX {name}_by{i} ON {name} ({', '.join(columns_of)})")
    return statements


def fill_statements(vendor: str, aggregates: Aggregates) -> list[str]:
    """What fills freshly created aggregates: nothing on PostgreSQL (a view is filled when created)."""
    if vendor == "postgresql":
        return []
    return [f"INSERT INTO {name} {select_sql(name, vendor, aggregates)}" for name, *_ in aggregates]


def drop_statements(vendor: str, aggregates: Aggregates) -> list[str]:
    kind = "MATERIALIZED VIEW" if vendor == "postgresql" else "TABLE"
    return [f"DROP {kind} IF EXISTS {name}" for name, *_ in reversed(aggregates)]
