"""The role matrix, written once: for every URL pattern, method and role, the answers allowed.

Source: the README's role matrix and accounts/roles.py. Where the product disagrees
with this table, the product is wrong. Keys are URL pattern names (namespaced), or
the route for an unnamed pattern. tests/test_role_matrix.py checks every pattern
of the project against it; tests/crawl/ uses it for every page it walks.

Requests are sent as the persona of each role (tests/crawl/world.py): admin,
governance_admin and ml_admin have staff status, the others do not; the run named
in URLs belongs to the analyst persona; the saved comparison too. Unsafe methods
are sent with an empty body: a role that may act gets past the permission check
(and may then be told its input is invalid), a role that may not gets 403 (404 for
an object it may not see) whatever the body.
"""
from __future__ import annotations

from typing import Iterable

ADMIN, GOV, ML, ANALYST, VIEWER = "admin", "governance_admin", "ml_admin", "analyst", "viewer"
FINOPS_ADMIN, FINOPS_USER, ANON = "finops_admin", "finops_user", "anonymous"
ROLES = (ADMIN, GOV, ML, ANALYST, VIEWER, FINOPS_ADMIN, FINOPS_USER, ANON)
AUTHENTICATED = ROLES[:-1]
STAFF = (ADMIN, GOV, ML)

# Role groups of the README matrix.
SEE_RUNS = (ADMIN, GOV, ML, ANALYST, VIEWER)  # see simulation, training and demo runs; compare; export
NO_RUNS = (FINOPS_ADMIN, FINOPS_USER)
LAUNCH = (ADMIN, ML, ANALYST)  # launch, tag, annotate, favourite, import, save comparisons
DELETE_THIS_RUN = (ADMIN, ML, ANALYST)  # "any" for admin/ml_admin, "own" for the analyst (owner)
CANCEL_THIS_RUN = (ADMIN, ML, ANALYST)
CHANGE_THIS_COMPARISON = (ADMIN, ML, ANALYST)  # the analyst owns it; run deleters may change any
CLEANUP = (ADMIN, ML)
TRAIN = (ADMIN, ML, ANALYST)  # train models, upload training datasets
GOVERN = (ADMIN, GOV)  # users, roles, all API keys, audit trail
REGISTRY = (ADMIN, ML)  # register versions, move aliases, archive, edit model cards
CONSOLE_VIEW = (ADMIN, GOV, ML)  # health, logs, caches: read
CONSOLE_MANAGE = (ADMIN, ML)  # caches: clear, evict
FINOPS_SECTION = (ADMIN, FINOPS_ADMIN)  # FinOps › Admin › Batch Runs: pages and API
FINOPS_COSTS = (ADMIN, FINOPS_ADMIN, FINOPS_USER)  # FinOps cost views (dashboard … history): pages and API
PROJECT_EDIT = (ADMIN, ML, ANALYST)  # create, import; edit the fixture's project (analyst's, ml_admin a member)

# Answers.
OK = frozenset({200})
# An unsafe request with an empty body from a role that may act: done, or refused as invalid input.
ACTED = frozenset({200, 201, 204, 302, 400, 409, 415})
FORBIDDEN = frozenset({403})
NOT_FOUND = frozenset({404})
TO_LOGIN = frozenset({302})
UNAUTHORIZED = frozenset({401})
REDIRECT = frozenset({302})

Rule = dict[str, frozenset[int]]  # role -> allowed status codes
Entry = dict[str, Rule]  # method -> rule


def _rule(allowed: Iterable[str], ok: frozenset[int], *, denied: frozenset[int], anon: frozenset[int],
          hidden: Iterable[str] = (), special: dict[str, frozenset[int]] | None = None) -> Rule:
    allowed, hidden = set(allowed), set(hidden)
    out: Rule = {}
    for role in ROLES:
        if role == ANON:
            out[role] = anon
        elif role in allowed:
            out[role] = ok
        elif role in hidden:
            out[role] = NOT_FOUND
        else:
            out[role] = denied
    out.update(special or {})
    return out


