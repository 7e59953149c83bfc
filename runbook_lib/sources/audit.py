"""Dependency vulnerability reports: ``npm audit --json`` and ``pip-audit -f json`` files.

Why files: the audit runs in CI or on a developer machine (it needs the lockfile and the
advisory service); during an incident we read its saved report. Formats understood:

- npm 7+ (``auditReportVersion: 2``): ``vulnerabilities`` keyed by package, ``via`` mixing
  advisory objects and names of the packages that pull the problem in, ``fixAvailable``
  true/false/object;
- npm 6 and older: ``advisories`` keyed by id plus ``actions`` with fix targets;
- the npm *error* document (``{"error": {...}}`` or ``{"message": "405 …", "statusCode": …}``)
  printed instead of a report when the registry refuses: the source is ``unavailable``
  with npm's message, never "no vulnerabilities";
- pip-audit: a top-level list (before 2.x) or ``{"dependencies": [...], "fixes": [...]}``.
  Dependencies with a ``skip_reason`` were **not audited**: some skipped gives
  ``partial``; all skipped gives ``unavailable`` (pip-audit itself prints "No known
  vulnerabilities found" and exits 0 in that case, which is not clean).

Frame schema (:data:`AUDIT_SCHEMA`), one row per (package, advisory); a package whose
problem is only inherited (npm ``via`` names another package) gets one row with an empty
``advisory_id`` and ``via`` naming the parents. ``meta`` on the result carries
``packages_audited``, ``packages_skipped`` and npm's own ``metadata_counts``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.collected import Collected, conform, empty_frame, guarded, skipped
from runbook_lib.errors import SourceDataError, SourceDenied, SourceUnavailable
from runbook_lib.paths import resolve

__all__ = [
    "AUDIT_SCHEMA",
    "SEVERITY_ORDER",
    "collect_npm_audit",
    "collect_pip_audit",
    "read_npm_audit",
    "read_pip_audit",
]

AUDIT_SCHEMA: dict[str, str] = {
    "ecosystem": "string",  # npm | pypi
    "package": "string",
    "installed_version": "string",  # pip-audit and npm 6 give it; npm 7+ gives only a range
    "severity": "string",  # critical|high|moderate|low|info|unknown (pip-audit has none)
    "advisory_id": "string",  # GHSA-…, PYSEC-…, npm advisory number
    "aliases": "string",  # CVE ids etc., comma-separated
    "title": "string",
    "url": "string",
    "vulnerable_range": "string",
    "fix_versions": "string",  # comma-separated; "" when no fix is known
    "fix_available": "boolean",
    "is_direct": "boolean",
    "via": "string",  # npm: packages through which the problem comes in
}
SEVERITY_ORDER = ("critical", "high", "moderate", "low", "info", "unknown")


def _load(source: str, path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError as err:
        raise SourceUnavailable("report file not found", source=source, target=str(path)) from err
    except PermissionError as err:
        raise SourceDenied("report file not readable", source=source, target=str(path)) from err
    except OSError as err:
        raise SourceUnavailable(f"cannot read report: {err.strerror}", source=source, target=str(path)) from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SourceDataError(f"not JSON ({err.msg} at line {err.lineno})", source=source, target=str(path)) from err


def _row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {name: "" for name, dtype in AUDIT_SCHEMA.items() if dtype == "string"}
    row.update({"fix_available": pd.NA, "is_direct": pd.NA})
    row.update(values)
    return row


def _fix(fix: Any) -> tuple[Any, str]:
    if isinstance(fix, Mapping):
        name, version = fix.get("name", ""), fix.get("version", "")
        major = " (semver major)" if fix.get("isSemVerMajor") else ""
        return True, f"{name}@{version}{major}" if name else str(version)
    if isinstance(fix, bool):
        return fix, ""
    return pd.NA, ""


def _npm7(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, vuln in (doc.get("vulnerabilities") or {}).items():
        if not isinstance(vuln, Mapping):
            continue
        fix_available, fix_text = _fix(vuln.get("fixAvailable"))
        common = {
            "ecosystem": "npm",
            "package": str(vuln.get("name", name)),
            "severity": str(vuln.get("severity", "unknown")).lower(),
            "vulnerable_range": str(vuln.get("range", "")),
            "fix_available": fix_available,
            "fix_versions": fix_text,
            "is_direct": vuln.get("isDirect") if isinstance(vuln.get("isDirect"), bool) else pd.NA,
        }
        vias = vuln.get("via") or []
        parents = [str(v) for v in vias if isinstance(v, str)]
        advisories = [v for v in vias if isinstance(v, Mapping)]
        for adv in advisories:
            rows.append(
                _row(
                    **{**common, "severity": str(adv.get("severity", common["severity"])).lower()},
                    advisory_id=_advisory_id(adv),
                    title=str(adv.get("title", "")),
                    url=str(adv.get("url", "")),
                    via=", ".join(parents),
                )
            )
        if not advisories:
            rows.append(_row(**common, via=", ".join(parents), title=f"via {', '.join(parents)}"))
    return rows


def _advisory_id(adv: Mapping[str, Any]) -> str:
    url = str(adv.get("url", ""))
    if "/advisories/GHSA-" in url:
        return url.rsplit("/", 1)[-1]
    return str(adv.get("source", adv.get("id", "")))


def _npm6(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    targets: dict[int, str] = {}
    for action in doc.get("actions") or []:
        for resolve_ in action.get("resolves") or []:
            if action.get("target"):
                targets[int(resolve_.get("id", -1))] = f"{action.get('module', '')}@{action['target']}"
    rows = []
    for key, adv in (doc.get("advisories") or {}).items():
        versions = sorted({str(f.get("version", "")) for f in adv.get("findings") or [] if f.get("version")})
        ident = adv.get("github_advisory_id") or adv.get("id", key)
        fix = targets.get(int(adv.get("id", key)), "")
        patched = str(adv.get("patched_versions", "") or "")
        rows.append(
            _row(
                ecosystem="npm",
                package=str(adv.get("module_name", "")),
                installed_version=", ".join(versions),
                severity=str(adv.get("severity", "unknown")).lower(),
                advisory_id=str(ident),
                aliases=", ".join(adv.get("cves") or []),
                title=str(adv.get("title", "")),
                url=str(adv.get("url", "")),
                vulnerable_range=str(adv.get("vulnerable_versions", "")),
                fix_versions=fix or ("" if patched in ("", "<0.0.0") else patched),
                fix_available=bool(fix) or patched not in ("", "<0.0.0"),
            )
        )
    return rows


def _npm_error(doc: Mapping[str, Any]) -> str | None:
    """npm's message when *doc* is an error document instead of a report."""
    if "vulnerabilities" in doc or "advisories" in doc:
        return None
    err = doc.get("error")
    parts = []
    if isinstance(err, Mapping):
        parts += [str(err[k]) for k in ("code", "summary", "detail") if err.get(k)]
    if doc.get("message"):
        parts.append(str(doc["message"]))
    elif doc.get("statusCode"):
        parts.append(f"HTTP {doc['statusCode']}")
    if parts:
        return " ".join(parts)
    return "error document without a message" if isinstance(err, Mapping) else None


