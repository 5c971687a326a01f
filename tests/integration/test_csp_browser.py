"""In a real browser, the pages break no rule of the Content-Security-Policy.

The policy allows scripts from our own static files only; a page that still
held an inline script, an inline event handler or a script from elsewhere would
log a violation here (and its script would not run for users).
"""
import os
import shutil

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.services]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
# Injected by the browser itself (not subject to the page's policy): records every violation.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture
def browser_context(live_server):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(30_000)
        context.add_init_script(RECORD_VIOLATIONS)
        yield context
        context.close()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_pages_of_each_surface_have_no_csp_violation(browser_context, make_user):
    from runs.services import run_create, run_execute

    boss = make_user("admin", username="cspboss", is_staff=True)
    demo = run_create(kind="demo", params={"steps": 2, "step_seconds": 0, "seed": 1}, owner=boss, enqueue=False)
    run_execute(run_pk=demo.pk)
    sim = run_create(kind="simulation", params={"n_positions": 200, "seed": 5}, owner=boss, enqueue=False)
    run_execute(run_pk=sim.pk)

    page = browser_context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto("/login/")
    page.fill("#id_username", boss.username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/")

    urls = [
        "/", "/runs/", f"/runs/{demo.run_id}/", f"/runs/{sim.run_id}/", "/simulations/compute/",
        "/runs/cleanup/?days=30", f"/runs/compare/?runs={demo.run_id}&runs={sim.run_id}",
        "/api/docs/", "/api/runs/", "/admin/", "/admin/runs/run/", f"/admin/runs/run/{sim.pk}/change/",
    ]
    found: dict[str, list[str]] = {}
    for url in urls:
        response = page.goto(url)
        assert response is not None and response.status < 500, (url, response and response.status)
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("window.__cspViolations || []")
        if violations:
            found[url] = violations
    # The scripts still run under the policy: the API docs render their operations,
    # the run list's select-all ticks the rows.
    page.goto("/api/docs/")
    page.wait_for_selector(".opblock", timeout=30_000)
    page.goto("/runs/")
    if page.locator("[data-select-all]").count():
        page.locator("[data-select-all]").first.check()
        assert page.locator("input[name=runs][form=bulk-form]:checked").count() >= 1
    assert found == {} and console == [], (found, console)
