"""Incidents: the record on disk (record.py), the runbook's severity model (severity.py)
and the runbook's communication templates (comms.py)."""