def read_npm_audit(path: Path) -> Collected:
    """Parse one ``npm audit --json`` file (npm 6 or 7+). Raises SourceError when unusable."""
    doc = _load("npm_audit", path)
    if not isinstance(doc, Mapping):
        raise SourceDataError(
            "not an npm audit report (top level is not an object)",
            source="npm_audit",
            target=str(path),
        )
    problem = _npm_error(doc)
    if problem is not None:
        raise SourceUnavailable(f"npm audit did not produce a report: {problem}", source="npm_audit", target=str(path))
    if "vulnerabilities" in doc:
        rows, fmt = _npm7(doc), f"npm7+ (auditReportVersion {doc.get('auditReportVersion', '?')})"
    elif "advisories" in doc:
        rows, fmt = _npm6(doc), "npm6 (legacy)"
    else:
        raise SourceDataError("no 'vulnerabilities' or 'advisories' key", source="npm_audit", target=str(path))
    metadata = doc.get("metadata") or {}
    deps = metadata.get("dependencies")
    total_deps = deps.get("total") if isinstance(deps, Mapping) else metadata.get("totalDependencies")
    frame = conform(pd.DataFrame(rows), AUDIT_SCHEMA) if rows else empty_frame(AUDIT_SCHEMA)
    return Collected(
        "npm_audit",
        str(path),
        frame,
        lines_read=len(rows),
        meta={
            "format": fmt,
            "packages_audited": total_deps,
            "packages_skipped": 0,
            "metadata_counts": dict(metadata.get("vulnerabilities") or {}),
        },
    )


