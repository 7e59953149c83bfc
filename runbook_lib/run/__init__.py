"""Running flows: parameters, the papermill runner, the archive, the HTML export, recordings.

Importing any of it blocks one optional import: jsonschema (under nbformat, papermill and
nbconvert) builds ``rfc3987_syntax``'s Lark grammar at import for its "iri" format check,
about 1.5 s of CPU in every ``runbook run``. Nothing here validates that format; a ``None``
entry in ``sys.modules`` makes jsonschema skip it as if the package were not installed.
"""

import sys

if "rfc3987_syntax" not in sys.modules:
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
