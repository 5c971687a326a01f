"""Realistic FOCUS exports for the four domains, and the catalogue that allocates them.

No Django here. Seeded: the same arguments write the same bytes. Costs follow a
yearly seasonality, a monthly growth and a few spikes; rows carry several
providers, services, regions, accounts and tags; a fraction of rows matches no
allocation rule (they land in Unallocated).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DOMAINS = [("open", "Open"), ("private", "Private"), ("public", "Public"), ("native", "Native")]
# Share of the rows (and, roughly, of the cost) of each domain.
DOMAIN_WEIGHTS = {"open": 0.15, "private": 0.25, "public": 0.45, "native": 0.15}
PROVIDERS = {
    "open": ["OVHcloud", "Scaleway", "Hetzner"],
    "private": ["VMware Private Cloud", "OpenStack"],
    "public": ["AWS", "Microsoft", "Google Cloud"],
    "native": ["Kubernetes Platform", "Serverless Platform"],
}
SERVICES = [
    ("Compute", "Virtual Machines"), ("Compute", "Containers"), ("Storage", "Object Storage"),
    ("Storage", "Block Storage"), ("Databases", "Managed PostgreSQL"), ("Networking", "Load Balancer"),
    ("Networking", "Data Transfer"), ("Analytics", "Data Warehouse"), ("AI and Machine Learning", "Inference"),
    ("Security", "Key Management"),
]
UNITS = {"Compute": "Hours", "Storage": "GB-Month", "Databases": "Hours", "Networking": "GB",
         "Analytics": "Queries", "AI and Machine Learning": "Requests", "Security": "Requests"}
REGIONS = ["eu-west-1", "eu-central-1", "eu-west-3", "us-east-1", "francecentral", "europe-west9"]
FAMILIES = ["payments", "lending", "markets", "risk", "data-platform", "digital", "hr", "it-core"]
TEAMS = ["Payments Squad", "Credit Tribe", "Markets IT", "Risk Engineering", "Data Office", "Digital Factory",
         "HR Systems", "Core IT"]
CURRENCY = "EUR"
# Share of rows that carry no allocation key at all (they go to Unallocated).
UNALLOCATED_SHARE = 0.04

FOCUS_COLUMNS = [
    "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ProviderName", "PublisherName",
    "InvoiceIssuerName", "ServiceCategory", "ServiceName", "SubAccountId", "SubAccountName", "RegionId",
    "ResourceId", "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ConsumedQuantity",
    "ConsumedUnit", "Tags",
]


@dataclass(frozen=True)
class App:
    code: str
    name: str
    domain: str
    family: str
    team: str
    sub_account: str
    billing_account: str
    weight: float
    # How the catalogue finds it: by "tag" (app=<code>) or by "sub_account".
    matched_by: str


def months_ending(last: date, count: int) -> list[date]:
    months = []
    year, month = last.year, last.month
    for _ in range(count):
        months.append(date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(months))


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def make_applications(count: int, rng: np.random.Generator) -> list[App]:
    apps = []
    codes = [d for d, _ in DOMAINS]
    weights = np.array([DOMAIN_WEIGHTS[d] for d in codes])
    domain_of = rng.choice(codes, size=count, p=weights / weights.sum())
    sizes = rng.pareto(1.2, size=count) + 0.2  # a few big spenders, a long tail
    for i in range(count):
        domain = str(domain_of[i])
        family_index = i % len(FAMILIES)
        family = FAMILIES[family_index]
        apps.append(App(
            code=f"app-{i + 1:04d}",
            name=f"{family.replace('-', ' ').title()} application {i + 1}",
            domain=domain,
            family=family,
            team=TEAMS[family_index],
            sub_account=f"{domain}-sub-{i + 1:04d}",
            billing_account=f"{domain}-ba-{i % 5 + 1:02d}",
            weight=float(sizes[i]),
            matched_by="sub_account" if i % 4 == 0 else "tag",
        ))
    return apps


def write_catalogue(path: Path, apps: list[App]) -> None:
    """The catalogue CSV `finops_load_catalogue` reads: domains, families, applications, rules."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ["kind", "domain", "code", "name", "family", "owner_team", "priority", "field", "tag_key", "value",
              "application"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for position, (code, name) in enumerate(DOMAINS, start=1):
            out.writerow(["domain", code, code, name, "", "", position, "", "", "", ""])
        families = sorted({(a.domain, a.family) for a in apps})
        for domain, family in families:
            out.writerow(["family", domain, family, family.replace("-", " ").title(), "", "", "", "", "", "", ""])
        for app in apps:
            out.writerow(["application", app.domain, app.code, app.name, app.family, app.team, "", "", "", "", ""])
        # Tag rules first (the most specific), then sub-accounts.
        for i, app in enumerate(apps):
            if app.matched_by == "tag":
                out.writerow(["rule", app.domain, "", "", "", "", 100 + i, "tag", "app", app.code, app.code])
        for i, app in enumerate(apps):
            out.writerow(["rule", app.domain, "", "", "", "", 1000 + i, "sub_account", "", app.sub_account, app.code])


