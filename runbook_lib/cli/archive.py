"""``runbook rebuild | purge | pin | list-incidents``: the archive as a whole."""

from __future__ import annotations

import argparse
from typing import Any


def _cmd_rebuild(args: argparse.Namespace) -> int:
    from runbook_lib.run.retention import rebuild

    for path in rebuild(args.incident, args.run or ""):
        print(f"rebuilt {path}")
    return 0


def _cmd_purge(args: argparse.Namespace) -> int:
    from runbook_lib.run.retention import parse_age, purge

    older = parse_age(args.older_than, key="older-than")
    heavy = parse_age(args.keep_heavy, key="keep-heavy") if args.keep_heavy else None
    plans = purge(older, heavy, dry_run=args.dry_run)
    verb = "would drop" if args.dry_run else "dropped"
    total = 0
    for plan in plans:
        if plan.files:
            total += plan.bytes
            print(f"{plan.incident_id}: {verb} {len(plan.files)} file(s), {plan.bytes} bytes")
        elif plan.kept_because:
            print(f"{plan.incident_id}: kept ({plan.kept_because})")
    print(f"{verb} {total} bytes in total" + (" (dry run: nothing deleted)" if args.dry_run else ""))
    return 0


def _cmd_pin(args: argparse.Namespace) -> int:
    from runbook_lib.run.retention import pin

    pin(args.incident, pinned=not args.unpin)
    print(f"{args.incident} {'unpinned' if args.unpin else 'pinned: kept by every purge'}")
    return 0


def _cmd_list_incidents(args: argparse.Namespace) -> int:
    from runbook_lib.run.catalog import incident_rows, row_text
    from runbook_lib.run.retention import parse_age
    from runbook_lib.timewindow import utc_now

    since = utc_now() - parse_age(args.since, key="since") if args.since else None
    for row in incident_rows():
        if args.open and not row.is_open:
            continue
        if since is not None and (row.opened_at is None or row.opened_at < since):
            continue
        print(row_text(row))
    return 0


def register(sub: Any) -> None:
    """Add this module's subcommands to the ``runbook`` parser."""
    p = sub.add_parser("rebuild", help="re-render report.html and the indexes from report.ipynb + findings.json")
    p.add_argument("incident")
    p.add_argument("run", nargs="?", help="run folder or its number (default: every run)")
    p.set_defaults(func=_cmd_rebuild)

    p = sub.add_parser("purge", help="retention: drop heavy files of old resolved incidents")
    p.add_argument("--older-than", required=True, help="e.g. 90d: keep only the records of incidents resolved before")
    p.add_argument("--keep-heavy", help="e.g. 30d: drop report.ipynb/report.html of incidents resolved before")
    p.add_argument("--dry-run", action="store_true", help="say what would be dropped, delete nothing")
    p.set_defaults(func=_cmd_purge)

    p = sub.add_parser("pin", help="keep an incident out of every purge")
    p.add_argument("incident")
    p.add_argument("--unpin", action="store_true")
    p.set_defaults(func=_cmd_pin)

    p = sub.add_parser("list-incidents", help="every incident, newest first (as reports/index.html)")
    p.add_argument("--open", action="store_true", help="only incidents not resolved or closed")
    p.add_argument("--since", help="opened within, e.g. 7d")
    p.set_defaults(func=_cmd_list_incidents)
