"""EUR amounts: ``Decimal`` only, rounded half up, written the German way.

FUNDING.md: all amounts are EUR ``Decimal`` with 2 places; intermediate
results are not rounded; each result is rounded half up (kaufmännisch) once.
Floats never enter: a float cannot hold 0,10 € exactly, so every public
function here raises ``TypeError`` on one instead of converting silently.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal

__all__ = [
    "CENT",
    "MINUS_SIGN",
    "ZERO",
    "as_decimal",
    "format_eur",
    "format_percent",
    "parse_amount",
    "round_money",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
#: Typographic minus (U+2212) for negative amounts in German text.
MINUS_SIGN = "\u2212"

# Wide enough that quantize never fails on large but legitimate amounts; the
# default context (28 digits) would raise InvalidOperation from 10**26 € on.
_CONTEXT = Context(prec=60, rounding=ROUND_HALF_UP)


def as_decimal(value: object, what: str = "Betrag") -> Decimal:
    """Return ``value`` as a finite ``Decimal``; ints are accepted as exact.

    Raises ``TypeError`` for floats (and anything else that is not a Decimal
    or int) and ``ValueError`` for NaN/Infinity. ``what`` names the value in
    the German error message.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"Ungültiger {what}: {value}")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        raise TypeError(
            f"{what} als Decimal angeben, nicht als float ({value!r}): "
            "float kann Cent-Beträge nicht exakt darstellen"
        )
    raise TypeError(f"{what} muss ein Decimal sein, nicht {type(value).__name__}")


def round_money(x: Decimal | int) -> Decimal:
    """Round to cents, half up (ties away from zero): 0.005 → 0.01, −0.005 → −0.01."""
    return as_decimal(x).quantize(CENT, rounding=ROUND_HALF_UP, context=_CONTEXT)


# German separators are the English ones swapped.
_SWAP_SEPARATORS = str.maketrans(",.", ".,")


def format_eur(x: Decimal | int) -> str:
    """German amount text: ``1.234,56 €``, ``−1.234,56 €`` (U+2212), rounded half up."""
    q = round_money(x)
    sign = MINUS_SIGN if q < 0 else ""  # -0.00 is not < 0, so no "−0,00 €"
    return f"{sign}{abs(q):,.2f} €".translate(_SWAP_SEPARATORS)


def format_percent(x: Decimal | int) -> str:
    """Percent the German way without needless zeros: ``100 %``, ``50,5 %``."""
    value = as_decimal(x, "Prozentsatz")
    if value == 0:
        return "0 %"
    # normalize() drops trailing zeros (50.50 → 50.5); format "f" undoes the
    # exponent normalize() introduces for integers (100 → 1E+2 → "100").
    text = format(abs(value).normalize(), "f").replace(".", ",")
    sign = MINUS_SIGN if value < 0 else ""
    return f"{sign}{text} %"


_AMOUNT_RE = re.compile(
    r"""
    (?P<sign>[-+\u2212])?
    (?:
        # German: optional dot thousands groups, optional comma and 1-2 decimals
        (?P<de_int>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<de_frac>\d{1,2}))?
      |
        # Plain decimal point, as scripts and the admin's CSV write it
        (?P<pt_int>\d+)\.(?P<pt_frac>\d{1,2})
    )
    (?:[\s\u00a0\u202f]*(?:€|EUR))?
    """,
    re.VERBOSE | re.ASCII,  # ASCII: \d must not accept digits of other scripts
)
_AMBIGUOUS_RE = re.compile(r"[-+\u2212]?\d{1,3}\.\d{3}(?:[\s\u00a0\u202f]*(?:€|EUR))?", re.ASCII)


def parse_amount(s: str) -> Decimal:
    """Parse an EUR amount typed by a person or a script, exact to the cent.

    Accepted: ``1234.56``, ``1.234,56``, ``1234,56``, ``1234``, optionally
    signed (``-`` or ``−``) and followed by ``€``/``EUR``; what
    :func:`format_eur` writes parses back to the same value. More than two
    decimals, exponents, NaN and anything else raise ``ValueError``.

    ``1.234`` (one dot, three digits, no comma) is rejected as ambiguous: a
    German reads 1234 €, a script 1,234 €; guessing wrong is a factor of 1000.
    ``1.234.567`` is unambiguous and reads as 1234567.
    """
    if not isinstance(s, str):
        raise TypeError(f"Betrag muss als Text übergeben werden, nicht {type(s).__name__}")
    text = s.strip()
    if _AMBIGUOUS_RE.fullmatch(text):
        raise ValueError(f"Ungültiger Betrag: {s!r} ist mehrdeutig – bitte 1234.00 oder 1.234,00 schreiben")
    match = _AMOUNT_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"Ungültiger Betrag: {s!r}")
    if match["de_int"] is not None:
        integer, fraction = match["de_int"].replace(".", ""), match["de_frac"] or ""
    else:
        integer, fraction = match["pt_int"], match["pt_frac"]
    sign = "-" if match["sign"] in ("-", MINUS_SIGN) else ""
    return Decimal(f"{sign}{integer}.{fraction.ljust(2, '0')}")
