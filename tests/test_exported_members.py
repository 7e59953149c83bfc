"""The public surface is pinned (httpx's tests/test_exported_members.py): each package's
``__init__`` lists what notebooks may use, a change to that list is a deliberate edit here,
and every notebook imports only names a module or package exports."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))

PINNED: dict[str, list[str]] = {
    "runbook_lib": [
        "Collected",
        "Finding",
        "ParameterError",
        "RunbookError",
        "SourceDataError",
        "SourceDenied",
        "SourceError",
        "SourceUnavailable",
        "Window",
        "__version__",
        "parse_time",
        "parse_window",
    ],
    "runbook_lib.analysis": [
        "EVENT_KINDS",
        "MEMORY_PATTERN",
        "SLOW_PATTERN",
        "added_since",
        "app_error_rates",
        "assess_deploy_impact",
        "audit_frame",
        "auth_failures_per_minute",
        "breakdown",
        "busy_processes",
        "cause_findings",
        "choose_suspect",
        "ci_next_steps",
        "compute_metrics",
        "connection_next_steps",
        "correlate_cpu_with_traffic",
        "count_by",
        "cpu_series",
        "detect_app_auth_failures",
        "detect_blocking_tree",
        "detect_broken",
        "detect_bursts",
        "detect_culprits",
        "detect_flaky",
        "detect_high_cpu",
        "detect_idle_candidates",
        "detect_idle_in_transaction",
        "detect_infrastructure",
        "detect_leaks",
        "detect_long_running",
        "detect_outcome_matrix",
        "detect_plugin_problems",
        "detect_restarts",
        "detect_retry_storms",
        "detect_timeout_trends",
        "detect_upstream_quota",
        "detect_utilisation",
        "error_budget",
        "error_lines",
        "find_app_auth_failures",
        "find_bursts",
        "find_ci_findings",
        "find_connection_findings",
        "find_cpu_culprit",
        "find_credential_stuffing",
        "find_dependency_findings",
        "find_error_spike",
        "find_exfiltration",
        "find_gc_activity",
        "find_log_signals",
        "find_memory_leaks",
        "find_metric_memory_leaks",
        "find_pg_log_findings",
        "find_plugin_findings",
        "find_postmortem_findings",
        "find_rate_limiting",
        "find_resource_findings",
        "find_retry_storms",
        "find_scanners",
        "find_top_error_finding",
        "find_upstream_quota",
        "find_user_agents",
        "find_vulnerabilities",
        "history_window",
        "invalid_files",
        "ip_timeline",
        "latest",
        "leaking",
        "limited_per_minute",
        "list_components",
        "merge_timeline",
        "metric_as_processes",
        "metrics_table",
        "outcomes_per_test",
        "per_minute",
        "pg_log_events_per_minute",
        "plugin_next_steps",
        "postmortem_markdown",
        "process_share_over_time",
        "quota_per_minute",
        "rank_auth_failures",
        "rank_cpu_processes",
        "rank_growth",
        "rank_limited",
        "rank_log_shapes",
        "rank_rss_trends",
        "rank_scanners",
        "rank_slowest",
        "rank_test_history",
        "rank_threads",
        "rank_transfer",
        "rank_user_agents",
        "rank_vulnerable_packages",
        "rate_limit_next_steps",
        "response_verdict",
        "rollback_command",
        "security_next_steps",
        "severity_counts",
        "status_matrix",
        "status_rates",
        "summarise_errors",
        "summarise_load_log",
        "suspicious_ips",
        "timeout_limit",
        "tree_is_valid",
        "window_error_rate",
        "with_endpoints",
        "with_forwarded_clients",
    ],
    "runbook_lib.charts": [
        "decorate_time_axis",
        "new_figure",
        "plot_app_errors",
        "plot_auth_failures",
        "plot_connections_by_application",
        "plot_connections_by_state",
        "plot_cpu",
        "plot_error_rates",
        "plot_failures_per_run",
        "plot_incident_series",
        "plot_ip_timeline",
        "plot_limited_per_minute",
        "plot_limiting_vs_limited",
        "plot_metrics",
        "plot_process_cpu",
        "plot_rss",
        "plot_series",
        "plot_test_heatmap",
    ],
    "runbook_lib.incident": [
        "Assessment",
        "gather",
        "incident_report_markdown",
        "metrics_extra",
        "notification_text",
        "severity_finding",
        "suggest_severity",
        "triage_next_steps",
        "write_postmortem",
    ],
    "runbook_lib.notebook": [
        "explore_by",
        "progress_bar",
        "reading_bar",
        "show_figure",
        "show_findings",
        "show_markdown_document",
        "show_md",
        "show_sources",
        "show_table",
        "show_text",
    ],
    "runbook_lib.remedies": [
        "apply_remedy",
        "containment_text",
        "diagnostic_commands_for",
        "limit_req_text",
        "plan_restart_for",
        "remediate_connections",
        "suggest_limit_req",
    ],
    "runbook_lib.sources.ci": [
        "collect_ci_runs",
        "collect_commit_ranges",
    ],
    "runbook_lib.sources.dependencies": [
        "collect_dependencies",
    ],
    "runbook_lib.sources.host": [
        "CORE_SAMPLES_SCHEMA",
        "DISKS_SCHEMA",
        "EVENTS_SCHEMA",
        "HostSamples",
        "PROCESS_SAMPLES_SCHEMA",
        "SYSTEM_SAMPLES_SCHEMA",
        "SYSTEM_SCHEMA",
        "TCP_SCHEMA",
        "THREAD_SAMPLES_SCHEMA",
        "TOP_PROCESSES_SCHEMA",
        "collect_disks",
        "collect_system_snapshot",
        "collect_tcp_connections",
        "collect_top_processes",
        "read_memory_limit",
        "read_samples",
        "sample_host",
    ],
    "runbook_lib.sources.logs": [
        "collect_access_log",
        "collect_app_log",
    ],
    "runbook_lib.sources.metrics": [
        "collect_metrics_csv",
        "collect_prometheus",
    ],
    "runbook_lib.sources.pg": [
        "collect_activity",
        "collect_pg_log",
    ],
    "runbook_lib.sources.plugins": [
        "collect_culprits",
        "collect_plugin_files",
        "collect_plugin_history",
        "collect_plugin_load_log",
    ],
}


@pytest.mark.parametrize("package", sorted(PINNED))
def test_package_exports_are_pinned(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == PINNED[package]
    for name in module.__all__:
        assert hasattr(module, name), f"{package} lists {name} but has no such attribute"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_import_only_exported_names(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("runbook_lib"):
                exported = getattr(importlib.import_module(node.module), "__all__", None)
                assert exported is not None, f"{path.name} imports from {node.module}, which has no __all__"
                for alias in node.names:
                    assert alias.name in exported, f"{path.name}: {node.module} does not export {alias.name}"
