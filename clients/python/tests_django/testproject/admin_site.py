"""The test project's model admins: ``GuardedModelAdmin`` (Warden's) for the test apps' models."""

from django.contrib import admin
from drivers.models import Car, Truck
from shop.models import Order

from warden_client.django.admin import GuardedModelAdmin

for _model in (Car, Truck, Order):
    if not admin.site.is_registered(_model):
        admin.site.register(_model, GuardedModelAdmin)
