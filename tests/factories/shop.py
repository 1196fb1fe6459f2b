"""Factories for catalog objects (factory_boy)."""

from datetime import date
from decimal import Decimal

import factory

from shop.models import Assistant, AssistantCategory, AssistantStatus, Price

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["zustaendige_stelle", "kontakt_email"],
    "properties": {
        "zustaendige_stelle": {"type": "string", "title": "Zuständige Stelle", "minLength": 2},
        "kontakt_email": {"type": "string", "title": "Kontakt-E-Mail", "format": "email"},
        "gebuehr": {"type": "number", "title": "Gebühr in Euro", "minimum": 0},
        "epayment": {"type": "boolean", "title": "ePayment aktiv", "default": True},
    },
}


class AssistantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assistant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"assistent-{n}")
    title = factory.Sequence(lambda n: f"Testassistent {n}")
    short_description = "Online-Antrag für eine Verwaltungsleistung."
    description = "Ausführliche Beschreibung des Antragsassistenten."
    themenfeld = "Querschnitt"
    leika_keys = factory.LazyFunction(lambda: ["99050012104000"])
    category = AssistantCategory.CENTRAL
    status = AssistantStatus.AVAILABLE
    version = "1.0"
    config_schema = factory.LazyFunction(lambda: dict(CONFIG_SCHEMA))


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Price

    assistant = factory.SubFactory(AssistantFactory)
    fee_kind_id = "setup"
    net_amount = Decimal("1200.00")
    vat_rate = Decimal("19")
    valid_from = date(2022, 1, 1)
    valid_until = None
    population_min = 0
    population_max = None
