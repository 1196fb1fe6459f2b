from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Benutzerkonten"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .backends import forget_cached_user as forget
        from .models import User

        post_save.connect(forget, sender=User, dispatch_uid="accounts_forget_cached_user")
        post_delete.connect(forget, sender=User, dispatch_uid="accounts_forget_cached_user_delete")
