from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from accounts.permissions import is_public, require

from .models import Job


def home(request: HttpRequest) -> HttpResponse:
    tenant = getattr(request, "tenant", None)
    template = "core/home_public.html" if is_public(tenant) else "core/home_tenant.html"
    return render(request, template)


def ping(request: HttpRequest) -> HttpResponse:
    """A minimal response through the full middleware stack: the benchmarks' baseline."""
    return HttpResponse("pong", content_type="text/plain; charset=utf-8")


def _broker_state() -> str:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any broker failure is reported, not raised
        return f"Fehler: {exc.__class__.__name__}"


def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker state, for load balancers and compose healthchecks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception as exc:  # noqa: BLE001
        database = f"Fehler: {exc.__class__.__name__}"
    broker = _broker_state()
    healthy = database == "ok" and broker == "ok"
    return JsonResponse(
        {
            "status": "ok" if healthy else "gestört",
            "database": database,
            "broker": broker,
            "broker_transport": settings.CELERY_BROKER_URL.split(":", 1)[0],
        },
        status=200 if healthy else 503,
    )


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", status=404)


def forbidden(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


@require("staff.area")
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    return render(request, "core/job_detail.html", {"job": job})


@require("staff.area")
def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = get_object_or_404(Job, pk=pk)
    return JsonResponse(job.as_dict())
