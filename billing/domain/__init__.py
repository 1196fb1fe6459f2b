"""Pure billing domain: money, funding programmes and subsidy quotes.

No Django imports here or below: the rules of ``shared/FUNDING.md`` must be
importable and testable without settings or a database.
"""

from billing.domain.money import (
    CENT,
    format_eur,
    format_percent,
    parse_amount,
    round_money,
)
from billing.domain.subsidy import (
    AppliedTranche,
    Category,
    InvoiceTotals,
    LineQuote,
    OneTimeLine,
    PeriodLine,
    Programme,
    Tranche,
    TrancheStatus,
    VatGroup,
    allocate_cap,
    apply_caps,
    calendar_year_periods,
    days_inclusive,
    invoice_totals,
    quote_line,
    saxony_programme,
    year_days,
)

__all__ = [
    "CENT",
    "AppliedTranche",
    "Category",
    "InvoiceTotals",
    "LineQuote",
    "OneTimeLine",
    "PeriodLine",
    "Programme",
    "Tranche",
    "TrancheStatus",
    "VatGroup",
    "allocate_cap",
    "apply_caps",
    "calendar_year_periods",
    "days_inclusive",
    "format_eur",
    "format_percent",
    "invoice_totals",
    "parse_amount",
    "quote_line",
    "round_money",
    "saxony_programme",
    "year_days",
]
