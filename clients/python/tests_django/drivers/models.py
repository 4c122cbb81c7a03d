"""A drivers-style app: two models of one app that share a custom codename (``drive``)."""

from django.db import models


class Car(models.Model):
    name = models.CharField(max_length=100)

    class Meta:
        permissions = [("drive", "Can drive"), ("publish_car", "Can publish a car")]

    def __str__(self) -> str:
        return self.name


class Truck(models.Model):
    name = models.CharField(max_length=100)

    class Meta:
        permissions = [("drive", "Can drive")]

    def __str__(self) -> str:
        return self.name
