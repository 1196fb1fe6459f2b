"""The human-readable invoice, credit note or supplementary invoice as a PDF (fpdf2).

Written with the PDF core font Helvetica in WinAnsi encoding (cp1252), which has €, umlauts,
ß and typographic quotes: no font file has to ship with the project. The document is
deterministic (its creation date is the issue date), so downloading it twice gives the same file.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from django.conf import settings
from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout

from billing.domain.money import MINUS_SIGN, format_eur, format_percent
from billing.models import DocumentKind, Invoice

from .xrechnung import PROVISIONAL_NOTE, document_lines

ENCODING = "windows-1252"
# Characters the core fonts lack, written the nearest way they have.
_PLAIN = str.maketrans(
    {MINUS_SIGN: "-", "\u202f": " ", "\u2009": " ", "\u2011": "-", "\u2264": "<=", "\u2265": ">="}
)
GREY = (90, 90, 90)
LIGHT = (235, 240, 239)
BRAND = (0, 83, 79)


def _t(text: str) -> str:
    """Text the core font can show; anything else becomes "?" rather than an error."""
    return str(text).translate(_PLAIN).encode(ENCODING, "replace").decode(ENCODING)


def _eur(value: Decimal) -> str:
    return _t(format_eur(value))


def _date(value) -> str:
    return f"{value:%d.%m.%Y}" if value else ""


def document_title(invoice: Invoice) -> str:
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        return "Gutschrift"
    if invoice.kind == DocumentKind.SUPPLEMENTARY:
        return "Nachberechnung"
    return "Rechnung"


def pdf_filename(invoice: Invoice) -> str:
    return f"{invoice.number}.pdf"


class _DocumentPDF(FPDF):
    def __init__(self, invoice: Invoice):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.invoice = invoice
        self.seller = settings.SELLER
        self.core_fonts_encoding = ENCODING
        self.set_margins(20, 15, 20)
        self.set_auto_page_break(auto=True, margin=25)

    def footer(self) -> None:
        seller = self.seller
        self.set_y(-20)
        self.set_font("Helvetica", size=7)
        self.set_text_color(*GREY)
        self.multi_cell(
            0,
            3.5,
            _t(
                f"{seller['name']} · {seller['street']} · {seller['postal_code']} {seller['city']} · "
                f"USt-IdNr. {seller['vat_id']}\n{seller['bank']} · IBAN {_group_iban(seller['iban'])} · BIC {seller['bic']}"
            ),
            align="C",
        )
        self.set_y(-10)
        self.cell(0, 4, _t(f"{self.invoice.number} · Seite {self.page_no()} von {{nb}}"), align="R")
        self.set_text_color(0, 0, 0)


def invoice_pdf(invoice: Invoice) -> bytes:
    """The document as a German A4 PDF."""
    pdf = _DocumentPDF(invoice)
    seller = settings.SELLER
    title = document_title(invoice)
    issued = datetime.combine(invoice.issue_date, time(12, 0), tzinfo=UTC)
    pdf.set_creation_date(issued)
    pdf.set_title(_t(f"{title} {invoice.number}"))
    pdf.set_author(_t(seller["name"]))
    pdf.set_subject(_t(f"{title} an {invoice.buyer_name}"))
    pdf.set_creator("ozg-shop")
    pdf.set_lang("de-DE")
    pdf.add_page()
    lines = document_lines(invoice)

    _letterhead(pdf, seller)
    _addresses(pdf, invoice, seller, title)
    pdf.set_xy(20, 102)
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 8, _t(f"{title} {invoice.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    if invoice.references_id:
        ref = invoice.references
        what = "Gutschrift" if invoice.is_credit_note else "Nachberechnung"
        pdf.cell(
            0,
            5,
            _t(f"{what} zur Rechnung {ref.number} vom {_date(ref.issue_date)}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if invoice.reason:
        pdf.ln(1)
        pdf.multi_cell(0, 5, _t(invoice.reason), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _line_table(pdf, invoice, lines)
    _totals(pdf, invoice)
    _payment(pdf, invoice, seller)
    if invoice.provisional:
        pdf.ln(2)
        pdf.set_font("Helvetica", size=8.5)
        pdf.multi_cell(
            0,
            4,
            _t(
                f"Positionen mit dem Vermerk „{PROVISIONAL_NOTE}“ sind unter dem Vorbehalt des "
                "Haushaltsbeschlusses gefördert. Wird die Förderung abgelehnt, wird der "
                "Förderbetrag mit einer Nachberechnung in Rechnung gestellt."
            ),
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


def _letterhead(pdf: FPDF, seller: dict) -> None:
    pdf.set_xy(20, 15)
    pdf.set_text_color(*BRAND)
    pdf.set_font("Helvetica", "B", 13)
    pdf.multi_cell(95, 6, _t(seller["name"]), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*GREY)
    pdf.set_font("Helvetica", size=8.5)
    pdf.multi_cell(95, 4, _t(seller.get("legal_form", "")), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(125, 15)
    pdf.multi_cell(
        65,
        4,
        _t(
            f"{seller['street']}\n{seller['postal_code']} {seller['city']}\n"
            f"Telefon {seller['phone']}\n{seller['email']}\nUSt-IdNr. {seller['vat_id']}"
        ),
        align="R",
    )
    pdf.set_text_color(0, 0, 0)


def _addresses(pdf: FPDF, invoice: Invoice, seller: dict, title: str) -> None:
    # Return line and recipient fit the window of a DIN 5008 envelope (form B).
    pdf.set_xy(20, 50)
    pdf.set_font("Helvetica", "U", 7)
    pdf.set_text_color(*GREY)
    pdf.cell(85, 4, _t(f"{seller['name']} · {seller['street']} · {seller['postal_code']} {seller['city']}"))
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(20, 56)
    pdf.set_font("Helvetica", size=10)
    recipient = [
        invoice.buyer_name,
        invoice.buyer_street,
        f"{invoice.buyer_postal_code} {invoice.buyer_city}".strip(),
    ]
    pdf.multi_cell(85, 5, _t("\n".join(part for part in recipient if part)), align="L")

    facts = [
        (f"{title}snummer" if title != "Nachberechnung" else "Rechnungsnummer", invoice.number),
        ("Datum", _date(invoice.issue_date)),
        ("Leistungszeitraum", f"{_date(invoice.service_start)} – {_date(invoice.service_end)}"),
    ]
    if not invoice.is_credit_note:
        facts.append(("Fällig am", _date(invoice.due_date)))
    if invoice.buyer_leitweg_id:
        facts.append(("Leitweg-ID", invoice.buyer_leitweg_id))
    facts.append(("Kundennummer (AGS)", invoice.buyer_ags))
    if invoice.references_id:
        facts.append(("Bezug", invoice.references.number))
    y = 56
    for label, value in facts:
        pdf.set_xy(120, y)
        pdf.set_font("Helvetica", size=8.5)
        pdf.set_text_color(*GREY)
        pdf.cell(32, 5, _t(label))
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("Helvetica", "B" if label.endswith("nummer") else "", 9)
        pdf.cell(38, 5, _t(value))
        y += 5


def _line_text(line) -> str:
    parts = [line.description, f"USt. {format_percent(line.vat_rate)}"]
    if line.explanation:
        parts.append(line.explanation)
    if line.provisional and PROVISIONAL_NOTE not in line.explanation:
        parts.append(f"Förderung {PROVISIONAL_NOTE}")
    return _t("\n".join(parts))


def _line_table(pdf: FPDF, invoice: Invoice, lines) -> None:
    pdf.set_font("Helvetica", size=8.5)
    headings = FontFace(emphasis="BOLD", fill_color=LIGHT)
    with pdf.table(
        col_widths=(9, 62, 25, 25, 24, 25),
        text_align=("RIGHT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=4,
        padding=(1.2, 1, 1.2, 1),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=headings,
        v_align="TOP",
    ) as table:
        row = table.row()
        for heading in ("Pos.", "Bezeichnung", "Zeitraum", "Listenpreis netto", "Förderung", "Netto"):
            row.cell(_t(heading))
        for line in lines:
            row = table.row()
            row.cell(str(line.position))
            row.cell(_line_text(line))
            period = (
                f"{_date(line.period_start)} –\n{_date(line.period_end)}"
                if line.period_start and line.period_end
                else "einmalig"
            )
            row.cell(_t(period))
            row.cell(_eur(line.list_net))
            row.cell(_eur(-line.subsidy) if line.subsidy else _eur(Decimal("0")))
            row.cell(_eur(line.net_due))


def _total_row(pdf: FPDF, label: str, value: str, *, bold: bool = False) -> None:
    pdf.set_x(90)
    pdf.set_font("Helvetica", "B" if bold else "", 10 if bold else 9)
    pdf.cell(70, 5.5, _t(label), align="R")
    pdf.cell(30, 5.5, value, align="R", new_x="LMARGIN", new_y="NEXT")


def _totals(pdf: FPDF, invoice: Invoice) -> None:
    pdf.ln(2)
    _total_row(pdf, "Summe Listenpreise netto", _eur(invoice.list_net))
    _total_row(pdf, "abzüglich Förderung", _eur(-invoice.subsidy))
    _total_row(pdf, "Summe netto", _eur(invoice.net_due))
    for group in invoice.vat_breakdown:
        rate, base, vat = Decimal(group["rate"]), Decimal(group["base"]), Decimal(group["vat"])
        _total_row(pdf, f"Umsatzsteuer {format_percent(rate)} auf {format_eur(base)}", _eur(vat))
    label = "Gutschriftsbetrag" if invoice.is_credit_note else "Rechnungsbetrag (brutto)"
    pdf.set_draw_color(0, 0, 0)
    pdf.line(120, pdf.get_y() + 0.5, 190, pdf.get_y() + 0.5)
    pdf.ln(1)
    _total_row(pdf, label, _eur(invoice.gross_due), bold=True)


def _payment(pdf: FPDF, invoice: Invoice, seller: dict) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, _t("Zahlung"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9.5)
    if invoice.is_credit_note:
        ref = invoice.references.number if invoice.references_id else ""
        text = (
            f"Den Betrag von {format_eur(invoice.gross_due)} verrechnen wir mit offenen Forderungen zur "
            f"Rechnung {ref} oder erstatten ihn auf Ihr Konto. Sie müssen nichts veranlassen."
        )
    elif invoice.settled_by_subsidy or invoice.gross_due <= 0:
        text = "Durch Förderung ausgeglichen – es ist nichts zu zahlen."
    else:
        text = (
            f"Bitte überweisen Sie {format_eur(invoice.gross_due)} bis zum {_date(invoice.due_date)} "
            f"ohne Abzug auf folgendes Konto:\n"
            f"Kontoinhaber: {seller['name']}\n"
            f"IBAN: {_group_iban(seller['iban'])} · BIC: {seller['bic']} · {seller['bank']}\n"
            f"Verwendungszweck: {invoice.number}"
        )
    pdf.multi_cell(0, 5, _t(text), align="L", new_x="LMARGIN", new_y="NEXT")


def _group_iban(iban: str) -> str:
    plain = iban.replace(" ", "")
    return " ".join(plain[i : i + 4] for i in range(0, len(plain), 4))
