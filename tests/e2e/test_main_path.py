"""The main path in a real browser (DESIGN.md, main flow 1–3): a purchaser at Leipzig finds an
assistant, sees what Leipzig pays after the subsidy and orders it; an approver approves it; a
real Celery worker provisions it while the order page shows the line becoming active without
a reload; the purchaser fills in the generated configuration form and the assistant is set up.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from tests.fixtures import PASSWORD, TOWNS

TITLE = "Hundesteuer Anmeldung"
SLUG = "e2e-hundesteuer-anmeldung"
TIMEOUT_MS = 60_000


def _catalog_and_funding() -> dict:
    """An available central assistant with a real demo template, and funding for this year."""
    from shop.demo_catalog import _base_schema, _specific_fields
    from tenants.models import Municipality
    from tests.factories.billing import programme_covering_this_year
    from tests.factories.shop import AssistantFactory, PriceFactory

    schema = _base_schema(TITLE, fee=True)
    schema["properties"].update(_specific_fields(TITLE))
    assistant = AssistantFactory(
        slug=SLUG,
        title=TITLE,
        short_description="Hunde online zur Hundesteuer anmelden.",
        category="central",
        version="3.0",
        config_schema=schema,
    )
    PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1200.00"))
    PriceFactory(assistant=assistant, fee_kind_id="maintenance", net_amount=Decimal("480.00"))
    programme_covering_this_year(code="e2e-foerderung")
    leipzig = Municipality.objects.get(ags=TOWNS["leipzig"].ags)
    return {"host": leipzig.primary_domain, "schema": leipzig.schema_name}


def _instances(schema: str) -> list[tuple]:
    from workspace.models import AssistantInstance

    with schema_context(schema):
        return list(AssistantInstance.objects.values_list("title", "status", "configuration"))


def _login(page, url: str, email: str) -> None:
    page.goto(url)
    page.fill('input[name="username"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    page.wait_for_load_state()
    assert "/konto/anmelden/" not in page.url, f"Anmeldung als {email} fehlgeschlagen"


@pytest.fixture
def leipzig(committed) -> dict:
    return committed(_catalog_and_funding)


# ``db`` comes last on purpose: the rows above are committed before its transaction begins, and
# requesting it makes pytest-django create the test database even when this test runs alone.
# The test itself only reads (at the end), so the transaction holds no locks.
@pytest.mark.e2e
def test_order_approve_provision_and_configure_in_the_browser(chromium, leipzig, stack, tmp_path, db):
    from playwright.sync_api import expect, sync_playwright

    host, schema = leipzig["host"], leipzig["schema"]
    purchaser, approver = "purchaser@leipzig.example", "approver@leipzig.example"
    screenshot = tmp_path / "main_path.png"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium)
        try:
            buyer = browser.new_context(locale="de-DE")
            buyer.set_default_timeout(TIMEOUT_MS)
            page = buyer.new_page()

            # 1. the purchaser finds the assistant and sees what Leipzig pays after the subsidy
            _login(page, stack.url(host, "/konto/anmelden/?next=/katalog/"), purchaser)
            page.get_by_role("searchbox", name="Suche").fill("Hundesteuer")
            page.get_by_role("searchbox", name="Suche").press("Enter")
            page.wait_for_load_state()
            expect(page.get_by_role("link", name=TITLE)).to_be_visible()
            expect(page.locator("main")).to_contain_text("Sie zahlen 0,00 €")
            page.get_by_role("link", name=TITLE).click()
            expect(page.locator("h1")).to_have_text(TITLE)
            expect(page.locator("main")).to_contain_text("Sie zahlen 0,00 €")

            # 2. into the cart and ordered
            page.get_by_role("button", name="In den Warenkorb").click()
            page.wait_for_load_state()
            page.goto(stack.url(host, "/warenkorb/"))
            expect(page.locator("main")).to_contain_text(TITLE)
            page.get_by_role("button", name=re.compile(r"Bestellung (einreichen|absenden)")).click()
            page.wait_for_url(re.compile(r"/bestellungen/\d+/$"))
            order_path = re.search(r"/bestellungen/\d+/", page.url).group(0)

            # 3. an approver of Leipzig (another browser, another session) approves
            signer = browser.new_context(locale="de-DE")
            signer.set_default_timeout(TIMEOUT_MS)
            approval = signer.new_page()
            _login(approval, stack.url(host, f"/konto/anmelden/?next={order_path}"), approver)
            approval.goto(stack.url(host, order_path))
            approval.get_by_role("button", name=re.compile("freigeben", re.IGNORECASE)).first.click()
            approval.wait_for_load_state()
            signer.close()

            # 4. the purchaser's order page: queued now; the worker starts only after the page is
            # shown, so "aktiv" can only arrive through the live progress, without a reload
            page.goto(stack.url(host, order_path))
            line = page.locator("[data-line-id] .badge.status").first
            expect(line).not_to_have_text("aktiv")
            page.evaluate("window.__sameDocument = true")
            stack.start_worker()
            expect(line).to_have_text("aktiv", timeout=TIMEOUT_MS)
            assert page.evaluate("window.__sameDocument === true"), "Die Seite wurde neu geladen."

            # 5. the new assistant in "Meine Assistenten", configured through the generated form
            page.goto(stack.url(host, "/assistenten/"))
            row = page.locator("tr", has_text=TITLE)
            expect(row).to_contain_text("einzurichten")
            row.get_by_role("link", name=TITLE).click()
            page.get_by_role("link", name="Jetzt einrichten").click()
            page.get_by_label("Zuständige Stelle").fill("Steueramt, Sachgebiet Hundesteuer")
            page.get_by_label("Kontakt-E-Mail für Rückfragen").fill("hundesteuer-at-leipzig")
            page.get_by_label("Gebühr in Euro").fill("0")
            page.get_by_label("Steuersatz Ersthund (€/Jahr)").fill("96")
            page.get_by_role("button", name="Speichern", exact=True).click()
            expect(page.locator("#id_kontakt_email_error")).to_have_text(
                "Bitte geben Sie eine gültige E-Mail-Adresse ein."
            )
            expect(page.locator("main")).to_contain_text("Es wurde nichts gespeichert.")
            page.screenshot(path=str(tmp_path / "configuration_errors.png"), full_page=True)
            page.get_by_label("Kontakt-E-Mail für Rückfragen").fill("hundesteuer@leipzig.example")
            page.get_by_role("button", name="Speichern", exact=True).click()
            expect(page.locator("main")).to_contain_text("ist eingerichtet")
            expect(page.locator(".badges .badge").first).to_have_text("eingerichtet")
            page.screenshot(path=str(screenshot), full_page=True)

            # 6. activation issued the invoice: under "Rechnungen", with the subsidy per line and
            # the PDF and XRechnung to download (Leipzig has a Leitweg-ID)
            page.get_by_role("navigation").get_by_role("link", name="Rechnungen").click()
            number = page.get_by_role("link", name=re.compile(r"^RE-\d{4}-\d{6}$")).first
            expect(number).to_be_visible()
            number.click()
            expect(page.locator("main")).to_contain_text(TITLE)
            expect(page.locator("main")).to_contain_text("Förderung")
            for name, kind in (("PDF", "%PDF-"), ("XRechnung", "<?xml")):
                href = page.get_by_role("link", name=re.compile(f"^{name}")).first.get_attribute("href")
                # fetched by the browser itself (its session, its resolver for *.localhost)
                status, head = page.evaluate(
                    "async (url) => { const r = await fetch(url); "
                    "return [r.status, (await r.text()).slice(0, 5)]; }",
                    href,
                )
                assert status == 200 and head == kind, (name, status, head)
        finally:
            browser.close()

    assert screenshot.exists()
    assert _instances(schema) == [
        (
            TITLE,
            "ready",
            {
                "zustaendige_stelle": "Steueramt, Sachgebiet Hundesteuer",
                "kontakt_email": "hundesteuer@leipzig.example",
                "gebuehr": 0,
                "steuersatz_ersthund": 96,
                "epayment": True,
            },
        )
    ]
    print(f"Bildschirmfoto: {screenshot}")
