"""Measuring ingestion end to end: the real endpoint under gunicorn against a minimal reference endpoint on
the same events (`manage.py benchmark_ingest`). Nothing here runs in the app itself."""
