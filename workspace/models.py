"""What lives in a municipality's own schema."""

from django.conf import settings
from django.db import models


class Watch(models.Model):
    """A municipal user wants an e-mail when an announced assistant becomes available."""

    assistant = models.ForeignKey(
        "shop.Assistant", on_delete=models.CASCADE, related_name="+", verbose_name="Assistent"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches")
    created = models.DateTimeField("angelegt", auto_now_add=True)
    notified = models.DateTimeField("benachrichtigt", null=True, blank=True)

    class Meta:
        verbose_name = "Merkliste-Eintrag"
        verbose_name_plural = "Merkliste"
        constraints = [models.UniqueConstraint(fields=["assistant", "user"], name="watch_once_per_user")]

    def __str__(self) -> str:
        return f"{self.user} → {self.assistant_id}"


class InstanceStatus(models.TextChoices):
    CONFIGURING = "configuring", "einzurichten"
    READY = "ready", "eingerichtet"
    DEACTIVATED = "deactivated", "deaktiviert"


class AssistantInstance(models.Model):
    """A provisioned assistant in the municipality's own schema, created from the catalog's template.

    ``order_line`` is unique: whatever happens to the worker, one order line yields one instance.
    """

    order_line = models.OneToOneField("shop.OrderLine", on_delete=models.PROTECT, related_name="+")
    assistant = models.ForeignKey(
        "shop.Assistant", on_delete=models.PROTECT, related_name="+", verbose_name="Assistent"
    )
    title = models.CharField("Titel", max_length=200)
    version = models.CharField("Version", max_length=20)
    status = models.CharField(
        "Status", max_length=12, choices=InstanceStatus.choices, default=InstanceStatus.CONFIGURING
    )
    activated_on = models.DateField("aktiv seit")
    deactivated_on = models.DateField("deaktiviert am", null=True, blank=True)
    config_schema = models.JSONField("Konfigurationsvorlage")
    configuration = models.JSONField("Konfiguration", default=dict, blank=True)
    configured_at = models.DateTimeField("eingerichtet am", null=True, blank=True)
    configured_by_email = models.EmailField("eingerichtet von", blank=True)
    created = models.DateTimeField("angelegt", auto_now_add=True)

    class Meta:
        verbose_name = "Assistent der Kommune"
        verbose_name_plural = "Assistenten der Kommune"
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
