"""Reading settings from the environment (12-factor)."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "ja"}


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = env(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """``postgres://user:pass@host:port/name`` → a Django ``DATABASES`` entry (django-tenants backend)."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(f"DATABASE_URL muss auf PostgreSQL zeigen, nicht auf {parsed.scheme!r}.")
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    host = options.pop("host", None) or unquote(parsed.hostname or "")
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": unquote(parsed.path.lstrip("/")) or "ozg",
        "USER": unquote(parsed.username or "postgres"),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "OPTIONS": options,
    }


def database_url(settings_dict: dict) -> str:
    """A Django ``DATABASES`` entry → ``postgres://…``, for another process (a worker) to reach
    the same database; the inverse of :func:`database_from_url`. A Unix socket folder as host
    (the embedded server) goes into the ``host`` parameter."""
    from urllib.parse import quote

    db = settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    port = f":{db['PORT']}" if db["PORT"] else ""
    if db["HOST"].startswith("/"):
        return f"postgres://{credentials}@{port}/{quote(db['NAME'])}?host={quote(db['HOST'])}"
    return f"postgres://{credentials}@{db['HOST']}{port}/{quote(db['NAME'])}"
