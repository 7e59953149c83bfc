"""One problem found in a plugin file, and the frame that holds many."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Level = Literal["error", "warning"]

#: Columns of the problems frame (one row per problem).
PROBLEM_COLUMNS = ("file", "line", "level", "kind", "rule", "message")


@dataclass(frozen=True)
class Problem:
    """``file:line: level: message``; ``rule`` is a short stable id tests and CI can match."""

    file: str
    line: int
    level: Level
    kind: str
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        return f"{self.file}:{self.line}: {self.level}: {self.message}"
