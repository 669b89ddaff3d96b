"""The browser tests' accessibility checker: axe-core, run in the page through page.evaluate.

axe.min.js comes from the axe-playwright-python package (a file inside it, nothing fetched);
it is evaluated through Playwright's DevTools channel, which the page's CSP does not govern,
so no <script> is injected into our pages. Violations of impact "serious" or "critical" fail
a test; "moderate" and "minor" ones are left to review.
"""

from axe_playwright_python.base import AXE_SCRIPT

FAILING_IMPACTS = ("serious", "critical")
RUN_AXE = """
async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations;
}
"""


def violations(page) -> list[dict]:
    """The page's violations of serious or critical impact, as axe reports them."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    found = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in FAILING_IMPACTS]


def describe(found: list[dict]) -> str:
    """One line a violation and one per element: the rule, its targets and its help page."""
    lines = []
    for violation in found:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['failureSummary']!r}")
    return "\n".join(lines)
