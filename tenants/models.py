"""The municipality is the tenant: each one has its own PostgreSQL schema."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from .validators import validate_ags, validate_leitweg_id


class MunicipalityKind(models.TextChoices):
    GEMEINDE = "gemeinde", "Gemeinde"
    STADT = "stadt", "Stadt"
    KREISFREIE_STADT = "kreisfreie_stadt", "Kreisfreie Stadt"
    LANDKREIS = "landkreis", "Landkreis"
    VERBAND = "verband", "Verband"


class Municipality(TenantMixin):
    """A Gemeinde, Stadt, Landkreis or Verband that orders assistants (the tenant).

    The public tenant (schema ``public``) is the association itself; its row has
    kind ``verband`` and AGS ``00000000``.
    """

    official_name = models.CharField("amtlicher Name", max_length=200)
    short_name = models.CharField("Kurzname", max_length=120)
    ags = models.CharField(
        "AGS",
        max_length=8,
        unique=True,
        help_text="Amtlicher Gemeindeschlüssel, 8 Ziffern",
    )
    kind = models.CharField("Art", max_length=20, choices=MunicipalityKind.choices)
    district = models.CharField("Kreis", max_length=200, blank=True)
    population = models.PositiveIntegerField("Einwohner", default=0, validators=[MinValueValidator(0)])
    leitweg_id = models.CharField(
        "Leitweg-ID",
        max_length=46,
        blank=True,
        validators=[validate_leitweg_id],
        help_text="Adresse für E-Rechnungen (XRechnung BuyerReference)",
    )
    invoice_recipient = models.CharField("Rechnungsempfänger", max_length=200, blank=True)
    invoice_street = models.CharField("Straße und Hausnummer", max_length=200, blank=True)
    invoice_postal_code = models.CharField("PLZ", max_length=5, blank=True)
    invoice_city = models.CharField("Ort", max_length=120, blank=True)
    contact_email = models.EmailField("Kontakt-E-Mail", blank=True)
    created = models.DateTimeField("angelegt", auto_now_add=True)
    updated = models.DateTimeField("geändert", auto_now=True)

    # Schemas are created by the onboarding service (cloned from a template), never on save().
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = "Kommune"
        verbose_name_plural = "Kommunen"
        ordering = ["short_name", "ags"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ags__regex=r"^[0-9]{8}$"), name="municipality_ags_8_digits"
            ),
        ]

    def __str__(self) -> str:
        return self.short_name

    def clean(self) -> None:
        super().clean()
        if not self.is_public:
            try:
                validate_ags(self.ags)
            except ValidationError as exc:
                raise ValidationError({"ags": exc.error_list}) from None

    @property
    def is_public(self) -> bool:
        return self.schema_name == "public"

    @property
    def primary_domain(self) -> str | None:
        for domain in self.domains.all():
            if domain.is_primary:
                return domain.domain
        return None


class Domain(DomainMixin):
    class Meta:
        verbose_name = "Domain"
        verbose_name_plural = "Domains"

    def __str__(self) -> str:
        return self.domain
