"""Claude Code plugins: the files (``files``), their git history (``history``) and the
application log's load errors (``load_log``)."""