def page(allowed: Iterable[str], ok: frozenset[int] = OK, **kw) -> Rule:
    """A page: anonymous visitors go to the login page, refused roles get 403."""
    return _rule(allowed, ok, denied=FORBIDDEN, anon=TO_LOGIN, **kw)


def api(allowed: Iterable[str], ok: frozenset[int] = OK, **kw) -> Rule:
    """An API endpoint: anonymous callers get 401, refused roles 403, runs they may not see 404."""
    return _rule(allowed, ok, denied=FORBIDDEN, anon=UNAUTHORIZED, **kw)


def same(codes: frozenset[int]) -> Rule:
    return {role: codes for role in ROLES}


def staff_admin(allowed: Iterable[str], ok: frozenset[int] = OK) -> Rule:
    """An admin page: staff without the permission get 403; everyone else goes to the admin login."""
    allowed = set(allowed)
    return {
        role: (ok if role in allowed else FORBIDDEN) if role in STAFF else TO_LOGIN for role in ROLES
    }


# ---------------------------------------------------------------------------
# Pages, API: one entry per pattern name
# ---------------------------------------------------------------------------
EXPECTED: dict[str, Entry] = {
    # Sign-in
    "home": {"GET": page(AUTHENTICATED)},
    "favicon": {"GET": same(frozenset({301}))},  # to the static icon, for everyone
    "login": {m: _rule((ANON,), OK, denied=REDIRECT, anon=OK) for m in ("GET", "POST", "PUT")},
    "logout": {"POST": same(REDIRECT)},
    # Run pages
    "runs:list": {"GET": page(SEE_RUNS)},
    "runs:view_save": {"POST": page(SEE_RUNS, ACTED)},
    "runs:view_default": {"POST": page((ANALYST,), ACTED)},  # its owner only
    "runs:view_delete": {"POST": page((ANALYST,), ACTED)},
    "runs:csv": {"GET": page(SEE_RUNS)},
    "runs:detail": {"GET": page(SEE_RUNS)},
    "runs:logs_text": {"GET": page(SEE_RUNS)},
    "runs:validation": {"GET": page(SEE_RUNS)},
    # A format the run's kind does not offer goes back to the run page with a message.
    "runs:export": {"GET": page(SEE_RUNS, frozenset({200, 302}))},
    "runs:launch_choose": {"GET": page(LAUNCH)},
    "runs:launch": {"GET": page(LAUNCH), "POST": page(LAUNCH, ACTED)},
    "runs:clone": {"GET": page(LAUNCH), "POST": page(LAUNCH, ACTED)},
    "runs:annotate": {"POST": page(LAUNCH, ACTED)},
    "runs:cancel": {"POST": page(CANCEL_THIS_RUN, ACTED)},
    "runs:import": {"GET": page(LAUNCH), "POST": page(LAUNCH, ACTED)},
    "runs:import_bulk": {"GET": page(LAUNCH), "POST": page(LAUNCH, ACTED)},
    # The bulk form also carries "compare" and "export", which every run viewer may do.
    "runs:bulk": {"POST": page(SEE_RUNS, ACTED)},
    "runs:bulk_delete": {"GET": page(DELETE_THIS_RUN), "POST": page(DELETE_THIS_RUN, ACTED)},
    "runs:delete": {"GET": page(DELETE_THIS_RUN), "POST": page(DELETE_THIS_RUN, ACTED)},
    "runs:cleanup": {"GET": page(CLEANUP), "POST": page(CLEANUP, ACTED)},
    "runs:compare": {"GET": page(SEE_RUNS)},
    "runs:comparisons": {"GET": page(SEE_RUNS), "POST": page(LAUNCH, ACTED)},
    "runs:comparison": {"GET": page(SEE_RUNS), "POST": page(CHANGE_THIS_COMPARISON, ACTED)},
    "runs:comparison_delete": {"POST": page(CHANGE_THIS_COMPARISON, ACTED)},
    # Simulation pages
    "simulations:compute": {"GET": page(SEE_RUNS), "POST": page(SEE_RUNS, ACTED)},
    "simulations:positions_format": {"GET": page(SEE_RUNS)},
    "simulations:positions_example": {"GET": page(SEE_RUNS)},
    "simulations:run_report": {"GET": page(SEE_RUNS)},
    "simulations:run_file": {"GET": page(SEE_RUNS)},
    # Training datasets: read by run readers, uploaded by those who train.
    "training:datasets": {"GET": page(SEE_RUNS), "POST": page(TRAIN, ACTED)},
    # Datasets: read by run readers; uploaded and described by those who train; deleted by admin only
    # (the crawl's dataset feeds a training run, so its delete is refused and goes back to its page).
    "projects:list": {"GET": page(SEE_RUNS)},
    "projects:create": {"GET": page(PROJECT_EDIT), "POST": page(PROJECT_EDIT, ACTED)},
    "projects:import": {"GET": page(PROJECT_EDIT), "POST": page(PROJECT_EDIT, ACTED)},
    "projects:detail": {"GET": page(SEE_RUNS)},
    "projects:export": {"GET": page(SEE_RUNS)},
    "projects:experiment": {"GET": page(SEE_RUNS), "POST": page(PROJECT_EDIT, ACTED)},
    **{f"projects:{name}": {"POST": page(PROJECT_EDIT, ACTED)}
       for name in ("edit", "lock", "members", "datasets", "experiment_create")},
    "datasets:list": {"GET": page(SEE_RUNS)},
    "datasets:upload": {"GET": page(TRAIN), "POST": page(TRAIN, ACTED)},
    "datasets:detail": {"GET": page(SEE_RUNS)},
    "datasets:export": {"GET": page(SEE_RUNS)},
    "datasets:edit": {"POST": page(TRAIN, ACTED)},
    "datasets:delete": {"POST": page((ADMIN,), ACTED)},
    # Model registry: read by run readers; registering, promoting, archiving and the card by ml_admin and admin.
    # The model page's POST also retrains for analysts (action=retrain); with an empty body they are refused.
    "registry:list": {"GET": page(SEE_RUNS)},
    "registry:register": {"POST": page(REGISTRY, ACTED)},
    "registry:model": {"GET": page(SEE_RUNS), "POST": page(REGISTRY, ACTED)},
    "registry:score": {"GET": page(SEE_RUNS), "POST": page(SEE_RUNS, ACTED)},
    "registry:version": {"GET": page(SEE_RUNS), "POST": page(REGISTRY, ACTED)},
    "api-models": {"GET": api(SEE_RUNS), "POST": api(REGISTRY, ACTED)},
    "api-model-detail": {"GET": api(SEE_RUNS), "PATCH": api(REGISTRY, ACTED), "DELETE": api(REGISTRY, ACTED)},
    "api-model-versions": {"GET": api(SEE_RUNS), "POST": api(REGISTRY, ACTED)},
    "api-model-version": {"GET": api(SEE_RUNS), "DELETE": api(REGISTRY, ACTED)},
    "api-model-alias": {"GET": api(SEE_RUNS), "PUT": api(REGISTRY, ACTED), "DELETE": api(REGISTRY, ACTED)},
    "api-model-predict": {"POST": api(SEE_RUNS, ACTED)},  # scoring writes nothing: registry readers may score
    # API: schema and docs
    "api-schema": {"GET": api(AUTHENTICATED)},
    "api-docs": {"GET": api(AUTHENTICATED, special={ANON: frozenset({401, 403})})},
    "api-root": {"GET": api(AUTHENTICATED)},
    # API: runs (finops roles see no run: a run URL is a 404 to them, lists are empty)
    # finops_admin launches the FinOps batch: past the permission check, its empty body is refused.
    "run-list": {"GET": api(AUTHENTICATED), "POST": api((*LAUNCH, FINOPS_ADMIN), ACTED)},
    "run-csv": {"GET": api(AUTHENTICATED)},
    "run-bulk": {"POST": api(LAUNCH, ACTED)},
    "run-detail": {"GET": api(SEE_RUNS, hidden=NO_RUNS), "PATCH": api(LAUNCH, ACTED, hidden=NO_RUNS)},
    "run-logs": {"GET": api(SEE_RUNS, hidden=NO_RUNS)},
    "run-logs-text": {"GET": api(SEE_RUNS, hidden=NO_RUNS)},
    "run-logs-text-slash": {"GET": api(SEE_RUNS, hidden=NO_RUNS)},
    "run-cancel": {"POST": api(CANCEL_THIS_RUN, ACTED, hidden=NO_RUNS)},
    "run-clone": {"POST": api(LAUNCH, ACTED, hidden=NO_RUNS)},
    "api-run-export": {"GET": api(SEE_RUNS, hidden=NO_RUNS)},
    "api-run-import": {"POST": api(LAUNCH, ACTED)},
    "api-run-import-bulk": {"POST": api(LAUNCH, ACTED)},
    # Saved run list views: whoever sees runs keeps their own; the crawl's view is the analyst's, shared.
    "api-saved-views": {"GET": api(SEE_RUNS), "POST": api(SEE_RUNS, ACTED)},
    "api-saved-view": {
        "GET": api(SEE_RUNS),
        "PATCH": api((ANALYST,), ACTED),
        "DELETE": api((ANALYST,), ACTED),
    },
    "api-run-checksum": {"POST": api(CLEANUP, ACTED, hidden=NO_RUNS)},
    "api-runs-bulk-delete": {"POST": api(DELETE_THIS_RUN, ACTED)},
    "api-cleanup-plan": {"POST": api(CLEANUP, ACTED)},
    "api-cleanup-execute": {"POST": api(CLEANUP, ACTED)},
    "api-kinds": {"GET": api(AUTHENTICATED)},  # the kinds the caller may launch (none for some)
    "api-tags": {"GET": api(AUTHENTICATED)},  # names from the runs the caller sees: none for some
    "api-compare": {"GET": api(SEE_RUNS, frozenset({200, 400}))},  # no runs given: 400 saying so
    "api-comparisons": {"GET": api(SEE_RUNS), "POST": api(LAUNCH, ACTED)},
    "api-comparison": {
        "GET": api(SEE_RUNS),
        "PATCH": api(CHANGE_THIS_COMPARISON, ACTED),
        "DELETE": api(CHANGE_THIS_COMPARISON, ACTED),
    },
    "api-simulations-compute": {"POST": api(SEE_RUNS, ACTED)},
    "api-simulations-run-report": {"GET": api(SEE_RUNS, hidden=NO_RUNS)},
    "api-simulations-run-file": {"GET": api(SEE_RUNS, hidden=NO_RUNS)},
    "api-training-datasets": {"GET": api(SEE_RUNS), "POST": api(TRAIN, ACTED)},
    "api-datasets-list": {"GET": api(SEE_RUNS), "POST": api(TRAIN, ACTED)},
    "api-datasets-detail": {"GET": api(SEE_RUNS), "PATCH": api(TRAIN, ACTED), "DELETE": api((ADMIN,), ACTED)},
    "api-datasets-versions": {"GET": api(SEE_RUNS)},
    "api-datasets-preview": {"GET": api(SEE_RUNS)},
    "api-datasets-export": {"GET": api(SEE_RUNS)},
    "api-datasets-runs": {"GET": api(SEE_RUNS)},
    # Projects: read by run readers; created, imported and edited by analysts, ml_admin and admin (the
    # fixture's project is the analyst's, with ml_admin as member; admin edits every project). An edit
    # while another persona holds the lock is a 409 (API) or a message (page): both among ACTED.
    "api-project-list": {"GET": api(SEE_RUNS), "POST": api(PROJECT_EDIT, ACTED)},
    "api-project-import-bundle": {"POST": api(PROJECT_EDIT, ACTED)},
    "api-project-detail": {"GET": api(SEE_RUNS), "PATCH": api(PROJECT_EDIT, ACTED),
                           "DELETE": api(PROJECT_EDIT, ACTED)},
    **{f"api-project-{name}": {"POST": api(PROJECT_EDIT, ACTED)}
       for name in ("datasets", "datasets-detach", "members", "members-remove", "runs")},
    "api-project-lock": {"GET": api(SEE_RUNS), "POST": api(PROJECT_EDIT, ACTED), "DELETE": api(PROJECT_EDIT, ACTED)},
    "api-project-lock-break": {"POST": api((ADMIN,), ACTED)},
    "api-project-export": {"GET": api(SEE_RUNS)},
    "api-project-timeline": {"GET": api(SEE_RUNS)},
    "api-experiment-list": {"GET": api(SEE_RUNS), "POST": api(PROJECT_EDIT, ACTED)},
    "api-experiment-detail": {"GET": api(SEE_RUNS), "PATCH": api(PROJECT_EDIT, ACTED),
                              "DELETE": api(PROJECT_EDIT, ACTED)},
    # The MLflow-compatible tracking API (MLflow's error shape): reads for whoever sees runs, writes for
    # whoever launches them. Sent bare: a read without its id is refused (400), an empty runs/create
    # creates a run in the Default experiment, a write without its run is refused (400).
    "mlflow:experiments-search": {"GET": api(SEE_RUNS), "POST": api(SEE_RUNS)},
    "mlflow:experiments-get": {"GET": api(SEE_RUNS, frozenset({400}))},
    "mlflow:experiments-get-by-name": {"GET": api(SEE_RUNS, frozenset({400}))},
    "mlflow:experiments-create": {"POST": api(LAUNCH, ACTED)},
    "mlflow:runs-search": {"POST": api(SEE_RUNS, frozenset({400}))},
    "mlflow:runs-get": {"GET": api(SEE_RUNS, frozenset({400}))},
    "mlflow:metrics-get-history": {"GET": api(SEE_RUNS, frozenset({400}))},
    **{f"mlflow:runs-{name}": {"POST": api(LAUNCH, ACTED)}
       for name in ("create", "update", "log-batch", "log-metric", "log-parameter", "set-tag", "delete-tag")},
    # FinOps › Admin › Batch Runs (pages and API): finops_admin and admin only; finops_user never.
    # Empty POSTs: a launch takes every default (a batch of the current and previous months), a reprocess
    # page re-runs the crawl's run (302 to the new run), the reprocess API refuses the missing run_id (400).
    "finops_admin:batch_list": {"GET": page(FINOPS_SECTION)},
    "finops_admin:batch_csv": {"GET": page(FINOPS_SECTION)},
    "finops_admin:batch_detail": {"GET": page(FINOPS_SECTION)},
    "finops_admin:batch_logs": {"GET": page(FINOPS_SECTION)},
    "finops_admin:batch_launch": {"GET": page(FINOPS_SECTION), "POST": page(FINOPS_SECTION, ACTED)},
    "finops_admin:batch_reprocess": {"GET": page(FINOPS_SECTION), "POST": page(FINOPS_SECTION, ACTED)},
    "api-finops-runs": {"GET": api(FINOPS_SECTION), "POST": api(FINOPS_SECTION, ACTED)},
    "api-finops-run": {"GET": api(FINOPS_SECTION)},
    "api-finops-run-logs": {"GET": api(FINOPS_SECTION)},
    "api-finops-reprocess": {"POST": api(FINOPS_SECTION, ACTED)},
    # FinOps cost views (pages and API): finops_user, finops_admin and admin read them.
    **{f"finops_costs:{name}": {"GET": page(FINOPS_COSTS)}
       for name in ("dashboard", "domain", "family", "application", "rankings", "history")},
    **{f"api-finops-costs-{name}": {"GET": api(FINOPS_COSTS)} for name in ("totals", "breakdown", "rankings", "history")},
    # Console (pages and API): users, roles and the audit trail for GOVERN; everyone manages their own
    # API keys. The user in URLs is the viewer persona; the key is the analyst's (hidden, 404, to those
    # who may not manage it). An empty deactivate/restore lacks its confirmation (400); an empty edit
    # saves the viewer with no role (governance holds the viewer's permissions, so it may).
    "console:users": {"GET": page(GOVERN)},
    "console:user_create": {"GET": page(GOVERN), "POST": page(GOVERN, ACTED)},
    "console:user_detail": {"GET": page(GOVERN), "POST": page(GOVERN, ACTED)},
    "console:user_deactivate": {"POST": page(GOVERN, ACTED)},
    "console:user_restore": {"POST": page(GOVERN, ACTED)},
    "console:roles": {"GET": page(GOVERN)},
    "console:api_keys": {"GET": page(AUTHENTICATED), "POST": page(AUTHENTICATED, ACTED)},
    "console:api_key_revoke": {"POST": page((ADMIN, GOV, ANALYST), ACTED,
                                            hidden=(ML, VIEWER, FINOPS_ADMIN, FINOPS_USER))},
    "console:audit": {"GET": page(GOVERN)},
    "console:audit_csv": {"GET": page(GOVERN)},
    # Everyone's own sessions and settings; an empty settings POST is invalid (400), an empty sessions
    # POST ends the caller's other sessions.
    "console:sessions": {"GET": page(AUTHENTICATED), "POST": page(AUTHENTICATED, ACTED)},
    "console:settings": {"GET": page(AUTHENTICATED), "POST": page(AUTHENTICATED, ACTED)},
    "console:user_sessions_end": {"POST": page(GOVERN, ACTED)},
    "api-roles": {"GET": api(GOVERN)},
    "api-user-list": {"GET": api(GOVERN), "POST": api(GOVERN, ACTED)},
    "api-user-detail": {"GET": api(GOVERN), "PATCH": api(GOVERN, ACTED), "DELETE": api(GOVERN, ACTED)},
    "api-user-deactivate": {"POST": api(GOVERN, ACTED)},
    "api-user-restore": {"POST": api(GOVERN, ACTED)},
    "api-key-list": {"GET": api(AUTHENTICATED), "POST": api(AUTHENTICATED, ACTED)},
    "api-key-detail": {"GET": api((ADMIN, GOV, ANALYST), hidden=(ML, VIEWER, FINOPS_ADMIN, FINOPS_USER))},
    "api-key-revoke": {"POST": api((ADMIN, GOV, ANALYST), ACTED, hidden=(ML, VIEWER, FINOPS_ADMIN, FINOPS_USER))},
    "api-audit-list": {"GET": api(GOVERN)},
    "api-audit-detail": {"GET": api(GOVERN)},
    # Console operations: health, logs, caches (governance reads; admin and ml_admin also clear).
    "healthz": {"GET": same(OK)},  # for load balancers: up or down, no sign-in
    "console_ops:health": {"GET": page(CONSOLE_VIEW)},
    "console_ops:logs": {"GET": page(CONSOLE_VIEW, frozenset({200, 400}))},  # 400: no log file yet
    "console_ops:logs_download": {"GET": page(CONSOLE_VIEW, frozenset({200, 400}))},
    "console_ops:caches": {"GET": page(CONSOLE_VIEW)},
    "console_ops:caches_action": {"POST": page(CONSOLE_MANAGE, ACTED)},
    "console_ops:api_health": {"GET": api(CONSOLE_VIEW)},
    "console_ops:api_logs": {"GET": api(CONSOLE_VIEW, frozenset({200, 400}))},
    "console_ops:api_caches": {"GET": api(CONSOLE_VIEW)},
    "console_ops:api_caches_clear_all": {"POST": api(CONSOLE_MANAGE, ACTED)},
    "console_ops:api_caches_clear_expired": {"POST": api(CONSOLE_MANAGE, ACTED)},
    "console_ops:api_cache_clear": {"POST": api(CONSOLE_MANAGE, ACTED)},
    "console_ops:api_cache_evict": {"POST": api(CONSOLE_MANAGE, ACTED)},
    # Admin site: staff only; a signed-in non-staff user is sent to the admin login too.
    "admin:index": {"GET": staff_admin(STAFF)},
    "admin:login": {"GET": {r: REDIRECT if r in STAFF else OK for r in ROLES}},
    "admin:logout": {"POST": staff_admin(STAFF, frozenset({200, 302}))},
    "admin:password_change": {"GET": staff_admin(STAFF), "POST": staff_admin(STAFF)},
    "admin:password_change_done": {"GET": staff_admin(STAFF)},
    "admin:jsi18n": {"GET": staff_admin(STAFF)},
    # Without its query parameters the autocomplete names no model: refused.
    "admin:autocomplete": {"GET": staff_admin(STAFF, FORBIDDEN)},
    # A run has no page of its own outside /runs/<run_id>/ known to the admin: 404 for staff.
    "admin:view_on_site": {"GET": staff_admin(STAFF, frozenset({302, 404}))},
    "admin:app_list": {"GET": staff_admin(STAFF)},  # crawled with app_label=runs
    r"admin/(?P<url>.*)$": {"GET": staff_admin(STAFF, NOT_FOUND)},
}

