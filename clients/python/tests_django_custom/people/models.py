"""A custom user model with ``PermissionsMixin`` and its own primary key, and an object model."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models


class CustomUserManager(BaseUserManager):
    def create_user(self, email: str, password: str | None = None, **fields: object) -> "CustomUser":
        user = self.model(email=email, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user


class CustomUser(AbstractBaseUser, PermissionsMixin):
    """The through-tables name their user column ``customuser_id``; the pk is ``custom_id``."""

    custom_id = models.AutoField(primary_key=True)
    email = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)

    objects = CustomUserManager()

    USERNAME_FIELD = "email"


class Doc(models.Model):
    title = models.CharField(max_length=100)

    class Meta:
        permissions = [("publish_doc", "Can publish a doc")]
