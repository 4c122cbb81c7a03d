"""A "group-bearing" user model: its groups are a multi-table subclass of ``Group`` through a
custom membership model; its model permissions have their own related name."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, Permission
from django.db import models


class Team(Group):
    """A ``Group`` subclass (``group_ptr``): its name is the group's."""

    motto = models.CharField(max_length=100, blank=True)


class MemberManager(BaseUserManager):
    def create_user(self, handle: str, password: str | None = None, **fields: object) -> "Member":
        user = self.model(handle=handle, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user


class Member(AbstractBaseUser):
    member_no = models.BigAutoField(primary_key=True)
    handle = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    is_superuser = models.BooleanField(default=False)
    groups = models.ManyToManyField(Team, through="Membership", related_name="members", blank=True)
    user_permissions = models.ManyToManyField(Permission, related_name="members", blank=True)

    objects = MemberManager()

    USERNAME_FIELD = "handle"


class Membership(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE)
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    since = models.DateField(null=True, blank=True)
