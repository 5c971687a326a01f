"""Writes that annotate runs (favourite, tags, notes) and clone them.

Bulk variants check every run against the actor's roles before changing any:
a bulk action never half-applies.
"""
from __future__ import annotations

from typing import Any, Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef

from accounts import roles
from accounts.services import audit_record
from runs.models import Run, RunFavourite, RunTrigger, Tag
from runs.services.lifecycle import run_create, run_log

MAX_TAG_LENGTH = 64
MAX_TAGS_PER_RUN = 50


def clean_tag_names(names: Iterable[str]) -> list[str]:
    """Strip, drop blanks and duplicates (keeping order); refuse names that cannot be tags."""
    cleaned: list[str] = []
    for raw in names:
        name = str(raw).strip()
        if not name:
            continue
        if len(name) > MAX_TAG_LENGTH:
            raise ValidationError({"tags": [f"tag {name[:20]!r}… is longer than {MAX_TAG_LENGTH} characters"]})
        if "," in name:
            raise ValidationError({"tags": [f"tag {name!r} may not contain a comma"]})
        if name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS_PER_RUN:
        raise ValidationError({"tags": [f"a run holds at most {MAX_TAGS_PER_RUN} tags"]})
    return cleaned


def _require_annotate(actor: Any, runs: list[Run]) -> None:
    refused = [run.run_id for run in runs if not roles.can_annotate_run(actor, run)]
    if refused:
        raise PermissionDenied(f"Not allowed to change: {', '.join(refused)}. Nothing was changed.")


def _tags(names: list[str]) -> list[Tag]:
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    return [existing[n] for n in names]


@transaction.atomic
def run_annotate(
    *,
    run: Run,
    actor: Any,
    is_favourite: bool | None = None,
    tags: Iterable[str] | None = None,
    notes: str | None = None,
) -> Run:
    """Change any of favourite, tags and notes; what is None stays as it is."""
    _require_annotate(actor, [run])
    changed: dict[str, Any] = {}
    if is_favourite is not None and _favourites_set(runs=[run], user=actor, value=is_favourite):
        changed["is_favourite"] = is_favourite
        run.refresh_from_db(fields=["is_favourite"])
    if notes is not None and notes != run.notes:
        run.notes = notes
        changed["notes"] = True
        run.save(update_fields=["notes"])
    if tags is not None:
        names = clean_tag_names(tags)
        run.tags.set(_tags(names))
        changed["tags"] = names
    if changed:
        audit_record(actor=actor, action="run.annotate", target=run.run_id, detail=changed)
    return run


def _favourites_set(*, runs: list[Run], user: Any, value: bool) -> int:
    """Star or unstar these runs for `user` alone; return how many changed.

    Run.is_favourite stays "starred by someone" (what cleanup keeps): set with the
    first star, cleared when the last star is removed. A run starred before stars
    were per user and never starred since keeps its shared flag."""
    ids = [r.pk for r in runs]
    mine = RunFavourite.objects.filter(user=user, run_id__in=ids)
    if value:
        have = set(mine.values_list("run_id", flat=True))
        # Each star keeps its run's created_at (the favourites list reads it from its index),
        # read here from the database: a run object in hand may hold a stale or deferred one.
        created = dict(Run.objects.filter(pk__in=[pk for pk in ids if pk not in have]).values_list("pk", "created_at"))
        RunFavourite.objects.bulk_create(
            [RunFavourite(user=user, run_id=pk, run_created_at=at) for pk, at in created.items()], ignore_conflicts=True
        )
        Run.objects.filter(pk__in=ids, is_favourite=False).update(is_favourite=True)
        return len(set(ids) - have)
    removed = set(mine.values_list("run_id", flat=True))
    mine.delete()
    if removed:
        Run.objects.filter(pk__in=removed).exclude(Exists(RunFavourite.objects.filter(run=OuterRef("pk")))).update(
            is_favourite=False
        )
    return len(removed)


@transaction.atomic
def runs_set_favourite(*, runs: list[Run], actor: Any, value: bool) -> int:
    """Star or unstar these runs for the actor (their own favourites, no one else's)."""
    _require_annotate(actor, runs)
    _favourites_set(runs=runs, user=actor, value=value)
    count = len(runs)
    audit_record(actor=actor, action="runs.favourite" if value else "runs.unfavourite",
                 target=f"{count} runs", detail={"runs": [r.run_id for r in runs]})
    return count


@transaction.atomic
def runs_tag(*, runs: list[Run], actor: Any, tag: str, add: bool = True) -> int:
    _require_annotate(actor, runs)
    names = clean_tag_names([tag])
    if not names:
        raise ValidationError({"tag": ["a tag name is required"]})
    tag_obj = _tags(names)[0]
    through = Run.tags.through
    ids = [r.pk for r in runs]
    if add:
        have = set(through.objects.filter(tag=tag_obj, run_id__in=ids).values_list("run_id", flat=True))
        through.objects.bulk_create([through(run_id=pk, tag=tag_obj) for pk in ids if pk not in have])
    else:
        through.objects.filter(tag=tag_obj, run_id__in=ids).delete()
    audit_record(actor=actor, action="runs.tag" if add else "runs.untag", target=tag_obj.name,
                 detail={"runs": [r.run_id for r in runs]})
    return len(ids)


@transaction.atomic
def run_clone(*, run: Run, actor: Any, params: dict[str, Any] | None = None, tags: Iterable[str] = ()) -> Run:
    """A new run of the same kind with the source's parameters, changed by `params`.

    The clone is executed like any launch; its parent is the source, trigger CLONE.
    A data-only import (a table with no parameters) cannot be cloned: there is nothing to re-run.
    """
    if run.is_data_only:
        raise ValidationError(f"{run.run_id} is an imported table of data only: it has no parameters to run again.")
    merged = {**run.params, **(params or {})}
    clone = run_create(
        kind=run.kind,
        params=merged,
        trigger=RunTrigger.CLONE,
        owner=actor,
        parent=run,
        tags=list(tags) or list(run.tags.values_list("name", flat=True)),
    )
    changed = sorted(k for k in merged if run.params.get(k) != clone.params.get(k))
    run_log(run=clone, message=f"Cloned from {run.run_id}" + (f"; changed: {', '.join(changed)}" if changed else ""))
    audit_record(actor=actor, action="run.clone", target=clone.run_id,
                 detail={"source": run.run_id, "before": {k: run.params.get(k) for k in changed},
                         "after": {k: clone.params.get(k) for k in changed}})
    return clone