def generate(
    *,
    out: Path,
    months: int,
    applications: int,
    rows_per_month: int,
    seed: int,
    last_month: date,
    missing_month: str | None = None,
    fmt: str = "csv",
) -> dict:
    """Write one file per domain and month under out/<domain>/, and out/catalogue.csv."""
    rng = np.random.default_rng(seed)
    apps = make_applications(applications, rng)
    write_catalogue(out / "catalogue.csv", apps)
    periods = months_ending(last_month, months)
    spikes = {(int(rng.integers(0, applications)), int(rng.integers(0, months))) for _ in range(3)}
    written = []
    total_rows = 0
    for domain, _ in DOMAINS:
        domain_apps = [a for a in apps if a.domain == domain]
        if not domain_apps:
            continue
        folder = out / domain
        folder.mkdir(parents=True, exist_ok=True)
        weights = np.array([a.weight for a in domain_apps])
        weights = weights / weights.sum()
        app_index = {a.code: i for i, a in enumerate(apps)}
        providers = PROVIDERS[domain]
        for m, period in enumerate(periods):
            label = f"{period:%Y-%m}"
            if label == missing_month:
                continue
            n = max(1, int(rows_per_month * DOMAIN_WEIGHTS[domain]))
            table = _month_table(rng, domain_apps, weights, app_index, providers, period, m, n, spikes)
            name = f"focus_{domain}_{label}"
            if fmt == "parquet":
                path = folder / f"{name}.parquet"
                pq.write_table(table, path, compression="snappy")
            elif fmt == "csv.gz":
                path = folder / f"{name}.csv.gz"
                with pa.CompressedOutputStream(str(path), "gzip") as stream:
                    pacsv.write_csv(table, stream)
            else:
                path = folder / f"{name}.csv"
                pacsv.write_csv(table, path)
            written.append(path)
            total_rows += n
    return {"files": written, "rows": total_rows, "applications": apps, "periods": [f"{p:%Y-%m}" for p in periods]}


