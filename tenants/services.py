"""Onboarding municipalities: the row, its cloned schema, its domain and first admin."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.text import slugify
from django_tenants.utils import schema_context

from accounts.roles import Role

from .models import Domain, Municipality, MunicipalityKind
from .schema_clone import clone_schema

logger = logging.getLogger("ozg.tenants")

PUBLIC_AGS = "00000000"
_UMLAUTS = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "Ä": "Ae",
        "Ö": "Oe",
        "Ü": "Ue",
        "ß": "ss",
        "ł": "l",
        "Ł": "L",
        "/": " ",
        ".": " ",
    }
)


def short_name_of(official_name: str) -> str:
    """Destatis names carry suffixes after a comma ("Leipzig, Stadt"); the display name is before it."""
    return official_name.split(",", 1)[0].strip()


def municipality_slug(short_name: str, kind: str) -> str:
    text = unicodedata.normalize("NFC", short_name).translate(_UMLAUTS)
    slug = slugify(text)
    if kind == MunicipalityKind.LANDKREIS and "kreis" not in slug:
        slug = f"landkreis-{slug}"
    return slug[:50].strip("-") or "kommune"


def schema_name_for(ags: str) -> str:
    return f"m_{ags}"


def routing_cache_key(hostname: str) -> str:
    return f"tenant-route:{hostname}"


@dataclass(frozen=True)
class MunicipalityData:
    ags: str
    official_name: str
    kind: str
    district: str = ""
    population: int = 0
    short_name: str = ""
    leitweg_id: str = ""
    contact_email: str = ""
    invoice_recipient: str = ""
    invoice_street: str = ""
    invoice_postal_code: str = ""
    invoice_city: str = ""

    def fields(self) -> dict:
        values = {
            "official_name": self.official_name.strip(),
            "short_name": (self.short_name or short_name_of(self.official_name)).strip(),
            "kind": self.kind,
            "district": self.district.strip(),
            "population": self.population,
        }
        for name in (
            "leitweg_id",
            "contact_email",
            "invoice_recipient",
            "invoice_street",
            "invoice_postal_code",
            "invoice_city",
        ):
            if getattr(self, name):
                values[name] = getattr(self, name).strip()
        return values


@dataclass(frozen=True)
class OnboardResult:
    municipality: Municipality
    created: bool
    changed: bool
    domain: str


def ensure_public_tenant() -> Municipality:
    """The association itself: the public schema and the base domain."""
    public, _ = Municipality.objects.get_or_create(
        schema_name="public",
        defaults={
            "official_name": "Zweckverband Kommunale Informationsverarbeitung Sachsen (KISA)",
            "short_name": "KISA",
            "ags": PUBLIC_AGS,
            "kind": MunicipalityKind.VERBAND,
        },
    )
    for name in {settings.SHOP_BASE_DOMAIN, "127.0.0.1"}:
        Domain.objects.get_or_create(
            domain=name, defaults={"tenant": public, "is_primary": name == settings.SHOP_BASE_DOMAIN}
        )
    return public


def _free_domain(slug: str, municipality: Municipality) -> str:
    base = settings.SHOP_BASE_DOMAIN
    candidates = [
        slug,
        f"{slug}-{slugify(municipality.district.translate(_UMLAUTS))}",
        f"{slug}-{municipality.ags}",
    ]
    for candidate in candidates:
        domain = f"{candidate.strip('-')}.{base}"
        owner = Domain.objects.filter(domain=domain).values_list("tenant_id", flat=True).first()
        if owner is None or owner == municipality.pk:
            return domain
    raise ValidationError(f"Für {municipality} ist keine freie Domain zu finden.")


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


@transaction.atomic
def municipality_onboard(
    *,
    data: MunicipalityData,
    admin_email: str | None = None,
    admin_name: str = "",
    send_invitation: bool = True,
) -> OnboardResult:
    """Create or update a municipality; create its schema and domain if missing. Idempotent.

    Raises ``ValidationError`` (German messages) and then changes nothing.
    """
    fields = data.fields()
    municipality = Municipality.objects.select_for_update().filter(ags=data.ags).first()
    created = municipality is None
    changed = created
    if created:
        municipality = Municipality(ags=data.ags, schema_name=schema_name_for(data.ags), **fields)
    else:
        for name, value in fields.items():
            if getattr(municipality, name) != value:
                setattr(municipality, name, value)
                changed = True
    if created:
        # AGS (and with it the schema name) was just looked up under lock: the unique and
        # check constraints need no extra queries here, the database still enforces them.
        municipality.full_clean(exclude=["schema_name"], validate_unique=False, validate_constraints=False)
    else:
        municipality.full_clean()
    if changed:
        municipality.save()

    if created or not _schema_exists(municipality.schema_name):
        clone_schema(municipality.schema_name)
        changed = True
    domain = (
        None
        if created
        else municipality.domains.filter(is_primary=True).values_list("domain", flat=True).first()
    )
    if domain is None:
        domain = _free_domain(municipality_slug(municipality.short_name, municipality.kind), municipality)
        # bulk_create: a first domain needs none of DomainMixin.save()'s primary-flag bookkeeping
        Domain.objects.bulk_create([Domain(domain=domain, tenant=municipality, is_primary=True)])
        changed = True
    cache.delete(routing_cache_key(domain))

    email = admin_email or ""
    if email:
        from accounts.models import User
        from accounts.services import base_url_for, user_invite

        with schema_context(municipality.schema_name):
            if not User.objects.filter(email__iexact=email).exists():
                user_invite(
                    email=email,
                    full_name=admin_name,
                    roles=[Role.MUNICIPAL_ADMIN],
                    base_url=base_url_for(domain),
                    organisation=municipality.short_name,
                    send=send_invitation,
                )
                changed = True
    if created:
        logger.info("Kommune %s (%s) angelegt: %s", municipality, municipality.ags, domain)
    return OnboardResult(municipality=municipality, created=created, changed=changed, domain=domain)
