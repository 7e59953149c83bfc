"""Alert-triggered runs: webhook payloads (Alertmanager v4, Grafana) → routes → incidents → runs.

``payloads`` parses and validates, ``routes`` chooses flows and parameters, ``spool`` keeps
accepted payloads durable until their runs end, ``incidents`` maps alert groups to incidents,
``receiver`` is the HTTP front door and ``worker`` schedules runs with bounded concurrency.
"""
