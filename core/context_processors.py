from django.conf import settings

from accounts.permissions import allowed_actions, is_public


def shop(request):
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    return {
        "tenant": tenant,
        "is_public_domain": is_public(tenant),
        "can": allowed_actions(user, tenant) if user is not None else set(),
        "shop_name": "ozg-shop",
        "association_name": "KISA – Zweckverband Kommunale Informationsverarbeitung Sachsen",
        "SHOP_BASE_DOMAIN": settings.SHOP_BASE_DOMAIN,
    }
