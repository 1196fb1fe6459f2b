"""E-mails about orders (German, text + HTML) to the municipality and to the association."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django_tenants.utils import tenant_context

from accounts.roles import Role
from accounts.services import base_url_for

from .models import Order

# event → (recipients, subject, lead sentence)
EVENTS = {
    "submitted": (
        "approvers",
        "Bestellung {number} wartet auf Ihre Freigabe",
        "{name} hat eine Bestellung eingereicht. Bitte prüfen Sie sie und geben Sie sie frei oder lehnen Sie sie ab.",
    ),
    "approved": (
        "submitter",
        "Bestellung {number} freigegeben",
        "Ihre Bestellung wurde freigegeben. Wir stellen die Assistenten bereit und melden uns, sobald sie eingerichtet werden können.",
    ),
    "rejected": (
        "submitter",
        "Bestellung {number} abgelehnt",
        "Ihre Bestellung wurde abgelehnt. Grund: {reason}",
    ),
    "provisioned": (
        "submitter_and_admins",
        "Bestellung {number} bereitgestellt",
        "Die bestellten Assistenten sind bereitgestellt. Bitte richten Sie sie unter „Meine Assistenten“ ein.",
    ),
    "failed": (
        "submitter_and_admins",
        "Bestellung {number}: Bereitstellung fehlgeschlagen",
        "Bei der Bereitstellung ist ein Fehler aufgetreten. Der Verband ist informiert und kümmert sich darum.",
    ),
    "review": (
        "association",
        "Bestellung {number} von {municipality} wartet auf Prüfung",
        "Die Bestellung enthält individuelle Entwicklungen und wartet auf die Prüfung durch den Verband.",
    ),
}


def _municipal_recipients(order: Order, who: str) -> list[str]:
    from accounts.models import User

    with tenant_context(order.municipality):
        users = User.objects.filter(is_active=True)
        if who == "approvers":
            return list(users.filter(roles__contains=[Role.APPROVER]).values_list("email", flat=True))
        admins = list(users.filter(roles__contains=[Role.MUNICIPAL_ADMIN]).values_list("email", flat=True))
    emails = [order.submitted_by_email]
    if who == "submitter_and_admins":
        emails += admins
    return sorted(set(emails))


def order_notify(*, order_id: int, event: str) -> int:
    order = Order.objects.select_related("municipality").get(pk=order_id)
    who, subject, lead = EVENTS[event]
    if who == "association":
        recipients = [settings.SHOP_STAFF_EMAIL]
        link = f"{base_url_for(settings.SHOP_BASE_DOMAIN)}/verwaltung/bestellungen/{order.pk}/"
    else:
        recipients = _municipal_recipients(order, who)
        link = f"{base_url_for(order.municipality.primary_domain or '')}/bestellungen/{order.pk}/"
    if event == "failed":
        recipients = sorted({*recipients, settings.SHOP_STAFF_EMAIL})
    if not recipients:
        return 0
    values = {
        "number": order.number,
        "name": order.submitted_by_name or order.submitted_by_email,
        "reason": order.rejection_reason,
        "municipality": order.municipality.short_name,
    }
    context = {
        "order": order,
        "lead": lead.format(**values),
        "link": link,
        "lines": list(order.lines.all()),
        "subject": subject.format(**values),
    }
    message = EmailMultiAlternatives(
        context["subject"], render_to_string("shop/emails/order_event.txt", context), to=recipients
    )
    message.attach_alternative(render_to_string("shop/emails/order_event.html", context), "text/html")
    message.send()
    return len(recipients)
