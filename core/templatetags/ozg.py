"""Template filters for German money and dates."""

from decimal import Decimal, InvalidOperation

from django import template

from billing.domain.money import format_eur

register = template.Library()


@register.filter
def eur(value) -> str:
    """``Decimal("1234.5")`` → ``1.234,50 €``."""
    if value in (None, ""):
        return ""
    try:
        return format_eur(Decimal(str(value)))
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.filter
def neg_eur(value) -> str:
    """A discount shown as a negative amount: ``−1.200,00 €``."""
    if value in (None, ""):
        return ""
    return format_eur(-Decimal(str(value)))
