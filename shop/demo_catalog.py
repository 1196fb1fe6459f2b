"""The demo catalog: 70 assistants built from real municipal services.

Service names, LeiKa keys and OZG Themenfelder come unchanged from
``data/leistungen.csv`` (KDN OZG database, see data/SOURCES.md). Categories,
statuses, configuration templates and **all prices are samples** for the demo
(``Price.is_sample``), not the association's real prices.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from .models import Assistant, AssistantCategory, AssistantStatus, Price

SOURCE = Path(settings.BASE_DIR) / "data" / "leistungen.csv"
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})

# Nationwide "Einer für Alle" services (sample assignment for the demo).
EFA_SERVICES = {
    "Wohngeld Bewilligung",
    "Baugenehmigung Erteilung",
    "Einbürgerung Genehmigung",
    "Führungszeugnis Erteilung",
}
# A municipality's own developments.
INDIVIDUAL_SERVICES = {"Osterfeuer Genehmigung", "Kurabgabe"}
# Residents' registration is the state-licensed VOIS|Online.Meldewesen (FUNDING.md).
MELDEWESEN = ("Wohnsitz Anmeldung", "Wohnsitz Abmeldung")
ANNOUNCED_FROM_ROW = 50  # rows from here on are announced (about 20), see _status()

# Sample prices per category: (setup up to 20,000 inhabitants, setup above, maintenance ≤20k, above).
SAMPLE_PRICES = {
    AssistantCategory.CENTRAL: (Decimal("1200.00"), Decimal("1800.00"), Decimal("480.00"), Decimal("720.00")),
    AssistantCategory.EFA: (Decimal("600.00"), Decimal("600.00"), Decimal("360.00"), Decimal("360.00")),
    AssistantCategory.STATE_LICENSED: (
        Decimal("2500.00"),
        Decimal("3500.00"),
        Decimal("960.00"),
        Decimal("1440.00"),
    ),
    AssistantCategory.INDIVIDUAL: (
        Decimal("4800.00"),
        Decimal("4800.00"),
        Decimal("1200.00"),
        Decimal("1200.00"),
    ),
}
BAND_LIMIT = 20_000
PRICE_PERIODS = (
    (date(2022, 1, 1), date(2024, 12, 31), Decimal("1.00")),
    (date(2025, 1, 1), None, Decimal("1.05")),
)


@dataclass(frozen=True)
class AssistantSpec:
    slug: str
    title: str
    short_description: str
    description: str
    themenfeld: str
    leika_keys: tuple[str, ...]
    category: str
    status: str
    expected_date: date | None
    config_schema: dict = field(hash=False)


def _slug(name: str) -> str:
    return slugify(name.translate(_UMLAUTS))[:80]


def _base_schema(title: str, *, fee: bool) -> dict:
    properties: dict = {
        "zustaendige_stelle": {
            "type": "string",
            "title": "Zuständige Stelle",
            "minLength": 2,
            "description": "Amt oder Sachgebiet, das die Anträge bearbeitet",
        },
        "kontakt_email": {"type": "string", "title": "Kontakt-E-Mail für Rückfragen", "format": "email"},
        "telefon": {"type": "string", "title": "Telefon", "pattern": r"^[0-9 +()/-]{6,30}$"},
        "epayment": {"type": "boolean", "title": "Gebühren per ePayment einziehen", "default": True},
    }
    required = ["zustaendige_stelle", "kontakt_email"]
    if fee:
        properties["gebuehr"] = {"type": "number", "title": "Gebühr in Euro", "minimum": 0, "maximum": 10000}
        required.append("gebuehr")
    return {
        "type": "object",
        "title": f"Einrichtung: {title}",
        "required": required,
        "properties": properties,
    }


def _specific_fields(name: str) -> dict:
    if name.startswith("Hundesteuer") or name.startswith("Hundehaltung"):
        return {
            "steuersatz_ersthund": {"type": "number", "title": "Steuersatz Ersthund (€/Jahr)", "minimum": 0}
        }
    if name.startswith("Bewohnerpark"):
        return {"parkzonen": {"type": "string", "title": "Bewohnerparkzonen (kommagetrennt)", "minLength": 1}}
    if name.startswith("Gewerbe"):
        return {
            "weiterleitung_ihk": {
                "type": "boolean",
                "title": "Automatisch an IHK/HWK weiterleiten",
                "default": True,
            }
        }
    if "Urkunde" in name or "urkunde" in name:
        return {"standesamt": {"type": "string", "title": "Standesamt", "minLength": 2}}
    if name.startswith("Wahl") or name.startswith("Briefwahl"):
        return {"wahlamt_adresse": {"type": "string", "title": "Anschrift des Wahlamts", "minLength": 5}}
    return {}


def _texts(name: str, category: str) -> tuple[str, str]:
    short = f"„{name}“ online beantragen – rund um die Uhr, mit Nachweis-Upload und Statusmitteilung."
    if category == AssistantCategory.EFA:
        detail = (
            "Bundesweiter Einer-für-Alle-Dienst (EfA), vom Verband für sächsische Kommunen angebunden. "
            "Die Kommune erhält die Anträge in ihrem Postfach."
        )
    elif category == AssistantCategory.STATE_LICENSED:
        detail = "Landeslizenziertes Fachverfahren mit Online-Zugang; Betrieb und Lizenz über den Freistaat Sachsen."
    elif category == AssistantCategory.INDIVIDUAL:
        detail = "Individuelle Eigenentwicklung für einzelne Kommunen; Umfang und Anpassungen nach Absprache."
    else:
        detail = (
            "Zentral entwickelt auf den E-Government-Basiskomponenten des Freistaats Sachsen "
            "(Amt24-Serviceportal, Formularservice, ePayment)."
        )
    description = (
        f"{short}\n\n{detail} Bürgerinnen, Bürger und Unternehmen füllen einen geführten Antrag aus; "
        "Pflichtangaben werden geprüft, Gebühren können online bezahlt werden, und die zuständige Stelle "
        "erhält einen vollständigen, medienbruchfreien Vorgang."
    )
    return short, description


def _status(index: int, category: str) -> tuple[str, date | None]:
    if index >= ANNOUNCED_FROM_ROW and category == AssistantCategory.CENTRAL:
        month = 1 + (index - ANNOUNCED_FROM_ROW) % 12
        return AssistantStatus.ANNOUNCED, date(2027, month, 1)
    return AssistantStatus.AVAILABLE, None


def build_specs(source: Path = SOURCE) -> list[AssistantSpec]:
    """The 70 demo assistants (pure: reads only the CSV)."""
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    specs: list[AssistantSpec] = []
    meldewesen_keys = tuple(row["leika"] for row in rows if row["name"] in MELDEWESEN and row["leika"])
    for index, row in enumerate(rows, start=1):
        name = row["name"]
        if name in MELDEWESEN:
            continue
        if name in EFA_SERVICES:
            category = AssistantCategory.EFA
        elif name in INDIVIDUAL_SERVICES:
            category = AssistantCategory.INDIVIDUAL
        else:
            category = AssistantCategory.CENTRAL
        status, expected = _status(index, category)
        short, description = _texts(name, category)
        schema = _base_schema(
            name, fee=not name.startswith(("Mängel", "Straßenschaden", "Störung", "Entfernung"))
        )
        schema["properties"].update(_specific_fields(name))
        specs.append(
            AssistantSpec(
                slug=_slug(name),
                title=name,
                short_description=short,
                description=description,
                themenfeld=row["themenfeld"],
                leika_keys=(row["leika"],) if row["leika"] else (),
                category=category,
                status=status,
                expected_date=expected,
                config_schema=schema,
            )
        )
    for title, slug, keys in (
        ("VOIS|Online.Meldewesen – Wohnsitz An- und Abmeldung", "vois-online-meldewesen", meldewesen_keys),
        ("eKOL-KFZ – Fahrzeugzulassung online", "ekol-kfz", ()),
    ):
        short, description = _texts(title, AssistantCategory.STATE_LICENSED)
        schema = _base_schema(title, fee=True)
        specs.append(
            AssistantSpec(
                slug=slug,
                title=title,
                short_description=short,
                description=description,
                themenfeld="Bauen & Wohnen" if keys else "Mobilität & Reisen",
                leika_keys=keys,
                category=AssistantCategory.STATE_LICENSED,
                status=AssistantStatus.AVAILABLE,
                expected_date=None,
                config_schema=schema,
            )
        )
    return specs


def _sample_prices(spec: AssistantSpec) -> list[dict]:
    setup_small, setup_large, maint_small, maint_large = SAMPLE_PRICES[AssistantCategory(spec.category)]
    banded = setup_small != setup_large or maint_small != maint_large
    bands = [(0, BAND_LIMIT, 0), (BAND_LIMIT + 1, None, 1)] if banded else [(0, None, 0)]
    prices = []
    for valid_from, valid_until, factor in PRICE_PERIODS:
        for low, high, which in bands:
            for kind, amounts in (
                ("setup", (setup_small, setup_large)),
                ("maintenance", (maint_small, maint_large)),
            ):
                prices.append(
                    {
                        "fee_kind_id": kind,
                        "net_amount": (amounts[which] * factor).quantize(Decimal("1")),
                        "valid_from": valid_from,
                        "valid_until": valid_until,
                        "population_min": low,
                        "population_max": high,
                    }
                )
    if spec.category == AssistantCategory.INDIVIDUAL:
        prices.append(
            {
                "fee_kind_id": "customization",
                "net_amount": Decimal("95.00"),
                "valid_from": date(2022, 1, 1),
                "valid_until": None,
                "population_min": 0,
                "population_max": None,
            }
        )
    return prices


@transaction.atomic
def demo_catalog_load() -> tuple[int, int]:
    """Create the demo catalog (idempotent: existing assistants and prices are left as they are)."""
    created_assistants = created_prices = 0
    for spec in build_specs():
        assistant, created = Assistant.objects.get_or_create(
            slug=spec.slug,
            defaults={
                "title": spec.title,
                "short_description": spec.short_description,
                "description": spec.description,
                "themenfeld": spec.themenfeld,
                "leika_keys": list(spec.leika_keys),
                "category": spec.category,
                "status": spec.status,
                "expected_date": spec.expected_date,
                "config_schema": spec.config_schema,
            },
        )
        if created:
            assistant.full_clean()
            created_assistants += 1
        for values in _sample_prices(spec):
            _, made = Price.objects.get_or_create(
                assistant=assistant,
                fee_kind_id=values["fee_kind_id"],
                valid_from=values["valid_from"],
                population_min=values["population_min"],
                defaults={**values, "is_sample": True},
            )
            created_prices += made
    return created_assistants, created_prices
