"""URLs of the view tests (``test_views.py``, ``test_drf.py``): none are routed; Django needs a
URLconf to resolve ``LOGIN_URL`` when a refusal redirects."""

urlpatterns: list = []
