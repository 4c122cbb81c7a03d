"""The custom project with a "group-bearing" user model: ``teams.Member`` (a ``BigAutoField``
primary key ``member_no``), whose ``groups`` are ``teams.Team`` (a multi-table subclass of
``Group``) through the custom model ``teams.Membership``, and whose ``user_permissions`` have
another related name than ``PermissionsMixin``'s."""

from .settings import *  # noqa: F403

AUTH_USER_MODEL = "teams.Member"
