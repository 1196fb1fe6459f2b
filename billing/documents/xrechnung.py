"""XRechnung 3.0 in UBL 2.1 syntax for invoices, supplementary invoices and credit notes.

The XRechnung is the e-invoice German public buyers must accept (E-Rechnungsverordnung); the
Leitweg-ID routes it to the right office and is the buyer reference (BT-10).

How the subsidy is shown (FUNDING.md: "the subsidy is a discount on the net amount"): each line
carries the list net as its item net price (BT-146, quantity 1) and one line allowance (BG-27)
per tranche that paid part of it, so that the line net amount (BT-131) = list net − subsidy =
net due. Line allowances are part of the line net amount and therefore not repeated in the
document's allowance total (BT-107); the invoice totals are the sums of the lines' net due.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from billing.domain.money import format_eur
from billing.models import DocumentKind, Invoice

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
# The prefixes KoSIT's examples use (ElementTree cannot write a default namespace together with
# unqualified attributes such as currencyID).
for _prefix, _key in (("ubl", "inv"), ("cn", "cn"), ("cac", "cac"), ("cbc", "cbc")):
    ET.register_namespace(_prefix, NS[_key])

#: UNTDID 1001 document type codes.
TYPE_COMMERCIAL_INVOICE = "380"
TYPE_CREDIT_NOTE = "381"
#: UNTDID 4461 payment means: SEPA credit transfer; clearing between partners (credit notes:
#: the amount is set off against open invoices or refunded — the buyer's account is unknown).
PAYMENT_SEPA_CREDIT_TRANSFER = "58"
PAYMENT_CLEARING = "97"
#: UNECE Rec. 20: "one" (a licence, a year of maintenance is one unit).
UNIT_ONE = "C62"
PROVISIONAL_NOTE = "vorbehaltlich Haushaltsbeschluss"
SETTLED_NOTE = "Durch Förderung ausgeglichen – kein Zahlbetrag"
CENT = Decimal("0.01")


class XRechnungUnavailable(Exception):
    """The document cannot be written as a valid XRechnung (the message says why, in German)."""


def xrechnung_blockers(invoice: Invoice) -> list[str]:
    """Why no valid XRechnung can be written for this document (empty: it can)."""
    problems = []
    if not invoice.is_issued:
        problems.append("Ein Entwurf ist kein Beleg; die XRechnung gibt es erst nach dem Ausstellen.")
    if not invoice.buyer_leitweg_id.strip():
        problems.append(
            "Für diese Kommune ist keine Leitweg-ID hinterlegt. Ohne Leitweg-ID (Käuferreferenz, BT-10) "
            "ist keine gültige XRechnung möglich; bitte nutzen Sie die PDF-Rechnung oder lassen Sie die "
            "Leitweg-ID beim Verband eintragen."
        )
    if not (invoice.buyer_city.strip() and invoice.buyer_postal_code.strip()):
        problems.append(
            "Für diese Kommune ist keine vollständige Rechnungsanschrift (PLZ und Ort) hinterlegt; "
            "die XRechnung verlangt sie (BR-DE-8, BR-DE-9)."
        )
    return problems


def amount(value: Decimal) -> str:
    """A money amount as UBL wants it: two decimals, a point, no grouping."""
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def percent(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def vat_category(rate: Decimal) -> str:
    """UNCL 5305: standard rate (S) for any positive rate, zero rated (Z) for 0 %."""
    return "S" if Decimal(rate) > 0 else "Z"


def subsidy_reason(label: str, tranche_name: str, provisional: bool) -> str:
    label = label if label.lower().startswith("förderung") else f"Förderung {label}".strip()
    text = f"{label} ({tranche_name})" if tranche_name else label
    return f"{text}, {PROVISIONAL_NOTE}" if provisional else text


@dataclass(frozen=True)
class Allowance:
    reason: str
    amount: Decimal


def line_allowances(line) -> list[Allowance]:
    """The subsidy of a line as allowances, one per tranche when the parts add up to it.

    A credit note line reverses its original line, so it shows the original's parts."""
    if not line.subsidy:
        return []
    source = line.credits if line.credits_id else line
    parts = list(source.subsidies.all())
    if parts and sum((p.amount for p in parts), Decimal("0")) == line.subsidy:
        return [
            Allowance(
                subsidy_reason(p.tranche.programme.explanation_label, p.tranche.name, p.provisional),
                p.amount,
            )
            for p in parts
            if p.amount
        ]
    return [Allowance(subsidy_reason("Förderung", "", line.provisional), line.subsidy)]


def line_note(line) -> str:
    text = line.explanation.strip()
    if line.provisional and PROVISIONAL_NOTE not in text:
        text = f"{text} – Förderung {PROVISIONAL_NOTE}" if text else f"Förderung {PROVISIONAL_NOTE}"
    return text


def document_lines(invoice: Invoice):
    return list(
        invoice.lines.select_related("credits")
        .prefetch_related("subsidies__tranche__programme", "credits__subsidies__tranche__programme")
        .order_by("position")
    )


