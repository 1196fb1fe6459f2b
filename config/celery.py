"""The Celery app. Tasks carry the schema they were sent from (tenant-schemas-celery)."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("ozg")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
