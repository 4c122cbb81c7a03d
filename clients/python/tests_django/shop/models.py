"""A second app whose objects have string pks (``/home/www/joe.config`` is a valid pk)."""

from django.db import models


class Order(models.Model):
    code = models.CharField(max_length=200, primary_key=True)

    def __str__(self) -> str:
        return self.code
