"""The registry's REST endpoints under /api/v1/ (routes: `features/api_urls.py`).

- `registry.py`: features and their versions (list, create, draft, submit, diff, retire);
- `findings.py`: findings, read-only;
- `catalogue.py`: the signal catalogue and the identity inventory;
- `check.py`: the policy dry run for CI, and the declaration file format's JSON Schema;
- `declarations.py`: the declaration file format on the API (strict input; `features/schema/`);
- `base.py`, `strict.py`, `parsers.py`, `filtersets.py`, `outputs.py`: what those share.

Every write calls the service the browser calls; `governance.api` holds the conventions shared with the
other apps' endpoints (errors, pagination, schema).
"""
