"""Checks of an XRechnung (UBL 2.1): the XML Schema and the business rules we rely on.

The XSD (OASIS UBL 2.1, shipped in ``data/ubl-2.1``) only checks the syntax. The rules below
are the XRechnung 3.0 CIUS rules (BR-DE-*, as in KoSIT's schematron) and the EN 16931
calculation rules (BR-CO-*) that our documents touch; the official validator has more, but a
file failing one of these would certainly be refused. Every message names its rule.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings

from .xrechnung import CUSTOMIZATION_ID, NS

UBL_DIR = Path(settings.BASE_DIR) / "data" / "ubl-2.1"
SCHEMAS = {
    "Invoice": UBL_DIR / "maindoc" / "UBL-Invoice-2.1.xsd",
    "CreditNote": UBL_DIR / "maindoc" / "UBL-CreditNote-2.1.xsd",
}
ROOTS = {f"{{{NS['inv']}}}Invoice": "Invoice", f"{{{NS['cn']}}}CreditNote": "CreditNote"}

#: BR-DE-17: the UNTDID 1001 codes XRechnung admits for invoices and credit notes.
ALLOWED_TYPE_CODES = frozenset({"326", "380", "384", "389", "381", "875", "876", "877"})
#: BR-DE-16: VAT categories that need a seller VAT or tax registration identifier.
VAT_ID_CATEGORIES = frozenset({"S", "Z", "E", "AE", "K", "G", "L", "M"})
CREDIT_TRANSFER_CODES = frozenset({"30", "58"})
SKONTO = re.compile(r"^#SKONTO#TAGE=([0-9]+#PROZENT=[0-9]+\.[0-9]{2})(#BASISBETRAG=-?[0-9]+\.[0-9]{2})?#$")
IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Za-z0-9]{0,30}$")
CENT = Decimal("0.01")


@cache
def _schema(kind: str):
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMAS[kind]))


def _parse(xml_bytes: bytes) -> tuple[ET.Element | None, str | None, list[str]]:
    """The root element and document kind, or why the bytes are no UBL document."""
    try:
        root = fromstring(xml_bytes)
    except (ET.ParseError, DefusedXmlException) as exc:
        return None, None, [f"Die Datei ist kein wohlgeformtes XML: {exc}"]
    kind = ROOTS.get(root.tag)
    if kind is None:
        return (
            None,
            None,
            [f"Unbekanntes Wurzelelement {root.tag}: erwartet wird ein UBL-Invoice oder -CreditNote."],
        )
    return root, kind, []


def validate_xsd(xml_bytes: bytes) -> list[str]:
    """Errors of the document against the UBL 2.1 schema (empty: valid). The schemas are loaded
    once per process."""
    _root, kind, errors = _parse(xml_bytes)
    if errors:
        return errors
    return [
        f"XSD: {error.reason or error.message} ({error.path})"
        for error in _schema(kind).iter_errors(io.BytesIO(xml_bytes))
    ]


class _Doc:
    def __init__(self, root: ET.Element):
        self.root = root

    def all(self, path: str, node: ET.Element | None = None) -> list[ET.Element]:
        return (self.root if node is None else node).findall(path, NS)

    def one(self, path: str, node: ET.Element | None = None) -> ET.Element | None:
        return (self.root if node is None else node).find(path, NS)

    def text(self, path: str, node: ET.Element | None = None) -> str:
        element = self.one(path, node)
        return (element.text or "").strip() if element is not None else ""


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal((value or "").strip())
    except InvalidOperation:
        return None


def _iban_ok(value: str) -> bool:
    iban = re.sub(r"\s", "", value)
    if not IBAN.match(iban):
        return False
    digits = "".join(str(int(c, 36)) for c in (iban[4:] + iban[:4]).upper())
    return int(digits) % 97 == 1


def _euro(value: Decimal) -> str:
    return f"{value:.2f}"


def check_xrechnung(xml_bytes: bytes) -> list[str]:
    """The rule violations of an XRechnung, as German messages that start with the rule id."""
    root, kind, errors = _parse(xml_bytes)
    if errors:
        return errors
    doc = _Doc(root)
    errors += _header_rules(doc, kind)
    errors += _party_rules(doc)
    errors += _payment_rules(doc)
    errors += _amount_rules(doc, kind)
    return errors


def _header_rules(doc: _Doc, kind: str) -> list[str]:
    errors = []
    if doc.text("cbc:CustomizationID") != CUSTOMIZATION_ID:
        errors.append(
            f"[BR-DE-21] Die Spezifikationskennung (BT-24) muss „{CUSTOMIZATION_ID}“ lauten, "
            f"nicht „{doc.text('cbc:CustomizationID')}“."
        )
    if not doc.text("cbc:ID"):
        errors.append("[BR-02] Die Rechnungsnummer (BT-1) fehlt.")
    if not doc.text("cbc:IssueDate"):
        errors.append("[BR-03] Das Rechnungsdatum (BT-2) fehlt.")
    type_code = doc.text("cbc:CreditNoteTypeCode" if kind == "CreditNote" else "cbc:InvoiceTypeCode")
    if type_code not in ALLOWED_TYPE_CODES:
        errors.append(
            f"[BR-DE-17] Der Rechnungstyp (BT-3) „{type_code}“ ist nicht zulässig; erlaubt sind "
            f"{', '.join(sorted(ALLOWED_TYPE_CODES))}."
        )
    if not doc.text("cbc:BuyerReference"):
        errors.append("[BR-DE-15] Die Käuferreferenz (BT-10, bei Kommunen die Leitweg-ID) fehlt.")
    period = doc.one("cac:InvoicePeriod")
    if period is not None:
        start, end = doc.text("cbc:StartDate", period), doc.text("cbc:EndDate", period)
        if start and end and end < start:
            errors.append("[BR-29] Das Ende des Leistungszeitraums (BT-74) liegt vor seinem Beginn (BT-73).")
    return errors


def _party_rules(doc: _Doc) -> list[str]:
    errors = []
    seller = doc.one("cac:AccountingSupplierParty/cac:Party")
    buyer = doc.one("cac:AccountingCustomerParty/cac:Party")
    if seller is None:
        return ["[BR-06] Der Verkäufer (BG-4) fehlt."]
    if buyer is None:
        return ["[BR-07] Der Käufer (BG-7) fehlt."]
    if not doc.text("cac:PartyLegalEntity/cbc:RegistrationName", seller):
        errors.append("[BR-06] Der Name des Verkäufers (BT-27) fehlt.")
    if not doc.text("cac:PartyLegalEntity/cbc:RegistrationName", buyer):
        errors.append("[BR-07] Der Name des Käufers (BT-44) fehlt.")
    for party, bt, who in ((seller, "BT-34", "Verkäufers"), (buyer, "BT-49", "Käufers")):
        endpoint = doc.one("cbc:EndpointID", party)
        if endpoint is None or not (endpoint.text or "").strip() or not endpoint.get("schemeID"):
            errors.append(
                f"[{bt}] Die elektronische Adresse des {who} mit Schema-Kennung fehlt (XRechnung 3.0)."
            )
    if not doc.text("cac:PostalAddress/cbc:CityName", seller):
        errors.append("[BR-DE-3] Der Ort des Verkäufers (BT-37) fehlt.")
    if not doc.text("cac:PostalAddress/cbc:PostalZone", seller):
        errors.append("[BR-DE-4] Die Postleitzahl des Verkäufers (BT-38) fehlt.")
    contact = doc.one("cac:Contact", seller)
    if contact is None:
        errors.append("[BR-DE-2] Der Kontakt des Verkäufers (BG-6) fehlt.")
    else:
        if not doc.text("cbc:Name", contact):
            errors.append("[BR-DE-5] Die Kontaktstelle des Verkäufers (BT-41) fehlt.")
        phone = doc.text("cbc:Telephone", contact)
        if not phone:
            errors.append("[BR-DE-6] Die Telefonnummer des Verkäuferkontakts (BT-42) fehlt.")
        elif len(re.findall(r"\d", phone)) < 3:
            errors.append(
                "[BR-DE-27] Die Telefonnummer des Verkäuferkontakts (BT-42) hat weniger als drei Ziffern."
            )
        if not doc.text("cbc:ElectronicMail", contact):
            errors.append("[BR-DE-7] Die E-Mail-Adresse des Verkäuferkontakts (BT-43) fehlt.")
    if not doc.text("cac:PostalAddress/cbc:CityName", buyer):
        errors.append("[BR-DE-8] Der Ort des Käufers (BT-52) fehlt.")
    if not doc.text("cac:PostalAddress/cbc:PostalZone", buyer):
        errors.append("[BR-DE-9] Die Postleitzahl des Käufers (BT-53) fehlt.")
    for party, rule in ((seller, "BR-09"), (buyer, "BR-11")):
        if not doc.text("cac:PostalAddress/cac:Country/cbc:IdentificationCode", party):
            errors.append(f"[{rule}] Der Ländercode der Anschrift fehlt.")
    categories = {
        element.text.strip()
        for element in doc.all(".//cac:ClassifiedTaxCategory/cbc:ID") + doc.all(".//cac:TaxCategory/cbc:ID")
        if element.text
    }
    has_vat_id = bool(doc.text("cac:PartyTaxScheme/cbc:CompanyID", seller)) or (
        doc.one("cac:TaxRepresentativeParty") is not None
    )
    if categories & VAT_ID_CATEGORIES and not has_vat_id:
        errors.append(
            "[BR-DE-16] Bei den Steuerkategorien S, Z, E, AE, K, G, L oder M muss die USt-IdNr. "
            "(BT-31) oder Steuernummer (BT-32) des Verkäufers angegeben sein."
        )
    return errors


def _payment_rules(doc: _Doc) -> list[str]:
    errors = []
    means = doc.all("cac:PaymentMeans")
    if not means:
        errors.append("[BR-DE-1] Die Zahlungsanweisungen (BG-16) fehlen.")
    for payment in means:
        code = doc.text("cbc:PaymentMeansCode", payment)
        if not code:
            errors.append("[BR-49] Der Code des Zahlungsmittels (BT-81) fehlt.")
        if code in CREDIT_TRANSFER_CODES:
            account = doc.text("cac:PayeeFinancialAccount/cbc:ID", payment)
            if doc.one("cac:PayeeFinancialAccount", payment) is None or not account:
                errors.append(
                    f"[BR-DE-23-a] Bei Zahlungsmittel {code} (Überweisung) muss die Kontoverbindung "
                    "(BG-17, IBAN) angegeben sein."
                )
            elif code == "58" and not _iban_ok(account):
                errors.append(f"[BR-DE-19] „{account}“ ist keine gültige IBAN (BT-84).")
            if (
                doc.one("cac:CardAccount", payment) is not None
                or doc.one("cac:PaymentMandate", payment) is not None
            ):
                errors.append(
                    f"[BR-DE-23-b] Bei Zahlungsmittel {code} (Überweisung) dürfen keine Karten- (BG-18) "
                    "oder Lastschriftangaben (BG-19) folgen."
                )
    terms = doc.one("cac:PaymentTerms/cbc:Note")
    if terms is not None and terms.text:
        for line in terms.text.splitlines():
            if line.strip().startswith("#") and not SKONTO.match(line.strip()):
                errors.append(f"[BR-DE-18] Die Skonto-Zeile „{line.strip()}“ hat nicht das XRechnung-Format.")
    return errors


def _amount(doc: _Doc, path: str, node: ET.Element | None = None) -> Decimal | None:
    element = doc.one(path, node)
    return None if element is None else _decimal(element.text)


def _amount_rules(doc: _Doc, kind: str) -> list[str]:
    errors: list[str] = []
    line_tag = "cac:CreditNoteLine" if kind == "CreditNote" else "cac:InvoiceLine"
    quantity_tag = "cbc:CreditedQuantity" if kind == "CreditNote" else "cbc:InvoicedQuantity"
    currency = doc.text("cbc:DocumentCurrencyCode")

    for element in doc.root.iter():
        amount_currency = element.get("currencyID")
        if amount_currency is None:
            continue
        name = element.tag.rsplit("}", 1)[-1]
        value = _decimal(element.text)
        if value is None:
            errors.append(f"[BR-DEC] „{element.text}“ in {name} ist kein Betrag.")
        elif name != "PriceAmount" and value.as_tuple().exponent < -2:
            errors.append(f"[BR-DEC] {name} „{element.text}“ hat mehr als zwei Nachkommastellen.")
        if amount_currency != currency and name != "TaxAmount":
            errors.append(f"[BR-CL-04] {name} in {amount_currency} statt in der Rechnungswährung {currency}.")

    lines = doc.all(line_tag)
    if not lines:
        errors.append("[BR-16] Eine Rechnung braucht mindestens eine Position (BG-25).")
    line_sum = Decimal("0")
    bases: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
    for line in lines:
        position = doc.text("cbc:ID", line) or "?"
        net = _amount(doc, "cbc:LineExtensionAmount", line)
        quantity = _amount(doc, quantity_tag, line)
        price = _amount(doc, "cac:Price/cbc:PriceAmount", line)
        base_quantity = _amount(doc, "cac:Price/cbc:BaseQuantity", line) or Decimal("1")
        if net is None or quantity is None or price is None:
            errors.append(f"[BR-24] Position {position}: Menge, Nettobetrag oder Preis fehlt.")
            continue
        if price < 0:
            errors.append(f"[BR-27] Position {position}: Der Nettopreis (BT-146) ist negativ.")
        allowances = charges = Decimal("0")
        for charge in doc.all("cac:AllowanceCharge", line):
            value = _amount(doc, "cbc:Amount", charge) or Decimal("0")
            if doc.text("cbc:ChargeIndicator", charge) == "true":
                charges += value
            else:
                allowances += value
                if not (
                    doc.text("cbc:AllowanceChargeReason", charge)
                    or doc.text("cbc:AllowanceChargeReasonCode", charge)
                ):
                    errors.append(f"[BR-42] Position {position}: Der Grund des Nachlasses (BT-139) fehlt.")
        expected = (quantity * price / base_quantity + charges - allowances).quantize(CENT, ROUND_HALF_UP)
        if net != expected:
            errors.append(
                f"[PEPPOL-EN16931-R120] Position {position}: Nettobetrag {_euro(net)} ≠ Menge × Preis "
                f"− Nachlässe + Zuschläge = {_euro(expected)}."
            )
        line_sum += net
        category = doc.text("cac:Item/cac:ClassifiedTaxCategory/cbc:ID", line)
        rate = _amount(doc, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", line) or Decimal("0")
        bases[(category, rate.normalize())] += net

    totals = doc.one("cac:LegalMonetaryTotal")
    if totals is None:
        return [*errors, "[BR-12] Die Rechnungssummen (BG-22) fehlen."]
    line_total = _amount(doc, "cbc:LineExtensionAmount", totals)
    tax_exclusive = _amount(doc, "cbc:TaxExclusiveAmount", totals)
    tax_inclusive = _amount(doc, "cbc:TaxInclusiveAmount", totals)
    payable = _amount(doc, "cbc:PayableAmount", totals)
    if None in (line_total, tax_exclusive, tax_inclusive, payable):
        return [
            *errors,
            "[BR-12] Summe der Positionen, Summen ohne/mit USt. oder Zahlbetrag fehlen (BT-106 bis BT-115).",
        ]
    allowance_total = _amount(doc, "cbc:AllowanceTotalAmount", totals) or Decimal("0")
    charge_total = _amount(doc, "cbc:ChargeTotalAmount", totals) or Decimal("0")
    prepaid = _amount(doc, "cbc:PrepaidAmount", totals) or Decimal("0")
    rounding = _amount(doc, "cbc:PayableRoundingAmount", totals) or Decimal("0")

    if line_total != line_sum:
        errors.append(
            f"[BR-CO-10] Summe der Positionen (BT-106) {_euro(line_total)} ≠ Summe der "
            f"Positionsbeträge {_euro(line_sum)}."
        )
    doc_allowances = sum(
        (
            _amount(doc, "cbc:Amount", c) or Decimal("0")
            for c in doc.all("cac:AllowanceCharge")
            if doc.text("cbc:ChargeIndicator", c) != "true"
        ),
        Decimal("0"),
    )
    doc_charges = sum(
        (
            _amount(doc, "cbc:Amount", c) or Decimal("0")
            for c in doc.all("cac:AllowanceCharge")
            if doc.text("cbc:ChargeIndicator", c) == "true"
        ),
        Decimal("0"),
    )
    if allowance_total != doc_allowances:
        errors.append(
            f"[BR-CO-11] Summe der Nachlässe (BT-107) {_euro(allowance_total)} ≠ {_euro(doc_allowances)}."
        )
    if charge_total != doc_charges:
        errors.append(
            f"[BR-CO-12] Summe der Zuschläge (BT-108) {_euro(charge_total)} ≠ {_euro(doc_charges)}."
        )
    if tax_exclusive != line_total - allowance_total + charge_total:
        errors.append(
            f"[BR-CO-13] Summe ohne USt. (BT-109) {_euro(tax_exclusive)} ≠ Summe der Positionen − "
            f"Nachlässe + Zuschläge = {_euro(line_total - allowance_total + charge_total)}."
        )

    tax_totals = [t for t in doc.all("cac:TaxTotal") if doc.one("cac:TaxSubtotal", t) is not None]
    if not tax_totals:
        errors.append("[BR-CO-18] Die Umsatzsteueraufschlüsselung (BG-23) fehlt.")
        return errors
    tax_total = tax_totals[0]
    vat = _amount(doc, "cbc:TaxAmount", tax_total)
    subtotal_sum = Decimal("0")
    for subtotal in doc.all("cac:TaxSubtotal", tax_total):
        base = _amount(doc, "cbc:TaxableAmount", subtotal)
        tax = _amount(doc, "cbc:TaxAmount", subtotal)
        category = doc.text("cac:TaxCategory/cbc:ID", subtotal)
        rate = _amount(doc, "cac:TaxCategory/cbc:Percent", subtotal)
        if rate is None:
            errors.append(f"[BR-DE-14] Der Steuersatz (BT-119) der Kategorie {category} fehlt.")
            continue
        if base is None or tax is None:
            errors.append(f"[BR-45] Steuerbasis oder Steuerbetrag zum Satz {rate} % fehlt.")
            continue
        subtotal_sum += tax
        expected = (base * rate / 100).quantize(CENT, ROUND_HALF_UP)
        if tax != expected:
            errors.append(
                f"[BR-CO-17] Umsatzsteuer zum Satz {rate.normalize()} %: {_euro(tax)} ≠ "
                f"{_euro(base)} × {rate.normalize()} % = {_euro(expected)}."
            )
        line_base = bases.pop((category, rate.normalize()), Decimal("0"))
        if base != line_base:
            errors.append(
                f"[BR-{category}-08] Steuerbasis zum Satz {rate.normalize()} % (BT-116) {_euro(base)} ≠ Summe "
                f"der Positionen mit diesem Satz {_euro(line_base)}."
            )
        if category == "Z" and rate != 0:
            errors.append("[BR-Z-05] Die Kategorie Z (nullbesteuert) verlangt den Steuersatz 0 %.")
        if category == "S" and rate <= 0:
            errors.append("[BR-S-05] Die Kategorie S verlangt einen Steuersatz größer als 0 %.")
    for category, rate in bases:
        errors.append(
            f"[BR-CO-18] Für Positionen der Kategorie {category} zum Satz {rate} % fehlt die "
            "Umsatzsteueraufschlüsselung."
        )
    if vat is None or vat != subtotal_sum:
        errors.append(
            f"[BR-CO-14] Umsatzsteuer gesamt (BT-110) {vat if vat is None else _euro(vat)} ≠ Summe der "
            f"Steuerbeträge je Satz {_euro(subtotal_sum)}."
        )
    elif tax_inclusive != tax_exclusive + vat:
        errors.append(
            f"[BR-CO-15] Summe mit USt. (BT-112) {_euro(tax_inclusive)} ≠ Summe ohne USt. + USt. = "
            f"{_euro(tax_exclusive + vat)}."
        )
    if payable != tax_inclusive - prepaid + rounding:
        errors.append(
            f"[BR-CO-16] Zahlbetrag (BT-115) {_euro(payable)} ≠ Summe mit USt. − Vorauszahlung + "
            f"Rundung = {_euro(tax_inclusive - prepaid + rounding)}."
        )
    return errors
