"""Evidence sources: I/O only; each ``collect_*`` returns a Collected and never raises on a broken world."""