# ---------------------------------------------------------------------------
# Admin: who may view, add, change, delete each registered model (staff only)
# ---------------------------------------------------------------------------
NOBODY: tuple[str, ...] = ()
# "list": who may open the changelist when it differs from view ∪ change (e.g. own rows only);
# "not_theirs": roles to whom the fixture's object is not shown (its pages redirect).
ADMIN_MODELS: dict[str, dict[str, tuple[str, ...]]] = {
    "auth.group": {"view": GOVERN, "add": (ADMIN,), "change": (ADMIN,), "delete": (ADMIN,)},
    "accounts.user": {"view": GOVERN, "add": GOVERN, "change": GOVERN, "delete": (ADMIN,)},
    # Everyone has own keys (created with the secret shown once, listed to their owner); admin and
    # governance see and revoke every key; nobody deletes one (revoked keys stay, for the audit trail).
    # The key of the fixtures belongs to the analyst: to ml_admin it does not exist (the admin redirects).
    "accounts.apikey": {
        "view": GOVERN, "add": STAFF, "change": GOVERN, "delete": NOBODY, "list": STAFF, "not_theirs": (ML,),
    },
    "accounts.auditevent": {"view": GOVERN, "add": NOBODY, "change": NOBODY, "delete": NOBODY},
    # Runs are launched elsewhere; the admin annotates (as the API does) and deletes.
    "runs.run": {"view": STAFF, "add": NOBODY, "change": (ADMIN, ML), "delete": (ADMIN, ML)},
    # Tags change through the runs they label (audited), never in the admin.
    "runs.tag": {"view": STAFF, "add": NOBODY, "change": NOBODY, "delete": NOBODY},
    # Datasets: added by uploading (the service), changed in their description only, deleted by admin.
    "simulations.dataset": {"view": STAFF, "add": (ADMIN, ML), "change": (ADMIN, ML), "delete": (ADMIN,)},
    # Projects and experiments: saved and deleted through the services (roles, lock, audit); the
    # fixture's project has ml_admin as a member; governance reads.
    "projects.project": {"view": STAFF, "add": (ADMIN, ML), "change": (ADMIN, ML), "delete": (ADMIN, ML)},
    "projects.experiment": {"view": STAFF, "add": (ADMIN, ML), "change": (ADMIN, ML), "delete": (ADMIN, ML)},
    # Written only by services.
    "simulations.parameterset": {"view": STAFF, "add": NOBODY, "change": NOBODY, "delete": NOBODY},
    "simulations.cachedresult": {"view": STAFF, "add": NOBODY, "change": NOBODY, "delete": NOBODY},
    # The model registry: read-only rows (archive is an action, through the services).
    **{
        f"simulations.{m}": {"view": STAFF, "add": NOBODY, "change": NOBODY, "delete": NOBODY}
        for m in ("registeredmodel", "modelversion", "modelalias")
    },
    # FinOps: the catalogue and rules are edited by whoever holds their permissions (admin; finops_admin
    # with staff status, which the personas lack); readings and batch runs are written by batches only.
    **{
        f"finops_admin.{m}": {"view": (ADMIN,), "add": (ADMIN,), "change": (ADMIN,), "delete": (ADMIN,)}
        for m in ("domain", "family", "application", "allocationrule", "currency")
    },
    "finops_admin.costreading": {"view": (ADMIN,), "add": NOBODY, "change": NOBODY, "delete": NOBODY},
    "finops_admin.batchrun": {"view": (ADMIN,), "add": NOBODY, "change": NOBODY, "delete": NOBODY},
    # Login lock-out records (django-axes): the admin reads them and lifts lock-outs by deleting.
    **{
        f"axes.{m}": {"view": (ADMIN,), "add": NOBODY, "change": (ADMIN,), "delete": (ADMIN,)}
        for m in ("accessattempt", "accesslog", "accessfailurelog")
    },
    **{
        f"django_celery_beat.{m}": {"view": (ADMIN,), "add": (ADMIN,), "change": (ADMIN,), "delete": (ADMIN,)}
        for m in ("periodictask", "clockedschedule", "crontabschedule", "solarschedule", "intervalschedule")
    },
}


