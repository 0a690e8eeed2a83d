"""The REST API's shared conventions: authentication, scopes, pagination, errors, schema, routes.

Each app keeps its own endpoints next to its domain (`features/api.py`, `governance/reviews/api.py`, …);
they call the same services as the browser views. This package only holds what they share.
"""
