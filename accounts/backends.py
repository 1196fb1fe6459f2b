"""Admin model permissions derived from roles (see accounts.permissions)."""

from django.contrib.auth.backends import ModelBackend

from .permissions import ADMIN_APPS_BY_ROLE, is_public


class RoleBackend(ModelBackend):
    def _role_apps(self, user_obj) -> set[str]:
        from django.db import connection

        if not user_obj.is_active or not user_obj.is_staff or not is_public(connection.tenant):
            return set()
        apps: set[str] = set()
        for role in user_obj.roles:
            apps |= ADMIN_APPS_BY_ROLE.get(role, frozenset())
        return apps

    def has_perm(self, user_obj, perm, obj=None):
        if super().has_perm(user_obj, perm, obj):
            return True
        return perm.split(".", 1)[0] in self._role_apps(user_obj)

    def has_module_perms(self, user_obj, app_label):
        return super().has_module_perms(user_obj, app_label) or app_label in self._role_apps(user_obj)
