"""Pure analyses: frames in, frames or Findings out. Never import sources (I/O)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.analysis.ci_findings import ci_next_steps, detect_culprits, find_ci_findings, history_window
    from runbook_lib.analysis.connection_findings import connection_next_steps, find_connection_findings
    from runbook_lib.analysis.connections import (
        breakdown,
        count_by,
        detect_blocking_tree,
        detect_idle_candidates,
        detect_idle_in_transaction,
        detect_leaks,
        detect_long_running,
        detect_utilisation,
        latest,
        rank_growth,
    )
    from runbook_lib.analysis.cpu import (
        busy_processes,
        correlate_cpu_with_traffic,
        cpu_series,
        detect_high_cpu,
        find_cpu_culprit,
        process_share_over_time,
        rank_cpu_processes,
        rank_threads,
    )
    from runbook_lib.analysis.dependencies import find_dependency_findings
    from runbook_lib.analysis.deploy_impact import assess_deploy_impact
    from runbook_lib.analysis.endpoints import with_endpoints, with_forwarded_clients
    from runbook_lib.analysis.host_logs import MEMORY_PATTERN, SLOW_PATTERN, find_log_signals, rank_log_shapes
    from runbook_lib.analysis.memory import detect_restarts, find_memory_leaks, leaking, rank_rss_trends
    from runbook_lib.analysis.memory_metrics import find_gc_activity, find_metric_memory_leaks, metric_as_processes
    from runbook_lib.analysis.pg_log_events import (
        EVENT_KINDS,
        find_pg_log_findings,
        pg_log_event_rows,
        pg_log_events_per_minute,
    )
    from runbook_lib.analysis.plugin_rules import tree_is_valid
    from runbook_lib.analysis.plugins import (
        added_since,
        detect_plugin_problems,
        find_plugin_findings,
        invalid_files,
        list_components,
        plugin_next_steps,
        rollback_command,
        summarise_load_log,
    )
    from runbook_lib.analysis.postmortem import (
        compute_metrics,
        error_budget,
        find_postmortem_findings,
        merge_timeline,
        metrics_table,
        per_minute,
        response_verdict,
    )
    from runbook_lib.analysis.postmortem_md import cause_findings, postmortem_markdown
    from runbook_lib.analysis.rates import app_error_rates, find_error_spike, status_rates, window_error_rate
    from runbook_lib.analysis.resources import find_resource_findings
    from runbook_lib.analysis.security import (
        auth_failures_per_minute,
        choose_suspect,
        detect_app_auth_failures,
        ip_timeline,
        rank_auth_failures,
        rank_scanners,
        rank_transfer,
        rank_user_agents,
    )
    from runbook_lib.analysis.security_findings import (
        find_app_auth_failures,
        find_credential_stuffing,
        find_exfiltration,
        find_scanners,
        find_user_agents,
        security_next_steps,
        suspicious_ips,
    )
    from runbook_lib.analysis.signatures import error_lines, find_top_error_finding, summarise_errors
    from runbook_lib.analysis.tests_history import (
        detect_broken,
        detect_flaky,
        detect_infrastructure,
        detect_outcome_matrix,
        detect_timeout_trends,
        outcomes_per_test,
        rank_slowest,
        rank_test_history,
        timeout_limit,
    )
    from runbook_lib.analysis.traffic import (
        detect_bursts,
        detect_retry_storms,
        detect_upstream_quota,
        limited_per_minute,
        quota_per_minute,
        rank_limited,
    )
    from runbook_lib.analysis.traffic_findings import (
        find_bursts,
        find_rate_limiting,
        find_retry_storms,
        find_upstream_quota,
        rate_limit_next_steps,
    )
    from runbook_lib.analysis.views import status_matrix
    from runbook_lib.analysis.vulnerabilities import (
        audit_frame,
        find_vulnerabilities,
        rank_vulnerable_packages,
        severity_counts,
    )

__all__ = [
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
    "per_minute",
    "pg_log_event_rows",
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
    "outcomes_per_test",
    "timeout_limit",
    "tree_is_valid",
    "window_error_rate",
    "with_endpoints",
    "with_forwarded_clients",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
