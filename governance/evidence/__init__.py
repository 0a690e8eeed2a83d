"""Evidence packs for auditors: a signed ZIP of the registry (JSON, CSV, HTML, PDF, OSCAL), optionally as of
a past date, that can be verified offline."""
