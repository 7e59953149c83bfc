"""Running flows: parameters, the papermill runner, the archive, the HTML export, recordings.

Importing any of it blocks the optional format checkers of jsonschema (under nbformat,
papermill and nbconvert). ``rfc3987_syntax`` builds a Lark grammar at import for the "iri"
format, about 1.5 s of CPU in every ``runbook run``; the others (``isoduration``, which
pulls ``arrow``, ``rfc3986_validator``, ``rfc3339_validator``, ``webcolors``,
``uri_template``, ``fqdn``) cost about 45 ms more. nbformat validates without a format
checker and only jsonschema imports them; a ``None`` entry in ``sys.modules`` makes
jsonschema skip each as if the package were not installed.
"""

import sys

_UNUSED_FORMAT_CHECKERS = (
    "rfc3987_syntax",
    "isoduration",
    "rfc3986_validator",
    "rfc3339_validator",
    "webcolors",
    "uri_template",
    "fqdn",
)
for _name in _UNUSED_FORMAT_CHECKERS:
    if _name not in sys.modules:
        sys.modules[_name] = None  # type: ignore[assignment]
