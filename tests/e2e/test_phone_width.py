"""The whole product on a phone (390 x 844) and on a desktop (1280 x 800).

Each main page is opened in Chromium, as who would open it, at both widths: the page must never
scroll sideways; on a phone the navigation folds behind "Menu" (a checkbox and its label, no
script), which opened shows Account and Sign out inside the screen, and the page's buttons,
fields and navigation links are at least 44 px high; on a desktop the links are shown as before,
with no Menu.

A screenshot of every page at both widths is saved, passing or failing, under
$OPSX_SCREENSHOTS if set, else under pytest's base temporary directory:
<basetemp>/screenshots/<test name>/<page>-<width>.png (pytest keeps the last three runs' base
directories, e.g. /tmp/pytest-of-<user>/pytest-current/screenshots/).
"""

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from devices.models import Device
from tests.devices.rows import make_device
from tests.factories import (
    PASSWORD,
    AdminFactory,
    ClientFactory,
    InvitationFactory,
    ProspectFactory,
    UserFactory,
)

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}
MIN_TAP = 44
# The elements that stick out of the screen, outermost first: the message of a failure.
OVERFLOWING = """
() => [...document.body.querySelectorAll("*")]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter(el => !el.parentElement.closest("*") ||
    el.parentElement.getBoundingClientRect().right <= window.innerWidth + 0.5)
  .slice(0, 5).map(el => el.outerHTML.slice(0, 160))
"""

LONG_NAME = "Venkataramanarayanan Subramaniam-Chidambaram"
LONG_DOMAIN = "a-rather-long-company-domain-name.example"

# The visible controls of the page whose height is checked on a phone: the open navigation,
# and the buttons, fields and button-like links of the content.
TAP_TARGETS = """
(min) => [...document.querySelectorAll(
  ".topbar .brand, .nav-toggle-label, .topbar nav a, .topbar nav button, main button, " +
  "main .button, main select, main textarea, " +
  "main input:not([type=hidden]):not([type=checkbox]):not([type=radio])"
)].filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden")
  .map(el => ({ what: el.outerHTML.slice(0, 120), height: el.getBoundingClientRect().height }))
  .filter(target => target.height < min)
"""


@pytest.fixture
def screenshots(request, tmp_path_factory) -> Path:
    base = os.environ.get("OPSX_SCREENSHOTS")
    root = Path(base) if base else tmp_path_factory.getbasetemp() / "screenshots"
    folder = root / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def acme(transactional_db):
    """Acme with an admin, a member whose name and email are long, ~30 prospects with long
    names, emails and several phones, a pending invitation and a few devices."""
    acme = ClientFactory(name="Acme Field Services and Distribution Private Limited")
    alice = AdminFactory(client=acme, email="alice@acme.example", full_name="Alice Admin")
    bob = UserFactory(client=acme, email="bob@acme.example", full_name="Bob Member")
    colleague = UserFactory(
        client=acme,
        email=f"venkataramanarayanan.subramaniam@{LONG_DOMAIN}",
        full_name=LONG_NAME,
    )
    prospects = [
        ProspectFactory(
            client=acme,
            name=f"{LONG_NAME} {i}",
            organisation=f"Sunrise Traders and Wholesale Distributors of Western India {i}",
            email=f"purchasing.department.head.{i}@{LONG_DOMAIN}",
            tags=["wholesale", "priority-customer"] if i % 3 == 0 else [],
            owner=colleague if i % 2 else bob,
            phones=[f"+9198765{i:05d}", f"+4420794{i:05d}"],
        )
        for i in range(30)
    ]
    InvitationFactory(client=acme, invited_by=alice, email=f"new.field.officer@{LONG_DOMAIN}")
    for n, user in enumerate((alice, bob, colleague), start=1):
        make_device(user, n, device_model="Samsung Galaxy A54 5G Enterprise Edition")
    make_device(bob, 9, status=Device.Status.REVOKED)
    return {"alice": alice, "bob": bob, "prospect": prospects[7]}


