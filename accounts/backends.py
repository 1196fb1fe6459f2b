"""Admin model permissions derived from roles (see accounts.permissions)."""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache

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

    def get_user(self, user_id):
        """The signed-in user, cached for a few seconds per municipality (the cache key function
        prefixes the schema, so user 7 of Leipzig is never user 7 of Dresden). Saving or deleting
        a user drops the entry at once (accounts.apps)."""
        seconds = settings.ACCOUNTS_USER_CACHE_SECONDS
        if not seconds:
            return super().get_user(user_id)
        key = user_cache_key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)
            if user is None:
                return None
            cache.set(key, user, seconds)
        return user if self.user_can_authenticate(user) else None


def user_cache_key(user_id) -> str:
    return f"accounts:user:{user_id}"


def forget_cached_user(sender, instance, **kwargs) -> None:
    """Cache invalidation only: a cached signed-in user never outlives a change to the user."""
    cache.delete(user_cache_key(instance.pk))
