"""Writing users: invitations and role changes. Callers are already in the right schema."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User
from .permissions import is_public
from .roles import MUNICIPAL_ROLES, STAFF_ROLES, Role


def _validate_roles(roles: Iterable[str], *, public: bool) -> list[str]:
    roles = sorted(set(roles))
    allowed = STAFF_ROLES if public else MUNICIPAL_ROLES
    for role in roles:
        if role not in Role.values:
            raise ValidationError({"roles": f"Unbekannte Rolle: {role}"})
        if role not in allowed:
            where = "beim Verband" if public else "in einer Kommune"
            raise ValidationError({"roles": f"Die Rolle „{Role(role).label}“ gibt es {where} nicht."})
    return roles


def base_url_for(domain: str) -> str:
    port = settings.SHOP_PUBLIC_PORT
    host = domain if not port or port in {"80", "443"} else f"{domain}:{port}"
    return f"{settings.SHOP_URL_SCHEME}://{host}"


def password_set_link(user: User, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return base_url + reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})


@transaction.atomic
def user_invite(
    *,
    email: str,
    full_name: str = "",
    roles: Iterable[str],
    base_url: str,
    organisation: str,
    password: str | None = None,
    send: bool = True,
) -> User:
    """Create a user in the current schema and e-mail a link to set the password.

    ``password`` is for demo and test accounts only; invited people choose their own.
    """
    public = is_public(connection.tenant)
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "Unter dieser E-Mail-Adresse gibt es hier schon ein Konto."})
    user = User(
        email=email,
        full_name=full_name.strip(),
        roles=_validate_roles(roles, public=public),
        is_staff=public,
    )
    user.full_clean(exclude=["password"])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.invited_at = timezone.now()
    user.save()
    if send:
        link = password_set_link(user, base_url)
        context = {"user": user, "link": link, "organisation": organisation}
        transaction.on_commit(lambda: _send_invitation(user.email, context))
    return user


def _send_invitation(email: str, context: dict) -> None:
    subject = render_to_string("accounts/emails/invitation_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject,
        render_to_string("accounts/emails/invitation.txt", context),
        to=[email],
    )
    message.attach_alternative(render_to_string("accounts/emails/invitation.html", context), "text/html")
    message.send()


@transaction.atomic
def user_update(*, user: User, roles: Iterable[str], active: bool, acting_user: User) -> User:
    """Change a user's roles and active flag together (all or nothing)."""
    public = is_public(connection.tenant)
    new_roles = _validate_roles(roles, public=public)
    if user.pk == acting_user.pk:
        if Role.MUNICIPAL_ADMIN in user.roles and Role.MUNICIPAL_ADMIN not in new_roles:
            raise ValidationError(
                {"roles": "Sie können sich die Administrationsrolle nicht selbst entziehen."}
            )
        if not active:
            raise ValidationError({"is_active": "Sie können Ihr eigenes Konto nicht deaktivieren."})
    user.roles = new_roles
    user.is_active = active
    user.save(update_fields=["roles", "is_active"])
    return user
