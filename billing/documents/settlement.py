"""Where a document stands: what was paid, credited and is still open (pure, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Settlement:
    code: str
    label: str
    paid: Decimal
    credited: Decimal
    outstanding: Decimal
    overdue: bool = False

    @property
    def tone(self) -> str:
        """The badge colour of the status (CSS class)."""
        if self.code in ("paid", "settled_by_subsidy", "credited", "nothing_due"):
            return "ok"
        if self.code in ("credit_note", "overpaid"):
            return "info"
        return "err" if self.overdue else "warn"


def settlement(
    *,
    is_credit_note: bool,
    gross_due: Decimal,
    settled_by_subsidy: bool,
    paid: Decimal,
    credited: Decimal,
    due_date: date,
    today: date,
) -> Settlement:
    """The status of an issued document from the payments received and the credit notes issued
    against it. A credit note reduces what is open; an invoice whose whole amount was credited
    without payment is "gutgeschrieben", not "bezahlt"."""
    paid, credited = paid or ZERO, credited or ZERO
    if is_credit_note:
        return Settlement("credit_note", "Gutschrift", ZERO, ZERO, ZERO)
    if settled_by_subsidy:
        return Settlement("settled_by_subsidy", "durch Förderung ausgeglichen", paid, credited, ZERO)
    if gross_due <= 0:
        return Settlement("nothing_due", "kein Zahlbetrag", paid, credited, ZERO)
    outstanding = max(gross_due - paid - credited, ZERO)
    if outstanding == 0:
        if paid > 0 and paid + credited > gross_due:  # as the reconciliation list says
            return Settlement("overpaid", "überzahlt", paid, credited, ZERO)
        if paid > 0:
            return Settlement("paid", "bezahlt", paid, credited, ZERO)
        return Settlement("credited", "gutgeschrieben", paid, credited, ZERO)
    overdue = due_date < today
    if paid > 0:
        return Settlement("partly_paid", "teilweise bezahlt", paid, credited, outstanding, overdue)
    return Settlement("open", "offen", paid, credited, outstanding, overdue)
