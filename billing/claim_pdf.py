"""The subsidy claim's summary as PDF (fpdf2): totals per municipality, per quarter and overall
(granted by invoices of the period − reclaimed by credit notes and rebillings of the period),
and the reclaims one by one.

fpdf2's core fonts (Helvetica) print Latin-1 only: "€" is written "EUR", typographic quotes,
dashes and the minus sign become their ASCII forms, anything else a "?".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from billing.domain.money import format_eur

from .selectors_finance import Claim

_ASCII = str.maketrans(
    {
        "€": "EUR",
        "„": '"',
        "“": '"',
        "”": '"',
        "‚": "'",
        "‘": "'",
        "’": "'",
        "–": "-",
        "—": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u202f": " ",
        "…": "...",
    }
)


def latin1(text: object) -> str:
    """Text the core fonts can print."""
    return str(text).translate(_ASCII).encode("latin-1", errors="replace").decode("latin-1")


def money(amount: Decimal) -> str:
    return latin1(format_eur(amount))


class _ClaimPDF(FPDF):
    title_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(80)
        self.cell(0, 5, latin1(self.title_text), align="L")
        self.cell(0, 5, f"Seite {self.page_no()} von {{nb}}", align="R")


def claim_pdf(claim: Claim, *, today: date) -> bytes:
    """The claim's summary for the funder."""
    pdf = _ClaimPDF(orientation="P", unit="mm", format="A4")
    tranche = claim.tranche.name if claim.tranche else "alle Tranchen"
    period = f"{claim.date_from:%d.%m.%Y} bis {claim.date_to:%d.%m.%Y}"
    pdf.title_text = f"Förderabruf {claim.programme.name}, {tranche}, {period}"
    pdf.set_title(latin1(pdf.title_text))
    pdf.set_author(latin1(settings.SELLER["name"]))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()

    def heading(text: str, size: int = 12) -> None:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", size)
        pdf.cell(0, 7, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", size=9)

    def line(text: str, bold: bool = False) -> None:
        pdf.set_font("Helvetica", "B" if bold else "", 9)
        pdf.multi_cell(0, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    heading("Förderabruf", 16)
    line(f"{claim.programme.name} – Fördermittelgeber: {claim.programme.funder}")
    line(f"Tranche: {tranche}; Belegdatum {period}")
    line(
        f"Antragsteller: {settings.SELLER['name']}, {settings.SELLER['street']}, "
        f"{settings.SELLER['postal_code']} {settings.SELLER['city']}"
    )
    line(f"Erstellt am {today:%d.%m.%Y}")

    total = claim.total
    heading("Gesamt")
    with pdf.table(col_widths=(110, 30, 50), text_align=("LEFT", "RIGHT", "RIGHT")) as table:
        table.row(["", "Positionen", "Betrag"])
        table.row(["Förderung aus Rechnungen des Zeitraums", str(total.grants), money(total.granted)])
        table.row(
            [
                "Rückforderungen aus Gutschriften und Nachberechnungen des Zeitraums",
                str(total.reclaims),
                money(total.reclaim_sum),
            ]
        )
        table.row(["Förderbetrag gesamt", str(total.count), money(total.amount)])
        table.row(["davon vorbehaltlich Haushaltsbeschluss", "", money(total.provisional)])
    if claim.rejected_pending.count:
        line(
            f"Hinweis: {claim.rejected_pending.count} Position(en) über "
            f"{format_eur(claim.rejected_pending.amount)} stammen aus einer abgelehnten Tranche, "
            "sind nicht abgerufen und noch nicht nachberechnet.",
            bold=True,
        )

    heading("Summen je Kommune")
    with pdf.table(
        col_widths=(50, 20, 12, 27, 27, 27, 27),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
    ) as table:
        table.row(["Kommune", "AGS", "Pos.", "Förderung", "Rückforderung", "Betrag", "davon vorbehaltlich"])
        for row in [*claim.by_municipality, total]:
            table.row(
                [
                    latin1(row.label),
                    row.ags,
                    str(row.count),
                    money(row.granted),
                    money(row.reclaim_sum),
                    money(row.amount),
                    money(row.provisional),
                ]
            )

    heading("Summen je Quartal (Belegdatum)")
    with pdf.table(
        col_widths=(40, 18, 33, 33, 33, 33),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
    ) as table:
        table.row(["Quartal", "Pos.", "Förderung", "Rückforderung", "Betrag", "davon vorbehaltlich"])
        for row in [*claim.by_quarter, total]:
            table.row(
                [
                    row.label,
                    str(row.count),
                    money(row.granted),
                    money(row.reclaim_sum),
                    money(row.amount),
                    money(row.provisional),
                ]
            )

    if claim.reclaims:
        heading("Rückforderungen")
        with pdf.table(
            col_widths=(34, 22, 34, 12, 58, 30),
            text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "LEFT", "RIGHT"),
        ) as table:
            table.row(["Beleg", "Datum", "zu Rechnung", "Pos.", "Kommune", "Betrag"])
            for row in claim.reclaims:
                table.row(
                    [
                        latin1(f"{row.document_kind_label} {row.document_number}"),
                        f"{row.document_date:%d.%m.%Y}",
                        row.invoice_number,
                        str(row.position),
                        latin1(row.municipality_name),
                        money(row.claim_amount),
                    ]
                )

    pdf.ln(4)
    line(
        "Beträge „vorbehaltlich Haushaltsbeschluss“ stammen aus Tranchen, über deren Finanzierung "
        "der Haushaltsgesetzgeber noch nicht entschieden hat. Förderung aus abgelehnten Tranchen ist "
        "nicht enthalten. Förderung, die nach ihrem Abruf gutgeschrieben oder nachberechnet wurde, "
        "wird im Zeitraum der Gutschrift oder Nachberechnung zurückgefordert. Die einzelnen "
        "Positionen enthält der Export als CSV oder XLSX."
    )
    return bytes(pdf.output())