def _month_table(rng, apps, weights, app_index, providers, period, m, n, spikes) -> pa.Table:
    chosen = rng.choice(len(apps), size=n, p=weights)
    service = rng.integers(0, len(SERVICES), size=n)
    provider = rng.integers(0, len(providers), size=n)
    region = rng.integers(0, len(REGIONS), size=n)
    season = 1 + 0.15 * np.sin(2 * np.pi * (period.month - 3) / 12)
    growth = 1.02 ** m
    # Mean cost per row ~ 40 EUR, lognormal spread; big applications draw more rows, not bigger rows.
    list_cost = rng.lognormal(mean=3.2, sigma=1.0, size=n) * season * growth
    global_index = np.array([app_index[apps[i].code] for i in range(len(apps))])[chosen]
    for app_i, month_i in spikes:
        if month_i == m:
            list_cost[global_index == app_i] *= 4.0
    discount = rng.uniform(0.0, 0.3, size=n)
    effective = list_cost * (1 - discount)
    billed = effective * rng.uniform(0.95, 1.05, size=n)
    quantity = list_cost / rng.uniform(0.05, 2.0, size=n)
    unallocated = rng.random(n) < UNALLOCATED_SHARE
    codes = np.array([a.code for a in apps], dtype=object)[chosen]
    subs = np.array([a.sub_account for a in apps], dtype=object)[chosen]
    accounts = np.array([a.billing_account for a in apps], dtype=object)[chosen]
    by_tag = np.array([a.matched_by == "tag" for a in apps])[chosen]
    env = np.array(["prod", "preprod", "dev"], dtype=object)[rng.integers(0, 3, size=n)]
    tags = np.where(
        unallocated,
        np.char.add(np.char.add('{"env": "', env.astype(str)), '"}'),
        np.char.add(np.char.add(np.char.add(np.char.add('{"app": "', codes.astype(str)), '", "env": "'),
                                env.astype(str)), '"}'),
    )
    # Sub-account-matched applications also carry tags without the app key, now and then.
    tags = np.where(by_tag | unallocated, tags, np.char.add(np.char.add('{"env": "', env.astype(str)), '"}'))
    subs = np.where(unallocated, "shared-sub-0000", subs)
    start = f"{period:%Y-%m-%d}T00:00:00Z"
    end = f"{_next_month(period):%Y-%m-%d}T00:00:00Z"
    day = rng.integers(1, 28, size=n)
    charge_start = np.char.add(np.char.add(f"{period:%Y-%m}-", np.char.zfill(day.astype(str), 2)), "T00:00:00Z")
    charge_end = np.char.add(np.char.add(f"{period:%Y-%m}-", np.char.zfill((day + 1).astype(str), 2)), "T00:00:00Z")
    cats = np.array([s[0] for s in SERVICES], dtype=object)[service]
    names = np.array([s[1] for s in SERVICES], dtype=object)[service]
    units = np.array([UNITS[c] for c in cats], dtype=object)
    prov = np.array(providers, dtype=object)[provider]

    def money(values: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(np.round(values, 6)), pa.string())

    return pa.table({
        "BillingAccountId": pa.array(accounts.tolist(), pa.string()),
        "BillingAccountName": pa.array(accounts.tolist(), pa.string()),
        "BillingCurrency": pa.array([CURRENCY] * n, pa.string()),
        "BillingPeriodStart": pa.array([start] * n, pa.string()),
        "BillingPeriodEnd": pa.array([end] * n, pa.string()),
        "ChargePeriodStart": pa.array(charge_start.tolist(), pa.string()),
        "ChargePeriodEnd": pa.array(charge_end.tolist(), pa.string()),
        "ChargeCategory": pa.array(["Usage"] * n, pa.string()),
        "ProviderName": pa.array(prov.tolist(), pa.string()),
        "PublisherName": pa.array(prov.tolist(), pa.string()),
        "InvoiceIssuerName": pa.array(prov.tolist(), pa.string()),
        "ServiceCategory": pa.array(cats.tolist(), pa.string()),
        "ServiceName": pa.array(names.tolist(), pa.string()),
        "SubAccountId": pa.array(subs.tolist(), pa.string()),
        "SubAccountName": pa.array(subs.tolist(), pa.string()),
        "RegionId": pa.array(np.array(REGIONS, dtype=object)[region].tolist(), pa.string()),
        "ResourceId": pa.array(np.char.add("res-", rng.integers(0, 10**6, size=n).astype(str)).tolist(), pa.string()),
        "BilledCost": money(billed),
        "EffectiveCost": money(effective),
        "ListCost": money(list_cost),
        "ContractedCost": money(list_cost * 0.9),
        "ConsumedQuantity": money(quantity),
        "ConsumedUnit": pa.array(units.tolist(), pa.string()),
        "Tags": pa.array(tags.tolist(), pa.string()),
    })
