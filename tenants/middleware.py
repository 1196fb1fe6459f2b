"""Routing by host name, with the host → tenant lookup cached."""

from django.conf import settings
from django.core.cache import cache
from django_tenants.middleware.main import TenantMainMiddleware

from .services import routing_cache_key


class TenantMiddleware(TenantMainMiddleware):
    """Like django-tenants' middleware, but a known host costs a cache hit, not a query.

    Unknown hosts raise Http404 (rendered by templates/404.html).
    """

    def get_tenant(self, domain_model, hostname):
        seconds = settings.TENANT_ROUTING_CACHE_SECONDS
        key = routing_cache_key(hostname)
        if seconds:
            tenant = cache.get(key)
            if tenant is not None:
                return tenant
        tenant = super().get_tenant(domain_model, hostname)
        if seconds:
            cache.set(key, tenant, seconds)
        return tenant

    def process_response(self, request, response):
        # Leave the connection on the public schema between requests, so that code
        # running after a response (tests, signals) never inherits a municipality's schema.
        from django.db import connection

        connection.set_schema_to_public()
        return response