def sign_in(page, user) -> None:
    page.goto(reverse("account_login"))
    page.locator('input[name="login"]').fill(user.email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('input[name="password"]').press("Enter")
    expect(page).to_have_url(re.compile(re.escape(reverse("dashboard")) + "$"))


def find(nav, link):
    role, options = link
    return nav.get_by_role(role, **options)


def check_page(page, screenshots: Path, name: str, path: str, width: str, menu_links=()) -> None:
    """Open `path` at `width`, save its screenshot, and check it fits; on a phone, that the
    menu opens on `menu_links` inside the screen and that every control is tall enough."""
    page.set_viewport_size(WIDTHS[width])
    response = page.goto(path)
    assert response.status == 200, f"{name}: {path} answered {response.status}"
    page.screenshot(path=screenshots / f"{name}-{width}.png", full_page=True)
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, (
        f"{name} at {width} width scrolls sideways: {scroll_width} px wide in {inner_width}; "
        f"sticking out: {page.evaluate(OVERFLOWING)}"
    )
    nav = page.locator(".topbar nav")
    menu = page.locator(".nav-toggle-label")
    if width == "desktop":
        expect(menu).to_be_hidden()
        for link in menu_links:
            expect(find(nav, link)).to_be_visible()
        return
    expect(menu).to_be_visible()
    for link in menu_links:
        expect(find(nav, link)).to_be_hidden()
    menu.click()
    page.screenshot(path=screenshots / f"{name}-{width}-menu.png")
    for link in menu_links:
        target = find(nav, link)
        expect(target).to_be_visible()
        box = target.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (name, link, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (name, link, box)
    too_small = page.evaluate(TAP_TARGETS, MIN_TAP)
    assert not too_small, f"{name}: tap targets under {MIN_TAP} px high: {too_small}"
    menu.click()
    expect(nav).to_be_hidden()


ACCOUNT = ("link", {"name": "Account", "exact": True})
SIGN_OUT = ("button", {"name": "Sign out"})
SIGN_IN = ("link", {"name": "Sign in", "exact": True})


@pytest.mark.parametrize("width", WIDTHS)
def test_the_public_pages_fit_the_screen(page, browser_errors, screenshots, acme, width):
    for name, url in [
        ("home", reverse("home")),
        ("privacy-policy", reverse("privacy")),
        ("sign-in", reverse("account_login")),
    ]:
        check_page(page, screenshots, name, url, width, menu_links=[SIGN_IN])
    assert not browser_errors, browser_errors


@pytest.mark.parametrize("width", WIDTHS)
def test_a_members_pages_fit_the_screen(page, browser_errors, screenshots, acme, width):
    sign_in(page, acme["bob"])
    prospect = acme["prospect"]
    for name, url in [
        ("dashboard", reverse("dashboard")),
        ("prospects", reverse("prospects:list")),
        ("prospect", reverse("prospects:detail", args=[prospect.public_id])),
        ("account", reverse("account_settings")),
        ("email-preferences", reverse("privacy:email_preferences")),
    ]:
        check_page(page, screenshots, name, url, width, menu_links=[ACCOUNT, SIGN_OUT])
    assert not browser_errors, browser_errors


@pytest.mark.parametrize("width", WIDTHS)
def test_a_client_admins_pages_fit_the_screen(page, browser_errors, screenshots, acme, width):
    sign_in(page, acme["alice"])
    for name, url in [
        ("admin-users", reverse("admin_tasks:users")),
        ("admin-devices", reverse("devices:list")),
        ("admin-privacy-requests", reverse("privacy:client_requests")),
    ]:
        check_page(page, screenshots, name, url, width, menu_links=[ACCOUNT, SIGN_OUT])
    assert not browser_errors, browser_errors


def test_on_a_phone_the_prospects_are_cards_and_the_users_table_scrolls_in_its_box(
    page, screenshots, acme
):
    sign_in(page, acme["alice"])
    page.set_viewport_size(PHONE)
    page.goto(reverse("prospects:list"))
    rows = page.locator("table.prospects tbody tr")
    expect(rows).to_have_count(25)  # one page
    first = rows.first
    box = first.bounding_box()
    assert box["width"] <= PHONE["width"], box
    # a card shows the whole email, broken across lines, inside the card
    email = first.locator("td").nth(-5)
    expect(email).to_contain_text(f"@{LONG_DOMAIN}")
    email_box = email.bounding_box()
    assert email_box["x"] + email_box["width"] <= box["x"] + box["width"]
    expect(page.locator("table.prospects thead")).to_be_hidden()  # each card says it
    page.screenshot(path=screenshots / "prospects-admin-phone.png")

    page.goto(reverse("admin_tasks:users"))
    region = page.get_by_role("region", name="Users", exact=True)
    expect(region).to_be_visible()
    wide, inside = region.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert wide > inside, "the users table fits: this test no longer proves the box scrolls"
    assert region.get_attribute("tabindex") == "0"  # keyboard users can scroll it
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=screenshots / "admin-users-phone-scrolled.png", full_page=True)


def test_signing_out_from_the_phone_menu_signs_out(page, acme):
    sign_in(page, acme["bob"])
    page.set_viewport_size(PHONE)
    page.goto(reverse("prospects:list"))
    page.locator(".nav-toggle-label").click()
    page.locator(".topbar nav").get_by_role("button", name="Sign out").click()
    page.goto(reverse("dashboard"))
    expect(page).to_have_url(re.compile(re.escape(reverse("account_login"))))


def test_the_menu_opens_from_the_keyboard(page, acme):
    page.set_viewport_size(PHONE)
    page.goto(reverse("home"))
    page.keyboard.press("Tab")  # "Skip to the main content"
    page.keyboard.press("Tab")  # the brand
    page.keyboard.press("Tab")  # the menu's checkbox, its label outlined
    assert page.evaluate("document.activeElement.id") == "nav-toggle"
    page.keyboard.press("Space")
    expect(
        page.locator(".topbar nav").get_by_role("link", name="Sign in", exact=True)
    ).to_be_visible()