def _admin_entries() -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for label, who in ADMIN_MODELS.items():
        app, model = label.split(".")
        viewers = tuple({*who["view"], *who["change"]})
        not_theirs = {role: REDIRECT for role in who.get("not_theirs", ())}

        def obj(allowed: Iterable[str], ok: frozenset[int] = OK) -> Rule:
            allowed = tuple(allowed)  # refused to every role: refused before the object is looked up
            return {**staff_admin(allowed, ok), **(not_theirs if allowed else {})}

        name = f"admin:{app}_{model}"
        out[f"{name}_changelist"] = {"GET": staff_admin(who.get("list", viewers))}
        out[f"{name}_history"] = {"GET": obj(viewers)}
        out[f"{name}_add"] = {"GET": staff_admin(who["add"]), "POST": staff_admin(who["add"], ACTED)}
        out[f"{name}_change"] = {"GET": obj(viewers), "POST": obj(who["change"], ACTED)}
        out[f"{name}_delete"] = {"GET": obj(who["delete"]), "POST": obj(who["delete"], ACTED)}
        # The bare object URL redirects to its change page, for any method.
        out[f"admin/{app}/{model}/<path:object_id>/"] = {
            m: same(REDIRECT) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
        }
    # The user's password form belongs to whoever may change users.
    users = ADMIN_MODELS["accounts.user"]["change"]
    out["admin:auth_user_password_change"] = {"GET": staff_admin(users), "POST": staff_admin(users, ACTED)}
    return out


EXPECTED.update(_admin_entries())

# Where the answer depends on a parameter's value: "<key> <name>=<value>" -> entry (wins over EXPECTED).
# Each kind is launched by the roles holding its launch permission (accounts/roles.py).
FINOPS_LAUNCH = (ADMIN, FINOPS_ADMIN)
EXPECTED_VARIANTS: dict[str, Entry] = {
    "runs:launch kind=finops_batch": {"GET": page(FINOPS_LAUNCH), "POST": page(FINOPS_LAUNCH, ACTED)},
    # Tracked runs are created by their MLflow client (/api/2.0/mlflow/), never from a launch form.
    "runs:launch kind=tracked": {"GET": page(()), "POST": page(())},
}


def expected(key: str, label: str) -> Entry:
    return EXPECTED_VARIANTS.get(label) or EXPECTED[key]


# Patterns fetched with an HTML Accept header in the role matrix (they have no JSON rendering).
HTML_ONLY = {"api-docs"}
