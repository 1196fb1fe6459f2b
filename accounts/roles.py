"""Roles of the people who use the shop.

Municipal roles exist only in a municipality's schema, staff roles only in the
public schema (the association's control plane).
"""

from django.db import models


class Role(models.TextChoices):
    PURCHASER = "purchaser", "Einkauf (Sachbearbeitung)"
    APPROVER = "approver", "Freigabe (zeichnungsberechtigt)"
    MUNICIPAL_ADMIN = "municipal_admin", "Administration der Kommune"
    CATALOG_MANAGER = "catalog_manager", "Katalogpflege"
    FINANCE = "finance", "Finanzen"


MUNICIPAL_ROLES = frozenset({Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN})
STAFF_ROLES = frozenset({Role.CATALOG_MANAGER, Role.FINANCE})