def read_pip_audit(path: Path) -> Collected:
    """Parse one ``pip-audit -f json`` file (list or ``dependencies`` form)."""
    doc = _load("pip_audit", path)
    deps = doc.get("dependencies") if isinstance(doc, Mapping) else doc
    if not isinstance(deps, list):
        raise SourceDataError(
            "no dependency list (expected a list or {'dependencies': [...]})",
            source="pip_audit",
            target=str(path),
        )
    rows, skipped_reasons, audited = [], [], 0
    for dep in deps:
        if not isinstance(dep, Mapping):
            continue
        if dep.get("skip_reason"):
            skipped_reasons.append(f"{dep.get('name', '?')}: {dep['skip_reason']}")
            continue
        audited += 1
        for vuln in dep.get("vulns") or []:
            fixes = [str(v) for v in vuln.get("fix_versions") or []]
            rows.append(
                _row(
                    ecosystem="pypi",
                    package=str(dep.get("name", "")),
                    installed_version=str(dep.get("version", "")),
                    severity="unknown",
                    advisory_id=str(vuln.get("id", "")),
                    aliases=", ".join(vuln.get("aliases") or []),
                    title=str(vuln.get("description", ""))[:200],
                    fix_versions=", ".join(fixes),
                    fix_available=bool(fixes),
                )
            )
    frame = conform(pd.DataFrame(rows), AUDIT_SCHEMA) if rows else empty_frame(AUDIT_SCHEMA)
    meta = {
        "format": "pip-audit " + ("dependencies" if isinstance(doc, Mapping) else "list"),
        "packages_audited": audited,
        "packages_skipped": len(skipped_reasons),
    }
    result = Collected(
        "pip_audit",
        str(path),
        frame,
        lines_read=len(deps),
        lines_skipped=len(skipped_reasons),
        meta=meta,
    )
    for reason in skipped_reasons:
        result.add_sample(reason)
    if skipped_reasons and audited == 0:
        result.status = "unavailable"
        result.reason = (
            f"all {len(skipped_reasons)} dependencies were skipped, nothing was audited (first: {skipped_reasons[0]})"
        )
    elif skipped_reasons:
        result.status = "partial"
        result.reason = f"{len(skipped_reasons)} of {len(deps)} dependencies could not be audited"
    return result


def _collect(source: str, path: str, read: Any) -> Collected:
    if not str(path).strip():
        return skipped(source, AUDIT_SCHEMA, f"no {source} report given")
    target = resolve(str(path).strip())

    def _read() -> Collected:
        result: Collected = read(target)
        return result

    result = guarded(source, str(target), AUDIT_SCHEMA, _read)
    if result.status == "unavailable" and "packages_skipped" not in result.meta:
        result.meta.setdefault("packages_audited", 0)
    return result


def collect_npm_audit(path: str) -> Collected:
    """The npm audit report at *path* (empty = skipped); never raises on a bad file."""
    return _collect("npm_audit", path, read_npm_audit)


def collect_pip_audit(path: str) -> Collected:
    """The pip-audit report at *path* (empty = skipped); never raises on a bad file."""
    return _collect("pip_audit", path, read_pip_audit)
