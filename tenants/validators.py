"""Official keys of German public administration.

- **AGS** (Amtlicher Gemeindeschlüssel): 8 digits; the first two name the Land
  (01 Schleswig-Holstein … 16 Thüringen, 14 = Sachsen), then Regierungsbezirk,
  Kreis and Gemeinde.
- **Leitweg-ID**: the routing address of a public buyer for e-invoices
  (XRechnung BuyerReference), KoSIT "Formatspezifikation Leitweg-ID":
  ``Grobadressierung[-Feinadressierung]-Prüfziffer``. Grobadressierung is 2 to
  12 digits, Feinadressierung up to 30 letters/digits, the check digit pair is
  ISO 7064 MOD 97-10 over the whole ID without hyphens (letters count as
  A=10 … Z=35, as in an IBAN).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError

LAND_CODES = {f"{code:02d}" for code in range(1, 17)}
_AGS_RE = re.compile(r"\d{8}")
_LEITWEG_RE = re.compile(r"(?P<grob>\d{2,12})(?:-(?P<fein>[0-9A-Za-z]{1,30}))?-(?P<check>\d{2})")


def validate_ags(value: str) -> None:
    if not isinstance(value, str) or not _AGS_RE.fullmatch(value):
        raise ValidationError(
            "Der AGS muss aus genau 8 Ziffern bestehen (z. B. 14713000).", code="ags_format"
        )
    if value[:2] not in LAND_CODES:
        raise ValidationError(
            "Der AGS beginnt mit %(prefix)s – das ist kein gültiger Landesschlüssel (01 bis 16).",
            code="ags_land",
            params={"prefix": value[:2]},
        )
    land = getattr(settings, "SHOP_LAND_CODE", "")
    if land and value[:2] != land:
        raise ValidationError(
            "Der AGS %(ags)s gehört nicht zu diesem Land (Landesschlüssel %(land)s erwartet).",
            code="ags_other_land",
            params={"ags": value, "land": land},
        )


def _mod97_digits(text: str) -> str:
    return "".join(str(int(ch, 36)) for ch in text.upper())


def leitweg_check_digits(body: str) -> str:
    """The two ISO 7064 MOD 97-10 check digits for a Leitweg-ID without its check part."""
    number = int(_mod97_digits(body.replace("-", "")) + "00")
    return f"{98 - number % 97:02d}"


def validate_leitweg_id(value: str) -> None:
    match = _LEITWEG_RE.fullmatch(value or "")
    if not match:
        raise ValidationError(
            "Die Leitweg-ID hat nicht das Format Grobadressierung-Feinadressierung-Prüfziffer "
            "(z. B. 14713000-12345-84).",
            code="leitweg_format",
        )
    body = value.rsplit("-", 1)[0]
    expected = leitweg_check_digits(body)
    if match["check"] != expected:
        raise ValidationError(
            "Die Prüfziffer der Leitweg-ID stimmt nicht (erwartet %(expected)s).",
            code="leitweg_check",
            params={"expected": expected},
        )
