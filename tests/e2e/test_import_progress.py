"""A person imports a CSV of a few thousand prospects and watches the progress bar fill.

Signed in through the real login form, Bob uploads the file, maps its columns and starts the
import; a real Celery worker runs it 100 rows per batch while the page's script polls the
progress URL. The bar must be seen part-way, then full with "Done", the counts and the error
report link, and the prospects must be in the database: a row without a name refused, a bad
email or phone left empty with a warning.
"""

import csv
import io
import os
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from prospects.models import ImportJob, ImportRowError, Prospect
from tests.factories import PASSWORD, ClientFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

ROWS = 3000
# Data row -> what is wrong with it; its row number in the file is one more (the header is 1).
# A row without a name is refused; a bad email or phone is left empty, the row imported.
REFUSED_ROWS = {500: "name", 2999: "name"}
WARNED_ROWS = {7: "email", 1234: "email", 1800: "phones"}
BAD_ROWS = REFUSED_ROWS | WARNED_ROWS
MAPPING = ["name", "organisation", "email", "phones", "city"]

# Records every value the bar takes: the one the server rendered first, then each one the
# page's own script sets (a <progress> reflects .value to its attribute).
WATCH_THE_BAR = """
window.__barValues = [];
document.addEventListener("DOMContentLoaded", () => {
  const bar = document.getElementById("import-bar");
  if (!bar) return;
  window.__barValues.push(bar.value);
  new MutationObserver(() => window.__barValues.push(bar.value))
    .observe(bar, { attributes: true, attributeFilter: ["value"] });
});
"""


def make_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Name", "Company", "Email", "Phone", "City"])
    for i in range(1, ROWS + 1):
        row = [f"Prospect {i}", f"Company {i % 40}", f"p{i}@example.com", f"+91 98765 {i:05d}"]
        row.append(["Pune", "Mumbai", "Bengaluru"][i % 3])
        bad = BAD_ROWS.get(i)
        if bad == "email":
            row[2] = f"p{i}-at-example.com"
        elif bad == "name":
            row[0] = ""
        elif bad == "phones":
            row[3] = "12"
        writer.writerow(row)
    return out.getvalue().encode()


def test_the_progress_bar_fills_while_a_real_worker_imports(
    page, browser_errors, import_worker, live_server
):
    acme = ClientFactory(name="Acme")
    bob = UserFactory(client=acme, email="bob@acme.example", full_name="Bob Member")
    progress_requests = []
    page.on("request", lambda r: progress_requests.append(r.url) if "/progress/" in r.url else None)

    # Sign in through the real form.
    page.goto(reverse("account_login"))
    page.locator('input[name="login"]').fill(bob.email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('input[name="password"]').press("Enter")
    expect(page).to_have_url(re.compile(re.escape(reverse("dashboard")) + "$"))

    # Upload the file.
    page.goto(reverse("prospects:import_new"))
    page.locator('input[name="file"]').set_input_files(
        files=[{"name": "prospects.csv", "mimeType": "text/csv", "buffer": make_csv()}]
    )
    page.get_by_role("button", name="Upload and continue").click()
    expect(page).to_have_url(re.compile(r"/imports/[0-9a-f-]+/columns/$"))
    expect(page.locator("h1")).to_have_text("Which column goes where?")

    # Map the columns (whatever was guessed from the headers) and start.
    for index, target in enumerate(MAPPING):
        page.locator(f'select[name="col_{index}"]').select_option(target)
    expect(page.get_by_label("Update the existing prospect")).to_be_checked()
    page.add_init_script(WATCH_THE_BAR)
    with page.expect_response(lambda r: r.url.endswith("/js/import-progress.js")) as script:
        page.get_by_role("button", name=f"Continue with {ROWS} row(s)").click()
    assert script.value.status == 200, "the progress script did not load"
    expect(page).to_have_url(re.compile(r"/imports/[0-9a-f-]+/$"))

    # Watch the bar until the job has finished.
    expect(page.locator("#import-status")).to_have_text("Done", timeout=120_000)
    expect(page.locator("#import-bar")).to_have_attribute("value", "100")
    values = page.evaluate("window.__barValues")
    rendered, by_script = values[0], values[1:]
    assert by_script, f"the page's script never moved the bar (it stayed at {rendered})"
    assert any(0 < v < 100 for v in by_script), f"no intermediate value was seen: {values}"
    assert by_script[-1] == 100
    assert by_script == sorted(by_script), f"the bar went backwards: {values}"
    assert len(progress_requests) >= 2

    expect(page.locator("#import-processed")).to_have_text(str(ROWS))
    expect(page.locator("#import-percent")).to_have_text("100")
    expect(page.locator("#import-created")).to_have_text(str(ROWS - len(REFUSED_ROWS)))
    expect(page.locator("#import-updated")).to_have_text("0")
    expect(page.locator("#import-merged")).to_have_text("0")
    expect(page.locator("#import-errors")).to_have_text(str(len(REFUSED_ROWS)))
    expect(page.locator("#import-warned")).to_have_text(str(len(WARNED_ROWS)))
    expect(page.locator("#import-failure")).to_have_text("")
    report_link = page.get_by_role("link", name="Download the report of refused rows and warnings")
    expect(report_link).to_be_visible()
    if os.environ.get("E2E_SCREENSHOT"):
        page.screenshot(path=os.environ["E2E_SCREENSHOT"], full_page=True)

    # The report lists the bad rows by their row number in the file, refused or warned.
    with page.expect_download() as download:
        report_link.click()
    report = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert report[0] == ["row", "level", "column", "value", "reason"]
    assert [int(row[0]) for row in report[1:]] == [i + 1 for i in sorted(BAD_ROWS)]
    assert [row[1] == "refused" for row in report[1:]] == [
        i in REFUSED_ROWS for i in sorted(BAD_ROWS)
    ]
    assert not browser_errors, browser_errors

    # And the prospects are in the database.
    job = ImportJob.objects.get(client=acme)
    assert job.status == ImportJob.Status.DONE and job.runs == 1
    assert (job.processed_rows, job.created_count, job.error_count, job.warned_count) == (
        ROWS,
        ROWS - len(REFUSED_ROWS),
        len(REFUSED_ROWS),
        len(WARNED_ROWS),
    )
    prospects = Prospect.objects.filter(client=acme)
    assert prospects.count() == ROWS - len(REFUSED_ROWS)
    bad_emails = [f"p{i}@example.com" for i, what in BAD_ROWS.items() if what != "phones"]
    assert not prospects.filter(email__in=bad_emails).exists()
    assert prospects.get(name="Prospect 7").email == ""
    assert not prospects.get(name="Prospect 1800").phones.exists()
    first = prospects.get(email="p1@example.com")
    assert (first.name, first.organisation, first.city) == ("Prospect 1", "Company 1", "Mumbai")
    assert list(first.phones.values_list("number", flat=True)) == ["+919876500001"]
    assert sorted(ImportRowError.objects.filter(job=job).values_list("row_number", flat=True)) == [
        i + 1 for i in sorted(BAD_ROWS)
    ]