class _Builder:
    def __init__(self, currency: str):
        self.currency = currency

    def sub(self, parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
        prefix, name = tag.split(":")
        element = ET.SubElement(parent, f"{{{NS[prefix]}}}{name}", attrs)
        if text is not None:
            element.text = text
        return element

    def money(self, parent: ET.Element, tag: str, value: Decimal) -> ET.Element:
        return self.sub(parent, tag, amount(value), currencyID=self.currency)

    def day(self, parent: ET.Element, tag: str, value: date) -> ET.Element:
        return self.sub(parent, tag, value.isoformat())

    def tax_category(self, parent: ET.Element, tag: str, rate: Decimal) -> None:
        category = self.sub(parent, tag)
        self.sub(category, "cbc:ID", vat_category(rate))
        self.sub(category, "cbc:Percent", percent(rate))
        scheme = self.sub(category, "cac:TaxScheme")
        self.sub(scheme, "cbc:ID", "VAT")

    def address(self, parent: ET.Element, street: str, postal_code: str, city: str, country: str) -> None:
        address = self.sub(parent, "cac:PostalAddress")
        if street:
            self.sub(address, "cbc:StreetName", street)
        if city:
            self.sub(address, "cbc:CityName", city)
        if postal_code:
            self.sub(address, "cbc:PostalZone", postal_code)
        self.sub(self.sub(address, "cac:Country"), "cbc:IdentificationCode", country)


def _header_note(invoice: Invoice) -> str:
    parts = [invoice.reason.strip()] if invoice.reason.strip() else []
    if invoice.references_id:
        ref = invoice.references
        what = "Gutschrift" if invoice.is_credit_note else "Nachberechnung"
        parts.append(f"{what} zur Rechnung {ref.number} vom {ref.issue_date:%d.%m.%Y}.")
    if invoice.provisional:
        parts.append(
            f"Positionen mit dem Vermerk „{PROVISIONAL_NOTE}“ sind unter dem Vorbehalt des "
            "Haushaltsbeschlusses gefördert; wird die Förderung abgelehnt, wird sie nachberechnet."
        )
    if invoice.settled_by_subsidy:
        parts.append(f"{SETTLED_NOTE}.")
    return "\n".join(parts)


def _payment_terms(invoice: Invoice) -> str:
    if invoice.is_credit_note:
        ref = invoice.references.number if invoice.references_id else ""
        return (
            f"Der Betrag von {format_eur(invoice.gross_due)} wird mit offenen Forderungen "
            f"verrechnet oder erstattet (zur Rechnung {ref})."
        )
    if invoice.settled_by_subsidy or invoice.gross_due <= 0:
        return SETTLED_NOTE
    return f"Zahlbar ohne Abzug bis {invoice.due_date:%d.%m.%Y}. Verwendungszweck: {invoice.number}"


def xrechnung_xml(invoice: Invoice) -> bytes:
    """The document as an XRechnung 3.0 UBL file (Invoice 380 or CreditNote 381), UTF-8.

    Raises :class:`XRechnungUnavailable` when the buyer data an XRechnung requires is missing."""
    problems = xrechnung_blockers(invoice)
    if problems:
        raise XRechnungUnavailable(" ".join(problems))
    seller = settings.SELLER
    credit = invoice.kind == DocumentKind.CREDIT_NOTE
    b = _Builder(invoice.currency)
    root_ns = NS["cn"] if credit else NS["inv"]
    root = ET.Element(f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}")
    lines = document_lines(invoice)

    b.sub(root, "cbc:CustomizationID", CUSTOMIZATION_ID)
    b.sub(root, "cbc:ProfileID", PROFILE_ID)
    b.sub(root, "cbc:ID", invoice.number)
    b.day(root, "cbc:IssueDate", invoice.issue_date)
    if credit:
        b.sub(root, "cbc:CreditNoteTypeCode", TYPE_CREDIT_NOTE)
    else:
        b.day(root, "cbc:DueDate", invoice.due_date)
        b.sub(root, "cbc:InvoiceTypeCode", TYPE_COMMERCIAL_INVOICE)
    note = _header_note(invoice)
    if note:
        b.sub(root, "cbc:Note", note)
    b.sub(root, "cbc:DocumentCurrencyCode", invoice.currency)
    b.sub(root, "cbc:BuyerReference", invoice.buyer_leitweg_id)
    period = b.sub(root, "cac:InvoicePeriod")
    b.day(period, "cbc:StartDate", invoice.service_start)
    b.day(period, "cbc:EndDate", invoice.service_end)
    if invoice.references_id:
        reference = b.sub(b.sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        b.sub(reference, "cbc:ID", invoice.references.number)
        b.day(reference, "cbc:IssueDate", invoice.references.issue_date)

    # Seller (BG-4): electronic address, postal address, VAT id, legal name, contact.
    party = b.sub(b.sub(root, "cac:AccountingSupplierParty"), "cac:Party")
    b.sub(party, "cbc:EndpointID", seller["email"], schemeID="EM")
    b.sub(b.sub(party, "cac:PartyName"), "cbc:Name", seller["name"])
    b.address(party, seller["street"], seller["postal_code"], seller["city"], seller.get("country", "DE"))
    tax_scheme = b.sub(party, "cac:PartyTaxScheme")
    b.sub(tax_scheme, "cbc:CompanyID", seller["vat_id"])
    b.sub(b.sub(tax_scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = b.sub(party, "cac:PartyLegalEntity")
    b.sub(legal, "cbc:RegistrationName", seller["name"])
    if seller.get("legal_form"):
        b.sub(legal, "cbc:CompanyLegalForm", seller["legal_form"])
    contact = b.sub(party, "cac:Contact")
    b.sub(contact, "cbc:Name", seller["contact"])
    b.sub(contact, "cbc:Telephone", seller["phone"])
    b.sub(contact, "cbc:ElectronicMail", seller["email"])

    # Buyer (BG-7): the Leitweg-ID is its electronic address too (scheme 0204).
    party = b.sub(b.sub(root, "cac:AccountingCustomerParty"), "cac:Party")
    b.sub(party, "cbc:EndpointID", invoice.buyer_leitweg_id, schemeID="0204")
    b.sub(b.sub(party, "cac:PartyIdentification"), "cbc:ID", invoice.buyer_ags)
    b.address(party, invoice.buyer_street, invoice.buyer_postal_code, invoice.buyer_city, "DE")
    b.sub(b.sub(party, "cac:PartyLegalEntity"), "cbc:RegistrationName", invoice.buyer_name)
    if invoice.buyer_email:
        b.sub(b.sub(party, "cac:Contact"), "cbc:ElectronicMail", invoice.buyer_email)

    # Payment instructions (BG-16) and terms (BT-20).
    means = b.sub(root, "cac:PaymentMeans")
    if credit:
        b.sub(means, "cbc:PaymentMeansCode", PAYMENT_CLEARING, name="Verrechnung")
        b.sub(means, "cbc:PaymentID", invoice.number)
    else:
        b.sub(means, "cbc:PaymentMeansCode", PAYMENT_SEPA_CREDIT_TRANSFER, name="SEPA-Überweisung")
        b.sub(means, "cbc:PaymentID", invoice.number)
        account = b.sub(means, "cac:PayeeFinancialAccount")
        b.sub(account, "cbc:ID", seller["iban"].replace(" ", ""))
        b.sub(account, "cbc:Name", seller["name"])
        if seller.get("bic"):
            b.sub(b.sub(account, "cac:FinancialInstitutionBranch"), "cbc:ID", seller["bic"])
    b.sub(b.sub(root, "cac:PaymentTerms"), "cbc:Note", _payment_terms(invoice))

    # VAT breakdown (BG-23) per rate, as issued.
    tax_total = b.sub(root, "cac:TaxTotal")
    b.money(tax_total, "cbc:TaxAmount", invoice.vat)
    for group in _vat_groups(invoice):
        subtotal = b.sub(tax_total, "cac:TaxSubtotal")
        b.money(subtotal, "cbc:TaxableAmount", group["base"])
        b.money(subtotal, "cbc:TaxAmount", group["vat"])
        b.tax_category(subtotal, "cac:TaxCategory", group["rate"])

    totals = b.sub(root, "cac:LegalMonetaryTotal")
    b.money(totals, "cbc:LineExtensionAmount", invoice.net_due)
    b.money(totals, "cbc:TaxExclusiveAmount", invoice.net_due)
    b.money(totals, "cbc:TaxInclusiveAmount", invoice.gross_due)
    b.money(totals, "cbc:PayableAmount", invoice.gross_due)

    for line in lines:
        element = b.sub(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        b.sub(element, "cbc:ID", str(line.position))
        text = line_note(line)
        if text:
            b.sub(element, "cbc:Note", text)
        b.sub(element, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity", "1", unitCode=UNIT_ONE)
        b.money(element, "cbc:LineExtensionAmount", line.net_due)
        if line.period_start and line.period_end:
            line_period = b.sub(element, "cac:InvoicePeriod")
            b.day(line_period, "cbc:StartDate", line.period_start)
            b.day(line_period, "cbc:EndDate", line.period_end)
        for allowance in line_allowances(line):
            charge = b.sub(element, "cac:AllowanceCharge")
            b.sub(charge, "cbc:ChargeIndicator", "false")
            b.sub(charge, "cbc:AllowanceChargeReason", allowance.reason)
            b.money(charge, "cbc:Amount", allowance.amount)
        item = b.sub(element, "cac:Item")
        b.sub(item, "cbc:Name", line.description)
        b.sub(b.sub(item, "cac:SellersItemIdentification"), "cbc:ID", line.fee_kind)
        b.tax_category(item, "cac:ClassifiedTaxCategory", line.vat_rate)
        price = b.sub(element, "cac:Price")
        b.money(price, "cbc:PriceAmount", line.list_net)

    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _vat_groups(invoice: Invoice) -> list[dict]:
    """The VAT breakdown exactly as issued (one group per rate, sorted by rate)."""
    return [
        {"rate": Decimal(g["rate"]), "base": Decimal(g["base"]), "vat": Decimal(g["vat"])}
        for g in invoice.vat_breakdown
    ]


def xrechnung_filename(invoice: Invoice) -> str:
    return f"{invoice.number}-xrechnung.xml"
