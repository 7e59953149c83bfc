"""CI evidence: JUnit XML reports of CI runs (junit.py reads one report, runs.py a history)."""
