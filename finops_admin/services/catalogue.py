"""Loading the catalogue (domains, families, applications, allocation rules) from a CSV file.

One row per record, with a `kind` column (domain, family, application, rule):

    kind,domain,code,name,family,owner_team,priority,field,tag_key,value,application

- domain: domain code, name (priority = display position);
- family: its domain, code, name;
- application: its domain, code, name, family code (of that domain), owner team;
- rule: domain (empty: every domain), priority, field (provider, billing_account,
  sub_account, tag), tag_key (for tag rules), value, application code.

Loading is idempotent (records are matched by code; rules by domain, field, tag
key and value) and atomic: the first bad line stops it and nothing is written.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from finops_admin.models import AllocationRule, Application, Currency, Domain, Family

COLUMNS = ["kind", "domain", "code", "name", "family", "owner_team", "priority", "field", "tag_key", "value",
           "application"]
MAX_BYTES = 50 << 20


class CatalogueError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass
class CatalogueSummary:
    created: dict[str, int] = field(default_factory=lambda: {"domain": 0, "family": 0, "application": 0, "rule": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"domain": 0, "family": 0, "application": 0, "rule": 0})

    def __str__(self) -> str:
        return ", ".join(f"{k}: {self.created[k]} created, {self.updated[k]} updated" for k in self.created)


def _int(value: str, line: int, what: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CatalogueError(line, f"{what} must be a whole number, not {value[:40]!r}") from None
    if number < 0:
        raise CatalogueError(line, f"{what} must not be negative")
    return number


@transaction.atomic
def catalogue_load(*, path: Path) -> CatalogueSummary:
    """Create or update the catalogue records of the CSV file at `path`, all or nothing."""
    if not path.is_file():
        raise CatalogueError(0, f"no such file: {path}")
    if path.stat().st_size > MAX_BYTES:
        raise CatalogueError(0, f"file larger than {MAX_BYTES >> 20} MiB")
    summary = CatalogueSummary()
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise CatalogueError(1, f"missing column(s): {', '.join(missing)}")
            for row in reader:
                _load_row({k: (v or "").strip() for k, v in row.items() if k}, reader.line_num, summary)
    except UnicodeDecodeError as exc:
        raise CatalogueError(0, f"not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise CatalogueError(0, f"not a CSV file ({exc})") from None
    return summary


def _count(summary: CatalogueSummary, kind: str, created: bool) -> None:
    (summary.created if created else summary.updated)[kind] += 1


def _domain(code: str, line: int) -> Domain:
    domain = Domain.objects.filter(code=code.lower()).first()
    if domain is None:
        raise CatalogueError(line, f"unknown domain {code[:40]!r}")
    return domain


def _load_row(row: dict[str, str], line: int, summary: CatalogueSummary) -> None:
    kind = row["kind"].lower()
    if kind == "domain":
        if not row["code"] or not row["name"]:
            raise CatalogueError(line, "a domain needs a code and a name")
        _, created = Domain.objects.update_or_create(
            code=row["code"].lower(),
            defaults={"name": row["name"][:100], "position": _int(row["priority"] or "0", line, "priority")},
        )
        _count(summary, "domain", created)
        if created:  # every domain has its Unallocated bucket
            domain = Domain.objects.get(code=row["code"].lower())
            family, _ = Family.objects.get_or_create(
                domain=domain, code="unallocated", defaults={"name": "Unallocated", "is_unallocated": True})
            Application.objects.get_or_create(
                code=f"unallocated-{domain.code}",
                defaults={"name": f"Unallocated ({domain.name})", "family": family, "domain": domain,
                          "is_unallocated": True})
    elif kind == "family":
        domain = _domain(row["domain"], line)
        if not row["code"] or not row["name"]:
            raise CatalogueError(line, "a family needs a code and a name")
        if row["code"] == "unallocated":
            raise CatalogueError(line, "'unallocated' is the domain's own bucket; it cannot be redefined")
        _, created = Family.objects.update_or_create(domain=domain, code=row["code"], defaults={"name": row["name"][:200]})
        _count(summary, "family", created)
    elif kind == "application":
        domain = _domain(row["domain"], line)
        if not row["code"] or not row["name"] or not row["family"]:
            raise CatalogueError(line, "an application needs a code, a name and a family")
        family = Family.objects.filter(domain=domain, code=row["family"]).first()
        if family is None:
            raise CatalogueError(line, f"unknown family {row['family'][:40]!r} in domain {domain.code}")
        existing = Application.objects.filter(code=row["code"]).first()
        if existing is not None and existing.is_unallocated:
            raise CatalogueError(line, f"{existing.code} is an Unallocated bucket; it cannot be redefined")
        _, created = Application.objects.update_or_create(
            code=row["code"],
            defaults={"name": row["name"][:200], "family": family, "domain": domain,
                      "owner_team": row["owner_team"][:200]},
        )
        _count(summary, "application", created)
    elif kind == "rule":
        domain = _domain(row["domain"], line) if row["domain"] else None
        rule_field = row["field"].lower()
        if rule_field not in AllocationRule.Field.values:
            raise CatalogueError(
                line, f"unknown rule field {row['field'][:40]!r} (one of {', '.join(AllocationRule.Field.values)})")
        if rule_field == AllocationRule.Field.TAG and not row["tag_key"]:
            raise CatalogueError(line, "a tag rule needs a tag_key")
        if not row["value"]:
            raise CatalogueError(line, "a rule needs a value")
        application = Application.objects.filter(code=row["application"]).first()
        if application is None:
            raise CatalogueError(line, f"unknown application {row['application'][:40]!r}")
        if domain is not None and application.domain_id != domain.pk:
            raise CatalogueError(line, f"application {application.code} is not in domain {domain.code}")
        _, created = AllocationRule.objects.update_or_create(
            domain=domain, field=rule_field, tag_key=row["tag_key"] if rule_field == "tag" else "",
            value=row["value"][:500],
            defaults={"priority": _int(row["priority"], line, "priority"), "application": application,
                      "is_active": True},
        )
        _count(summary, "rule", created)
    else:
        raise CatalogueError(line, f"unknown kind {row['kind'][:40]!r} (domain, family, application or rule)")


def reference_data_seed(*, using: str = "default") -> None:
    """Create the default domains (with their Unallocated buckets) and currencies if their tables are empty."""
    from importlib import import_module

    seed = import_module("finops_admin.migrations.0002_domains_and_currencies")
    if not Domain.objects.using(using).exists():
        for code, name, position in seed.DOMAINS:
            domain = Domain.objects.using(using).create(code=code, name=name, position=position)
            family = Family.objects.using(using).create(
                domain=domain, code="unallocated", name="Unallocated", is_unallocated=True)
            Application.objects.using(using).get_or_create(
                code=f"unallocated-{code}",
                defaults={"name": f"Unallocated ({name})", "family": family, "domain": domain, "is_unallocated": True},
            )
    if not Currency.objects.using(using).exists():
        Currency.objects.using(using).bulk_create([Currency(code=c, name=n) for c, n in seed.CURRENCIES])
