"""The Celery app. Tasks carry the schema they were sent from (tenant-schemas-celery)."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("ozg")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def private_filesystem_broker(data_dir) -> dict:
    """The filesystem transport's options with its folders moved under ``data_dir`` (created),
    as a worker started with ``OZG_DATA_DIR=data_dir`` derives them: tests and benchmarks get a
    broker of their own, so a running demo worker neither takes their messages nor leaves its own."""
    from pathlib import Path

    from django.conf import settings

    shared, own = str(settings.BROKER_DIR), str(Path(data_dir) / "broker")
    options = {
        key: value.replace(shared, own, 1) if isinstance(value, str) else value
        for key, value in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items()
    }
    for value in options.values():
        if isinstance(value, str) and value.startswith(own):
            Path(value).mkdir(parents=True, exist_ok=True)
    return options
