"""npm audit / pip-audit reports: real files from npm, pip-audit, audit-ci and DefectDojo."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.analysis.vulnerabilities import (
    find_vulnerabilities,
    rank_vulnerable_packages,
    severity_counts,
)
from runbook_lib.sources.audit import AUDIT_SCHEMA, collect_npm_audit, collect_pip_audit

AUDIT = Path(__file__).resolve().parent.parent / "data" / "audit"


def npm(name: str):  # type: ignore[no-untyped-def]
    return collect_npm_audit(str(AUDIT / name))


def pip(name: str):  # type: ignore[no-untyped-def]
    return collect_pip_audit(str(AUDIT / name))


def test_npm7_many_vulns_counts_match_npm_metadata() -> None:
    result = npm("defectdojo_npm_audit_many_vuln_npm7.json")
    assert result.status == "ok"
    assert dict(result.frame.dtypes.astype(str)) == AUDIT_SCHEMA
    counts = severity_counts(result.frame).set_index("ecosystem").loc["npm"]
    # npm's own metadata for this report: 12 low, 2 moderate, 1 high, 15 total.
    assert (counts["low"], counts["moderate"], counts["high"], counts["total"]) == (12, 2, 1, 15)
    assert counts.to_dict()["total"] == result.meta["metadata_counts"]["total"]
    packages = rank_vulnerable_packages(result.frame)
    assert packages.iloc[0]["package"] == "highcharts"
    # via[] that only names a parent package is inherited, not an advisory of its own.
    gulp = packages.set_index("package").loc["gulp"]
    assert gulp["advisories"] == 0 and gulp["via"] == "gulp-cli"


def test_npm7_fix_versions_and_direct_flag() -> None:
    frame = npm("auditci_npm-high.npm7-output.json").frame
    row = frame.iloc[0]
    assert (row["package"], row["severity"], row["advisory_id"]) == (
        "qs",
        "high",
        "GHSA-hrpp-h998-j3pp",
    )
    assert row["fix_versions"] == "qs@6.11.2" and bool(row["fix_available"]) and bool(row["is_direct"])
    finding = find_vulnerabilities(npm("auditci_npm-high.npm7-output.json"))
    assert finding.severity == "high" and "`qs`" in finding.summary and "qs@6.11.2" in finding.summary


def test_npm7_severity_taken_from_the_advisories_not_from_inconsistent_metadata() -> None:
    result = npm("defectdojo_npm7plus_issue_10801.json")
    # This real report's metadata says 1 high while its only package is moderate.
    assert result.meta["metadata_counts"]["high"] == 1
    finding = find_vulnerabilities(result)
    assert finding.numbers["by_severity"] == {"moderate": 1}
    assert finding.numbers["reported_by_tool"]["high"] == 1
    assert "nodemon@3.1.4 (semver major)" in finding.summary


def test_npm_none_is_clean_with_its_audited_count() -> None:
    finding = find_vulnerabilities(npm("defectdojo_npm7plus_no_vuln.json"))
    assert finding.severity == "info" and "97 audited packages" in finding.summary


@pytest.mark.parametrize(
    "name,package,version,severity,fix",
    [
        ("auditci_npm-high.npm6-output.json", "qs", "6.10.2", "high", "qs@6.11.2"),
        (
            "defectdojo_npm_audit_one_vuln_v6.json",
            "growl",
            "1.9.2",
            "critical",
            "mocha-jenkins-reporter@0.3.12",
        ),
    ],
)
def test_npm6_legacy_format(name: str, package: str, version: str, severity: str, fix: str) -> None:
    result = npm(name)
    assert result.status == "ok" and result.meta["format"] == "npm6 (legacy)"
    row = result.frame.iloc[0]
    assert (row["package"], row["installed_version"], row["severity"], row["fix_versions"]) == (
        package,
        version,
        severity,
        fix,
    )
    assert find_vulnerabilities(result).severity == severity


@pytest.mark.parametrize(
    "name,needle",
    [
        ("npm-11.19.1_audit_json_405_error.json", "405 Method Not Allowed"),
        ("defectdojo_npm_audit_empty_with_error.json", "ENOAUDIT"),
    ],
)
def test_npm_error_document_is_unavailable_not_clean(name: str, needle: str) -> None:
    result = npm(name)
    assert result.status == "unavailable" and needle in result.reason
    assert result.frame.empty and list(result.frame.columns) == list(AUDIT_SCHEMA)
    finding = find_vulnerabilities(result)
    assert finding.severity == "unknown" and needle in finding.summary


def test_pip_audit_both_formats_agree() -> None:
    old, new = (
        pip("defectdojo_pip_audit_many_vulns.json"),
        pip("defectdojo_pip_audit_many_vulns_new.json"),
    )
    assert old.frame.equals(new.frame)
    assert (old.status, new.status) == ("partial", "partial")  # azure-devops was skipped
    assert new.meta["packages_skipped"] == 1 and "azure-devops" in new.samples[0]
    packages = rank_vulnerable_packages(new.frame).set_index("package")
    assert packages.loc["django", "fix_versions"] == "2.2.25, 3.1.14, 3.2.10"
    assert packages.loc["twisted", "advisories"] == 4
    finding = find_vulnerabilities(new)
    assert "1 package(s) could not be audited" in finding.summary and finding.numbers["packages"] == 4


def test_pip_audit_aliases_from_the_readme_example() -> None:
    frame = pip("pip-audit_README_example_list_with_aliases.json").frame
    flask = frame[frame["advisory_id"] == "PYSEC-2019-179"].iloc[0]
    assert flask["aliases"] == "CVE-2019-1010083, GHSA-5wv5-4vpf-pj6m" and flask["fix_versions"] == "1.0"


def test_pip_audit_all_skipped_is_not_clean() -> None:
    result = pip("live_pip-audit-2.10.1_all_skipped_no_registry_vuln_api.json")
    assert result.status == "unavailable" and "all 4 dependencies were skipped" in result.reason
    finding = find_vulnerabilities(result)
    assert finding.severity == "unknown"


def test_pip_audit_some_skipped_zero_vulns_is_low_not_info() -> None:
    finding = find_vulnerabilities(pip("defectdojo_pip_audit_zero_vulns_new.json"))
    assert finding.severity == "low" and "2 audited packages" in finding.summary


@pytest.mark.parametrize("name", ["defectdojo_pip_audit_empty.json", "defectdojo_pip_audit_empty_new.json"])
def test_pip_audit_empty_report_proves_nothing(name: str) -> None:
    result = pip(name)
    assert result.status == "ok" and result.meta["packages_audited"] == 0
    assert find_vulnerabilities(result).severity == "unknown"


def test_broken_inputs_are_statuses(tmp_path: Path) -> None:
    assert collect_npm_audit("").status == "skipped"
    assert find_vulnerabilities(collect_pip_audit("")).severity == "info"
    missing = collect_npm_audit(str(tmp_path / "nope.json"))
    assert missing.status == "unavailable" and "not found" in missing.reason
    garbled = tmp_path / "garbled.json"
    garbled.write_text('{"auditReportVersion": 2, "vulnerab', encoding="utf-8")
    assert "not JSON" in collect_npm_audit(str(garbled)).reason
    other = tmp_path / "other.json"
    other.write_text('{"hello": "world"}', encoding="utf-8")
    assert collect_npm_audit(str(other)).status == "unavailable"
    assert collect_pip_audit(str(other)).status == "unavailable"
