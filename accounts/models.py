from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from .roles import Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("Eine E-Mail-Adresse ist erforderlich.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in, identified by e-mail.

    The table exists in every schema: a municipality's users live in its own
    schema, the association's staff in the public schema, so an account is
    only valid where it was created.
    """

    email = models.EmailField("E-Mail", unique=True)
    full_name = models.CharField("Name", max_length=150, blank=True)
    roles = ArrayField(
        models.CharField(max_length=32, choices=Role.choices), verbose_name="Rollen", default=list, blank=True
    )
    is_active = models.BooleanField("aktiv", default=True)
    is_staff = models.BooleanField(
        "Zugang zur Verwaltung", default=False, help_text="Darf die Django-Verwaltung des Verbands öffnen."
    )
    date_joined = models.DateTimeField("angelegt", default=timezone.now)
    invited_at = models.DateTimeField("eingeladen", null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "Benutzer:in"
        verbose_name_plural = "Benutzer:innen"
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def role_labels(self) -> list[str]:
        return [Role(role).label for role in self.roles if role in Role.values]
