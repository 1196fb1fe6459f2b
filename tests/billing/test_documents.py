"""Invoice documents: every XRechnung validates against the shipped UBL 2.1 schemas and passes the
XRechnung rules; the rules catch what they claim to; the PDF says what the invoice says."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from billing.documents import rules
from billing.documents.pdf import invoice_pdf
from billing.documents.rules import check_xrechnung, validate_xsd
from billing.documents.settlement import settlement
from billing.documents.xrechnung import NS, XRechnungUnavailable, xrechnung_xml
from tests.billing.documents_data import (
    BUILDERS,
    assistants_fixture,  # noqa: F401  (the fixture "assistants")
    credit_note,
    dresden_invoice,
    mixed_vat_invoice,
    pdf_text,
    settled_invoice,
    subscribe,
    subsidised_credit_note,
    subsidised_invoice,
    supplementary_invoice,
    yearly_invoice,
)

D = Decimal


def parse(xml: bytes) -> ET.Element:
    return ET.fromstring(xml)


def texts(root: ET.Element, path: str) -> list[str]:
    return [element.text for element in root.findall(path, NS)]


def edit(xml: bytes, change) -> bytes:
    """The document after ``change(root)``, serialised again."""
    root = parse(xml)
    change(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def remove(root: ET.Element, parent_path: str, child_path: str) -> None:
    parent = root if parent_path == "." else root.find(parent_path, NS)
    parent.remove(parent.find(child_path, NS))


def set_text(root: ET.Element, path: str, value: str) -> None:
    root.find(path, NS).text = value


# --- the shipped schemas ---------------------------------------------------------------------


def test_the_project_ships_its_own_ubl_schemas():
    assert rules.UBL_DIR.is_dir() and "data" in rules.UBL_DIR.parts
    assert all(path.is_file() for path in rules.SCHEMAS.values())
    assert (rules.UBL_DIR / "common" / "UBL-CommonAggregateComponents-2.1.xsd").is_file()


# --- every kind of document is valid ---------------------------------------------------------


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_every_document_is_schema_valid_and_passes_the_xrechnung_rules(towns, assistants, kind):
    document = BUILDERS[kind](towns, assistants)
    xml = xrechnung_xml(document)
    assert validate_xsd(xml) == []
    assert check_xrechnung(xml) == []
    root = parse(xml)
    assert texts(root, "cbc:CustomizationID") == [
        "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    ]
    assert texts(root, "cbc:ProfileID") == ["urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"]
    assert texts(root, "cbc:ID") == [document.number]
    assert texts(root, "cbc:BuyerReference") == ["14713000-12345-84"]
    buyer_endpoint = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert (buyer_endpoint.text, buyer_endpoint.get("schemeID")) == ("14713000-12345-84", "0204")
    seller_endpoint = root.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", NS)
    assert (seller_endpoint.text, seller_endpoint.get("schemeID")) == ("rechnung@kisa.example", "EM")
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == [f"{document.gross_due:.2f}"]
    assert all(
        element.get("currencyID") == "EUR" for element in root.iter() if element.get("currencyID") is not None
    )


def test_subsidy_is_a_line_allowance_on_the_list_price(towns, assistants):
    xml = xrechnung_xml(subsidised_invoice(towns, assistants))
    root = parse(xml)
    assert root.tag == f"{{{NS['inv']}}}Invoice" and texts(root, "cbc:InvoiceTypeCode") == ["380"]
    (line,) = root.findall("cac:InvoiceLine", NS)
    assert texts(line, "cac:Price/cbc:PriceAmount") == ["402.41"]
    assert texts(line, "cbc:LineExtensionAmount") == ["160.44"]
    (allowance,) = line.findall("cac:AllowanceCharge", NS)
    assert texts(allowance, "cbc:ChargeIndicator") == ["false"]
    assert texts(allowance, "cbc:Amount") == ["241.97"]
    assert texts(allowance, "cbc:AllowanceChargeReason") == ["Förderung Freistaat Sachsen (Tranche 2022)"]
    assert texts(line, "cac:InvoicePeriod/cbc:StartDate") == ["2022-03-01"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount") == ["160.44"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount") == ["190.92"]
    assert texts(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == ["S"]
    assert texts(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == ["58"]
    assert texts(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == ["DE02120300000000202051"]
    assert texts(root, "cbc:DueDate") == ["2022-02-02"]
    assert texts(root, "cac:InvoicePeriod/cbc:EndDate") == ["2022-12-31"]
    contact = root.find("cac:AccountingSupplierParty/cac:Party/cac:Contact", NS)
    assert all(texts(contact, f"cbc:{name}")[0] for name in ("Name", "Telephone", "ElectronicMail"))


def test_invoice_settled_by_subsidy_says_so_and_pays_nothing(towns, assistants):
    invoice = settled_invoice(towns, assistants)
    assert invoice.settled_by_subsidy and invoice.provisional
    root = parse(xrechnung_xml(invoice))
    assert texts(root, "cac:PaymentTerms/cbc:Note") == ["Durch Förderung ausgeglichen – kein Zahlbetrag"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["0.00"]
    (line,) = root.findall("cac:InvoiceLine", NS)
    assert "vorbehaltlich Haushaltsbeschluss" in texts(line, "cbc:Note")[0]
    assert texts(line, "cbc:LineExtensionAmount") == ["0.00"]
    assert texts(line, "cac:Price/cbc:PriceAmount") == ["480.00"]
    reason = texts(line, "cac:AllowanceCharge/cbc:AllowanceChargeReason")[0]
    assert reason.startswith("Förderung") and "vorbehaltlich Haushaltsbeschluss" in reason


def test_mixed_vat_rates_have_one_breakdown_each(towns, assistants):
    invoice = mixed_vat_invoice(towns, assistants)
    root = parse(xrechnung_xml(invoice))
    subtotals = [
        (
            texts(s, "cac:TaxCategory/cbc:Percent")[0],
            texts(s, "cbc:TaxableAmount")[0],
            texts(s, "cbc:TaxAmount")[0],
        )
        for s in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    ]
    assert subtotals == [("7.00", "99.99", "7.00"), ("19.00", "480.00", "91.20")]
    assert texts(root, "cac:TaxTotal/cbc:TaxAmount") == ["98.20"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount") == ["579.99"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["678.19"]
    # no subsidy, no allowance
    assert root.findall("cac:InvoiceLine/cac:AllowanceCharge", NS) == []


def test_supplementary_invoice_refers_to_the_original(towns, assistants):
    supplementary = supplementary_invoice(towns, assistants)
    root = parse(xrechnung_xml(supplementary))
    assert texts(root, "cbc:InvoiceTypeCode") == ["380"]
    assert texts(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == [
        supplementary.references.number
    ]
    assert texts(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate") == ["2023-01-03"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["571.20"]


def test_credit_note_is_a_ubl_credit_note_with_reference(towns, assistants):
    credit = credit_note(towns, assistants)
    root = parse(xrechnung_xml(credit))
    assert root.tag == f"{{{NS['cn']}}}CreditNote"
    assert texts(root, "cbc:CreditNoteTypeCode") == ["381"]
    assert texts(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == [
        credit.references.number
    ]
    (line,) = root.findall("cac:CreditNoteLine", NS)
    assert line.find("cbc:CreditedQuantity", NS).text == "1"
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["106.99"]
    assert texts(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == ["97"]


def test_credit_note_of_a_subsidised_line_repeats_its_subsidy(towns, assistants):
    root = parse(xrechnung_xml(subsidised_credit_note(towns, assistants)))
    (line,) = root.findall("cac:CreditNoteLine", NS)
    assert texts(line, "cac:Price/cbc:PriceAmount") == ["402.41"]
    assert texts(line, "cac:AllowanceCharge/cbc:Amount") == ["241.97"]
    assert texts(line, "cbc:LineExtensionAmount") == ["160.44"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["190.92"]


def test_no_xrechnung_without_leitweg_id(towns, assistants):
    invoice = dresden_invoice(towns, assistants)
    with pytest.raises(XRechnungUnavailable, match="keine Leitweg-ID hinterlegt"):
        xrechnung_xml(invoice)


# --- the checks catch what they claim to -----------------------------------------------------


def _remove_buyer_reference(root):
    remove(root, ".", "cbc:BuyerReference")


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (_remove_buyer_reference, "[BR-DE-15]"),
        (lambda r: remove(r, ".", "cac:PaymentMeans"), "[BR-DE-1]"),
        (lambda r: remove(r, "cac:AccountingSupplierParty/cac:Party", "cac:Contact"), "[BR-DE-2]"),
        (
            lambda r: remove(r, "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress", "cbc:CityName"),
            "[BR-DE-3]",
        ),
        (
            lambda r: remove(r, "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress", "cbc:PostalZone"),
            "[BR-DE-4]",
        ),
        (lambda r: remove(r, "cac:AccountingSupplierParty/cac:Party/cac:Contact", "cbc:Name"), "[BR-DE-5]"),
        (
            lambda r: remove(r, "cac:AccountingSupplierParty/cac:Party/cac:Contact", "cbc:Telephone"),
            "[BR-DE-6]",
        ),
        (
            lambda r: remove(r, "cac:AccountingSupplierParty/cac:Party/cac:Contact", "cbc:ElectronicMail"),
            "[BR-DE-7]",
        ),
        (
            lambda r: remove(r, "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress", "cbc:CityName"),
            "[BR-DE-8]",
        ),
        (
            lambda r: remove(r, "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress", "cbc:PostalZone"),
            "[BR-DE-9]",
        ),
        (lambda r: remove(r, "cac:AccountingSupplierParty/cac:Party", "cac:PartyTaxScheme"), "[BR-DE-16]"),
        (lambda r: set_text(r, "cbc:InvoiceTypeCode", "999"), "[BR-DE-17]"),
        (lambda r: set_text(r, "cac:PaymentTerms/cbc:Note", "#SKONTO#TAGE=7#PROZENT=2#"), "[BR-DE-18]"),
        (
            lambda r: set_text(r, "cbc:CustomizationID", "urn:cen.eu:en16931:2017"),
            "[BR-DE-21]",
        ),
        (lambda r: remove(r, "cac:PaymentMeans", "cac:PayeeFinancialAccount"), "[BR-DE-23-a]"),
        (
            lambda r: set_text(
                r, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", "DE02120300000000202052"
            ),
            "[BR-DE-19]",
        ),
        (lambda r: remove(r, "cac:AccountingCustomerParty/cac:Party", "cbc:EndpointID"), "[BT-49]"),
        (lambda r: set_text(r, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount", "160.45"), "[BR-CO-10]"),
        (lambda r: set_text(r, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", "160.00"), "[BR-CO-13]"),
        (lambda r: set_text(r, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "190.93"), "[BR-CO-15]"),
        (lambda r: set_text(r, "cac:LegalMonetaryTotal/cbc:PayableAmount", "0.00"), "[BR-CO-16]"),
        (lambda r: set_text(r, "cac:TaxTotal/cbc:TaxAmount", "30.00"), "[BR-CO-14]"),
        (lambda r: set_text(r, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", "30.50"), "[BR-CO-17]"),
        (lambda r: set_text(r, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount", "160.00"), "[BR-S-08]"),
        (
            lambda r: set_text(r, "cac:InvoiceLine/cac:AllowanceCharge/cbc:Amount", "240.00"),
            "[PEPPOL-EN16931-R120]",
        ),
        (lambda r: set_text(r, "cac:InvoiceLine/cbc:LineExtensionAmount", "160.444"), "[BR-DEC]"),
    ],
)
def test_the_rules_report_a_broken_document(towns, assistants, change, rule):
    good = xrechnung_xml(subsidised_invoice(towns, assistants))
    assert check_xrechnung(good) == []
    problems = check_xrechnung(edit(good, change))
    assert any(problem.startswith(rule) for problem in problems), problems


def test_a_missing_buyer_reference_is_schema_valid_but_not_an_xrechnung(towns, assistants):
    broken = edit(xrechnung_xml(subsidised_invoice(towns, assistants)), _remove_buyer_reference)
    assert validate_xsd(broken) == []  # the XSD alone would not notice
    assert check_xrechnung(broken) == [
        "[BR-DE-15] Die Käuferreferenz (BT-10, bei Kommunen die Leitweg-ID) fehlt."
    ]


def test_the_schema_refuses_what_ubl_does_not_allow(towns, assistants):
    good = xrechnung_xml(subsidised_invoice(towns, assistants))
    german_date = edit(good, lambda r: set_text(r, "cbc:IssueDate", "03.01.2022"))
    assert any("IssueDate" in error for error in validate_xsd(german_date))

    def swap_id_and_issue_date(root):
        number = root.find("cbc:ID", NS)
        root.remove(number)
        root.insert(4, number)  # after IssueDate: out of the sequence

    assert validate_xsd(edit(good, swap_id_and_issue_date))
    assert validate_xsd(b"<Invoice/>")[0].startswith("Unbekanntes Wurzelelement")
    assert validate_xsd(b"<kein xml")[0].startswith("Die Datei ist kein wohlgeformtes XML")


def test_credit_note_rules_use_credit_note_elements(towns, assistants):
    good = xrechnung_xml(credit_note(towns, assistants))
    broken = edit(good, lambda r: set_text(r, "cbc:CreditNoteTypeCode", "380x"))
    assert [p for p in check_xrechnung(broken) if p.startswith("[BR-DE-17]")]
    broken = edit(good, lambda r: set_text(r, "cac:CreditNoteLine/cbc:LineExtensionAmount", "1.00"))
    problems = check_xrechnung(broken)
    assert any(p.startswith("[BR-CO-10]") for p in problems)
    assert any(p.startswith("[PEPPOL-EN16931-R120]") for p in problems)


def test_the_checks_refuse_hostile_xml():
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert check_xrechnung(bomb)[0].startswith("Die Datei ist kein wohlgeformtes XML")


# --- the PDF --------------------------------------------------------------------------------


def test_pdf_of_an_invoice_with_subsidy(towns, assistants):
    invoice = subsidised_invoice(towns, assistants)
    data = invoice_pdf(invoice)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in (
        "Rechnung RE-2022-000001",
        "Leitweg-ID",
        "14713000-12345-84",
        "Leipzig, Stadt",
        "Martin-Luther-Ring 4-6",
        "01.03.2022 – 31.12.2022",
        "02.02.2022",  # due date
        "402,41 €",
        "-241,97 €",
        "160,44 €",
        "Umsatzsteuer 19 % auf 160,44 €",
        "30,48 €",
        "190,92 €",
        "IBAN: DE02 1203 0000 0000 2020 51",
        "BIC: BYLADEM1001",
        "Verwendungszweck: RE-2022-000001",
        "Kommunale Informationsverarbeitung",
    ):
        assert expected in text, expected
    assert "nichts zu zahlen" not in text
    assert invoice_pdf(invoice) == data  # deterministic


def test_pdf_of_an_invoice_settled_by_subsidy(towns, assistants):
    text = pdf_text(invoice_pdf(settled_invoice(towns, assistants)))
    assert "Durch Förderung ausgeglichen – es ist nichts zu zahlen." in text
    assert "vorbehaltlich Haushaltsbeschluss" in text
    assert "IBAN: " not in text


def test_pdf_of_a_credit_note_and_a_supplementary_invoice(towns, assistants):
    credit = credit_note(towns, assistants)
    text = pdf_text(invoice_pdf(credit))
    assert f"Gutschrift {credit.number}" in text
    assert f"Gutschrift zur Rechnung {credit.references.number} vom 03.01.2025" in text
    assert "Doppelt berechnet" in text and "106,99 €" in text and "Fällig am" not in text


def test_pdf_of_a_supplementary_invoice(towns, assistants):
    supplementary = supplementary_invoice(towns, assistants)
    text = pdf_text(invoice_pdf(supplementary))
    assert f"Nachberechnung {supplementary.number}" in text
    assert f"Nachberechnung zur Rechnung {supplementary.references.number}" in text
    assert "571,20 €" in text


def test_pdf_without_leitweg_id_still_works(towns, assistants):
    invoice = dresden_invoice(towns, assistants)
    text = pdf_text(invoice_pdf(invoice))
    assert invoice.number in text and "Dresden, Stadt" in text and "Leitweg-ID" not in text


def test_a_long_invoice_runs_over_pages_with_numbered_footers(towns, assistants):
    from tests.factories.shop import AssistantFactory

    for n in range(30):
        assistant = AssistantFactory(slug=f"assistent-{n}", title=f"Assistent Nummer {n}", category="efa")
        subscribe(towns["leipzig"], assistant, started_on=date(2025, 1, 1))
    invoice = yearly_invoice(towns["leipzig"], 2025)
    data = invoice_pdf(invoice)
    pages = data.count(b"/Type /Page\n")
    text = pdf_text(data)
    assert pages >= 2 and f"Seite {pages} von" in text
    assert "Pos." in text and text.count("Bezeichnung") == pages  # headings repeat on every page
    assert "Nummer 29" in text and "17.136,00 €" in text  # 30 × 480 € + 19 %


# --- where a document stands (pure) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "code", "outstanding"),
    [
        ({"settled_by_subsidy": True, "gross_due": D("0")}, "settled_by_subsidy", D("0")),
        ({}, "open", D("190.92")),
        ({"paid": D("100")}, "partly_paid", D("90.92")),
        ({"paid": D("190.92")}, "paid", D("0")),
        ({"paid": D("200")}, "overpaid", D("0")),
        ({"credited": D("100"), "paid": D("100")}, "overpaid", D("0")),
        ({"credited": D("190.92")}, "credited", D("0")),
        ({"credited": D("90.92"), "paid": D("100")}, "paid", D("0")),
        ({"credited": D("90.92")}, "open", D("100.00")),
        ({"is_credit_note": True}, "credit_note", D("0")),
    ],
)
def test_settlement_status(kwargs, code, outstanding):
    base = {
        "is_credit_note": False,
        "gross_due": D("190.92"),
        "settled_by_subsidy": False,
        "paid": D("0"),
        "credited": D("0"),
        "due_date": date(2025, 2, 1),
        "today": date(2025, 1, 15),
    }
    result = settlement(**(base | kwargs))
    assert (result.code, result.outstanding) == (code, outstanding)
    assert not result.overdue


def test_open_after_the_due_date_is_overdue():
    result = settlement(
        is_credit_note=False,
        gross_due=D("10"),
        settled_by_subsidy=False,
        paid=D("0"),
        credited=D("0"),
        due_date=date(2025, 2, 1),
        today=date(2025, 2, 2),
    )
    assert result.overdue and result.label == "offen" and result.tone == "err"
