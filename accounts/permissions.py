"""The one place that answers "may this user do X here?".

Every view, template and service asks :func:`can`; nothing else compares roles.
An action belongs either to a municipality's domain (tenant) or to the
association's domain (public); on the other kind of domain it is never allowed,
whatever roles the user holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .roles import Role


class Scope(Enum):
    TENANT = "tenant"
    PUBLIC = "public"


@dataclass(frozen=True)
class Rule:
    scope: Scope
    roles: frozenset[str]


_T, _P = Scope.TENANT, Scope.PUBLIC
_ALL_MUNICIPAL = frozenset({Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN})

RULES: dict[str, Rule] = {
    # municipality's domain
    "workspace.view": Rule(_T, _ALL_MUNICIPAL),
    "catalog.view": Rule(_T, _ALL_MUNICIPAL),  # the association's public catalog needs no action: it is open
    "catalog.watch": Rule(_T, _ALL_MUNICIPAL),
    "catalog.order": Rule(_T, frozenset({Role.PURCHASER})),
    "cart.view": Rule(_T, _ALL_MUNICIPAL),  # approvers and admins see what is about to be ordered
    "cart.edit": Rule(_T, frozenset({Role.PURCHASER})),
    "order.view": Rule(_T, _ALL_MUNICIPAL),
    "order.submit": Rule(_T, frozenset({Role.PURCHASER})),
    "order.approve": Rule(_T, frozenset({Role.APPROVER})),
    "order.cancel": Rule(_T, frozenset({Role.PURCHASER})),
    "instance.view": Rule(_T, _ALL_MUNICIPAL),
    "instance.configure": Rule(_T, frozenset({Role.PURCHASER, Role.MUNICIPAL_ADMIN})),
    "subscription.cancel": Rule(_T, frozenset({Role.MUNICIPAL_ADMIN})),
    "invoice.view": Rule(_T, _ALL_MUNICIPAL),
    "users.manage": Rule(_T, frozenset({Role.MUNICIPAL_ADMIN})),
    # association's domain
    "staff.area": Rule(_P, frozenset({Role.CATALOG_MANAGER, Role.FINANCE})),
    "staff.catalog": Rule(_P, frozenset({Role.CATALOG_MANAGER})),
    "staff.municipalities": Rule(_P, frozenset({Role.CATALOG_MANAGER})),
    "staff.funding": Rule(_P, frozenset({Role.CATALOG_MANAGER, Role.FINANCE})),
    "staff.orders": Rule(_P, frozenset({Role.CATALOG_MANAGER, Role.FINANCE})),
    "staff.finance": Rule(_P, frozenset({Role.FINANCE})),
}

# Django admin model permissions follow the same roles (accounts.backends.RoleBackend).
ADMIN_APPS_BY_ROLE: dict[str, frozenset[str]] = {
    Role.CATALOG_MANAGER: frozenset({"tenants", "shop", "billing"}),
    Role.FINANCE: frozenset({"billing"}),
}


def is_public(tenant) -> bool:
    return tenant is None or getattr(tenant, "schema_name", "public") == "public"


# The same rules with plain strings, for the per-request evaluation below.
_PLAIN_RULES: dict[str, tuple[Scope, frozenset[str]]] = {
    action: (rule.scope, frozenset(str(role) for role in rule.roles)) for action, rule in RULES.items()
}


def _evaluate(action: str, *, roles: frozenset[str], superuser: bool, public: bool) -> bool:
    scope, allowed = _PLAIN_RULES[action]
    if scope is Scope.PUBLIC:
        return public and (superuser or not allowed.isdisjoint(roles))
    return not public and not allowed.isdisjoint(roles)


def _subject(user) -> tuple[frozenset[str], bool] | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return frozenset(str(role) for role in user.roles), bool(user.is_superuser)


def can(user, action: str, tenant) -> bool:
    """May ``user`` perform ``action`` on the domain of ``tenant`` (the request's tenant)?"""
    if action not in RULES:
        raise KeyError(f"Unbekannte Aktion: {action}")
    subject = _subject(user)
    if subject is None:
        return False
    return _evaluate(action, roles=subject[0], superuser=subject[1], public=is_public(tenant))


def allowed_actions(user, tenant) -> frozenset[str]:
    """Every action ``user`` may perform here (for navigation and templates), evaluated once."""
    subject = _subject(user)
    if subject is None:
        return frozenset()
    public = is_public(tenant)
    return frozenset(
        action for action in RULES if _evaluate(action, roles=subject[0], superuser=subject[1], public=public)
    )


def require(action: str):
    """View decorator: anonymous → login page, signed in without the right → 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can(request.user, action, getattr(request, "tenant", None)):
                raise PermissionDenied("Für diese Aktion fehlt Ihnen die Berechtigung.")
            return view(request, *args, **kwargs)

        wrapped.required_action = action
        return wrapped

    return decorator
