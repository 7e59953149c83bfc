"""``runbook new | status | severity | note | action | notify``: the incident's life.

Every command checks its input before writing; a bad value is one line and exit 2, and
the record is unchanged. ``--at`` back-dates an event (write-ups happen after the fact).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

log = logging.getLogger("runbook")
LEVELS = ["P0", "P1", "P2", "P3"]


def _refresh_index(incident_id: str) -> None:
    from runbook_lib.run.archive import render_index

    render_index(incident_id)


def _cmd_new(args: argparse.Namespace) -> int:
    from runbook_lib.incident.record import create_incident

    record = create_incident(
        args.title,
        severity=args.severity or "",
        reporter=args.reporter or "",
        started_at=args.started_at or None,
        detected_at=args.detected_at or None,
        commander=args.commander or "",
    )
    _refresh_index(record["id"])
    print(record["id"])
    log.info("created %s", record["id"])
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from runbook_lib.incident.life import set_status

    record = set_status(args.incident, args.status, args.at, note=args.note or "", by=args.by or "")
    _refresh_index(args.incident)
    print(f"{args.incident}: {record['status']}")
    return 0


def _cmd_severity(args: argparse.Namespace) -> int:
    from runbook_lib.incident.life import set_severity

    record = set_severity(args.incident, args.level, why=args.why or "", at=args.at, by=args.by or "")
    _refresh_index(args.incident)
    print(f"{args.incident}: severity {record['severity']}")
    return 0


def _cmd_note(args: argparse.Namespace) -> int:
    from runbook_lib.incident.life import add_note

    add_note(args.incident, args.text, at=args.at, by=args.by or "")
    _refresh_index(args.incident)
    print(f"{args.incident}: note recorded")
    return 0


def _cmd_action(args: argparse.Namespace) -> int:
    from runbook_lib.errors import ParameterError
    from runbook_lib.incident.life import add_action, close_action

    if args.done is not None:
        if args.text:
            raise ParameterError("give either an action text or --done N, not both", key="action")
        close_action(args.incident, args.done, at=args.at)
        print(f"{args.incident}: action item {args.done} done")
    else:
        if not args.text or not args.owner or not args.due:
            raise ParameterError("a new action item needs TEXT, --owner and --due", key="action")
        record = add_action(args.incident, args.text, owner=args.owner, due=args.due, at=args.at)
        print(f"{args.incident}: action item {record['action_items'][-1]['number']} recorded")
    _refresh_index(args.incident)
    return 0


def _cmd_impact(args: argparse.Namespace) -> int:
    from runbook_lib.incident.life import set_impact

    set_impact(args.incident, services=args.service, users=args.users or "", commander=args.commander or "", at=args.at)
    _refresh_index(args.incident)
    print(f"{args.incident}: impact recorded")
    return 0


def _cmd_notify(args: argparse.Namespace) -> int:
    from runbook_lib.incident.notify import compose, record_sent

    text, schedule = compose(args.incident, args.kind, meeting_at=args.meeting_at)
    print(text)
    print()
    print(schedule)
    if args.sent:
        record_sent(args.incident, args.kind, text, at=args.at)
        _refresh_index(args.incident)
        log.info("recorded on the timeline as sent")
    return 0


def register(sub: Any) -> None:
    """Add this module's subcommands to the ``runbook`` parser."""
    p = sub.add_parser("new", help="open an incident and allocate its INC-YYYY-MM-DD-NNN id")
    p.add_argument("--title", required=True)
    p.add_argument("--severity", choices=LEVELS)
    p.add_argument("--reporter")
    p.add_argument("--started-at", help="when impact started (ISO-8601, UTC if no offset)")
    p.add_argument("--detected-at", help="when it was detected (default: now)")
    p.add_argument("--commander", help="incident commander")
    p.set_defaults(func=_cmd_new)

    at_help = "when it happened (ISO-8601, UTC if no offset; default now)"
    p = sub.add_parser("status", help="acknowledged, mitigated, resolved or closed (milestones in order)")
    p.add_argument("incident")
    p.add_argument("status", help="acknowledged | mitigated | resolved | closed")
    p.add_argument("--at", help=at_help)
    p.add_argument("--note")
    p.add_argument("--by", help="who (default: nobody named)")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("severity", help="change the severity, with the reason (kept in its history)")
    p.add_argument("incident")
    p.add_argument("level", help="P0 | P1 | P2 | P3")
    p.add_argument("--why")
    p.add_argument("--at", help=at_help)
    p.add_argument("--by")
    p.set_defaults(func=_cmd_severity)

    p = sub.add_parser("note", help="a note on the incident timeline")
    p.add_argument("incident")
    p.add_argument("text")
    p.add_argument("--at", help=at_help)
    p.add_argument("--by")
    p.set_defaults(func=_cmd_note)

    p = sub.add_parser("action", help="a post-incident action item (or --done N to close one)")
    p.add_argument("incident")
    p.add_argument("text", nargs="?")
    p.add_argument("--owner")
    p.add_argument("--due", help="YYYY-MM-DD")
    p.add_argument("--done", type=int, metavar="N", help="mark action item N done")
    p.add_argument("--at", help=at_help)
    p.set_defaults(func=_cmd_action)

    p = sub.add_parser("impact", help="affected services and users, incident commander")
    p.add_argument("incident")
    p.add_argument("--service", action="append", default=[], help="an affected service (repeatable)")
    p.add_argument("--users", help="users affected: a number or a share, e.g. 12%%")
    p.add_argument("--commander")
    p.add_argument("--at", help=at_help)
    p.set_defaults(func=_cmd_impact)

    p = sub.add_parser("notify", help="the runbook's communication text for this incident, ready to paste")
    p.add_argument("incident")
    p.add_argument("--kind", required=True, help="notification | update | resolution | postmortem-invite")
    p.add_argument("--meeting-at", help="post-mortem time (must be 24-48 h after resolution)")
    p.add_argument("--sent", action="store_true", help="record the text on the timeline as sent")
    p.add_argument("--at", help="when it was sent (default now)")
    p.set_defaults(func=_cmd_notify)
