"""The integration's template tags: ``{% load warden_tags %}``."""
