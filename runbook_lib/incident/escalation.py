"""The Escalation Matrix as a schedule: when L1→L2→L3→Management is due for an incident.

Each timeframe of the runbook's "Escalation Timeframes" table counts from the previous step
(L2→L3 "30 minutes" is 30 minutes after L2 was brought in), and the first from the start
of the incident; "Immediate" is due with the previous step. "Next business day" is 09:00
UTC of the next weekday, "Next day" 24 hours later; "As needed" and "Not required" are
never due. A step is overdue when its time has passed and the incident was not resolved
before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from runbook_lib.incident.severity import POLICIES

#: The Escalation Matrix levels and their contacts, in order.
LEVELS = {
    "L1": ("L1 Support (First Response)", "#support-oncall", "support-oncall@ai-writing-guide.com"),
    "L2": ("L2 Engineering (Technical Resolution)", "#engineering-oncall", "engineering-oncall@ai-writing-guide.com"),
    "L3": ("L3 Architecture (Complex Issues)", "@architecture-lead", "architecture@ai-writing-guide.com"),
    "Management": ("Management (Business Impact)", "@engineering-manager", "management@ai-writing-guide.com"),
}
STEPS = (("L1 → L2", "L2"), ("L2 → L3", "L3"), ("L3 → Management", "Management"))
#: Start of the business day for "Next business day" (the runbook names no time zone).
BUSINESS_DAY_START_H = 9
_UNIT = {"minute": pd.Timedelta(minutes=1), "hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1)}
_DURATION = re.compile(r"^(\d+)\s*(minute|hour|day)s?$")


def parse_timeframe(text: str) -> pd.Timedelta | None:
    """``"30 minutes"`` → 30 min, ``"Immediate"`` → 0; ``None`` for no fixed time."""
    words = text.strip().lower()
    if words == "immediate":
        return pd.Timedelta(0)
    if words == "next day":
        return pd.Timedelta(days=1)
    match = _DURATION.match(words)
    if match:
        return int(match[1]) * _UNIT[match[2]]
    return None


def next_business_day(after: pd.Timestamp) -> pd.Timestamp:
    day = (after + pd.Timedelta(days=1)).normalize()
    while day.weekday() >= 5:
        day += pd.Timedelta(days=1)
    return day + pd.Timedelta(hours=BUSINESS_DAY_START_H)


@dataclass(frozen=True)
class EscalationStep:
    step: str
    to: str
    timeframe: str
    due_at: pd.Timestamp | None
    state: str  # overdue | due | not needed (resolved before) | no fixed time

    def line(self) -> str:
        name, slack, email = LEVELS[self.to]
        when = self.due_at.strftime("%Y-%m-%d %H:%M UTC") if self.due_at is not None else "—"
        mark = "OVERDUE" if self.state == "overdue" else self.state
        return f"{self.step} ({self.timeframe}): {when} [{mark}] → {name}: {slack}, {email}"


def escalation_schedule(
    level: str, start: pd.Timestamp, *, now: pd.Timestamp, resolved_at: pd.Timestamp | None = None
) -> list[EscalationStep]:
    """The escalation steps for severity *level* of an incident that started at *start*."""
    policy = POLICIES[level]  # type: ignore[index]
    steps: list[EscalationStep] = []
    previous: pd.Timestamp | None = start
    for step, to in STEPS:
        frame = policy.escalation[step]
        due: pd.Timestamp | None
        if previous is None:
            due = None
        elif frame.strip().lower() == "next business day":
            due = next_business_day(previous)
        else:
            delta = parse_timeframe(frame)
            due = previous + delta if delta is not None else None
        if due is None:
            state = "no fixed time"
        elif resolved_at is not None and resolved_at <= due:
            state = "not needed (resolved before)"
        elif due <= now:
            state = "overdue"
        else:
            state = "due"
        steps.append(EscalationStep(step, to, frame, due, state))
        previous = due
    return steps


def schedule_text(steps: list[EscalationStep], level: str, start: pd.Timestamp) -> str:
    head = f"Escalation schedule ({level}, from {start.strftime('%Y-%m-%d %H:%M UTC')}):"
    return "\n".join([head, *[f"- {s.line()}" for s in steps]])
