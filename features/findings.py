"""Keeping the stored policy findings of a version in step with the policy engine's latest verdict."""

from __future__ import annotations

from django.utils import timezone

from features.models import Finding, FindingSource, FindingStatus


def _fingerprint(rule_id: str, path: str) -> str:
    """A finding is one rule about one part of the declaration; its wording may change over time."""
    return f"{rule_id}|{path}"


def _references(finding) -> list[str]:
    return [str(reference) for reference in finding.references]


def policy_findings_store(registration, policy_findings) -> tuple[list[Finding], list[Finding]]:
    """Add what is new, reopen what came back, resolve what no longer holds, refresh the wording;
    acceptances stand.

    Returns (opened, resolved) so the caller can record what changed.
    """
    existing = {
        finding.fingerprint: finding
        for finding in Finding.objects.filter(registration=registration, source=FindingSource.POLICY)
    }
    seen, opened, now = set(), [], timezone.now()
    for result in policy_findings:
        fingerprint = _fingerprint(result.rule_id, result.path)
        seen.add(fingerprint)
        stored = existing.get(fingerprint)
        if stored is None:
            opened.append(
                Finding.objects.create(
                    feature_id=registration.feature_id,
                    feature_key=registration.feature.key,
                    registration=registration,
                    source=FindingSource.POLICY,
                    rule_id=result.rule_id,
                    severity=str(result.severity),
                    message=result.message,
                    path=result.path,
                    references=_references(result),
                    fingerprint=fingerprint,
                )
            )
            continue
        changed = ["message", "severity", "references", "updated_at"]
        stored.message, stored.severity, stored.references = result.message, str(result.severity), _references(result)
        if stored.status == FindingStatus.RESOLVED:
            stored.status, stored.resolved_at = FindingStatus.OPEN, None
            changed += ["status", "resolved_at"]
            opened.append(stored)
        stored.save(update_fields=changed)
    resolved = [
        finding
        for fingerprint, finding in existing.items()
        if fingerprint not in seen and finding.status != FindingStatus.RESOLVED
    ]
    for finding in resolved:
        finding.status, finding.resolved_at = FindingStatus.RESOLVED, now
        finding.save(update_fields=["status", "resolved_at", "updated_at"])
    return opened, resolved
