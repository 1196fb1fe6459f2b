"""What lives in a municipality's own schema."""

from django.conf import settings
from django.db import models


class Watch(models.Model):
    """A municipal user wants an e-mail when an announced assistant becomes available."""

    assistant = models.ForeignKey("shop.Assistant", on_delete=models.CASCADE, related_name="+", verbose_name="Assistent")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches")
    created = models.DateTimeField("angelegt", auto_now_add=True)
    notified = models.DateTimeField("benachrichtigt", null=True, blank=True)

    class Meta:
        verbose_name = "Merkliste-Eintrag"
        verbose_name_plural = "Merkliste"
        constraints = [models.UniqueConstraint(fields=["assistant", "user"], name="watch_once_per_user")]

    def __str__(self) -> str:
        return f"{self.user} → {self.assistant_id}"
