"""Long-running work shown with a progress bar (imports, onboarding, billing runs)."""

from django.conf import settings
from django.db import models


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "wartet"
        RUNNING = "running", "läuft"
        DONE = "done", "fertig"
        FAILED = "failed", "fehlgeschlagen"

    kind = models.CharField("Art", max_length=50)
    label = models.CharField("Bezeichnung", max_length=200)
    status = models.CharField("Status", max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField("gesamt", default=0)
    done = models.PositiveIntegerField("erledigt", default=0)
    message = models.TextField("Meldung", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField("angelegt", auto_now_add=True)
    finished = models.DateTimeField("beendet", null=True, blank=True)

    class Meta:
        verbose_name = "Auftrag im Hintergrund"
        verbose_name_plural = "Aufträge im Hintergrund"
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.label

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def as_dict(self) -> dict:
        return {
            "id": self.pk,
            "label": self.label,
            "status": self.status,
            "status_label": self.get_status_display(),
            "total": self.total,
            "done": self.done,
            "percent": self.percent,
            "message": self.message,
        }
