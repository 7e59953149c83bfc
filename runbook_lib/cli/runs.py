"""``runbook run | list | show | record | demo``: the flow runs of an incident (``new`` and the
incident's life are in :mod:`runbook_lib.cli.incident`)."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("runbook")


def _cmd_run(args: argparse.Namespace) -> int:
    incident_id = args.incident
    files = [Path(f) for f in args.file]
    if incident_id == "auto":  # scheduled health run: an incident only on evidence
        from runbook_lib.run.health import run_scheduled

        result = run_scheduled(args.flow, files=files, overrides=args.param or [], cell_timeout_s=args.timeout)
    else:
        from runbook_lib.paths import flow_notebook
        from runbook_lib.run.warm_kernel import WarmKernel

        # first: it boots, and imports what the flow imports, while the run is prepared
        with WarmKernel(preload=flow_notebook(args.flow)) as kernel:
            from runbook_lib.incident.record import create_incident
            from runbook_lib.run.runner import run_flow

            if not incident_id:
                incident_id = create_incident(f"{args.flow} run")["id"]
                log.info("no --incident given: opened %s", incident_id)
            result = run_flow(
                args.flow,
                incident_id,
                files=files,
                overrides=args.param or [],
                cell_timeout_s=args.timeout,
                kernel=kernel,
            )
    print(f"{result.status}: {result.report}")
    print(f"index: {result.index}")
    if result.status != "ok":
        print(f"FlowFailed: {result.flow} {result.status} at {result.error}", file=sys.stderr)
        return 1
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from runbook_lib.paths import flow_notebook
    from runbook_lib.run.params import flow_names, purpose, read_parameters

    for flow in flow_names():
        path = flow_notebook(flow)
        print(f"{flow}: {purpose(path)}")
        if args.brief:
            continue
        for p in read_parameters(path).values():
            print(f"    {p.name} ({p.type_name}, default {p.default!r}){': ' + p.help if p.help else ''}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from runbook_lib.incident.record import incident_dir, load_incident
    from runbook_lib.run.archive import list_runs

    record = load_incident(args.incident)
    print(f"{record['id']}: {record['title']}")
    print(f"  severity: {record.get('severity') or 'not assessed'}   status: {record.get('status')}")
    print(f"  opened:   {record.get('created_at')}   reporter: {record.get('reporter')}")
    print("timeline:")
    for event in record.get("timeline", []):
        print(f"  {event.get('at')}  {event.get('event')}")
    print("runs:")
    for run in list_runs(incident_dir(args.incident)):
        print(f"  {run['folder']}  {run.get('status')}  {run.get('error') or ''}".rstrip())
        for finding in (run.get("findings") or [])[:3]:
            print(f"      [{finding.get('severity')}] {finding.get('summary')}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from runbook_lib.paths import flow_notebook
    from runbook_lib.run.warm_kernel import WarmKernel

    # it boots, and imports what triage imports, while the demo is made
    with nullcontext() if args.no_run else WarmKernel(preload=flow_notebook("triage")) as kernel:
        from runbook_lib.demo import DEMO_DIR, generate_demo
        from runbook_lib.incident.record import create_incident
        from runbook_lib.run.runner import run_flow

        summary = generate_demo(seed=args.seed)
        log.info("demo incident generated in %s (%d access log lines)", DEMO_DIR, summary["access_lines"])
        if kernel is None:
            return 0
        incident_id = create_incident("Demo: API 5xx after deploy", reporter="demo")["id"]
        result = run_flow("triage", incident_id, files=[summary["params"]], kernel=kernel)
    print(f"{result.status}: {result.report}")
    print(f"index: {result.index}")
    return 0 if result.status == "ok" else 1


def _cmd_record(args: argparse.Namespace) -> int:
    from runbook_lib.incident.record import add_timeline_event, load_incident
    from runbook_lib.run.recording import record_activity

    if args.incident:
        load_incident(args.incident)
    if args.background:
        argv = [
            sys.executable,
            "-m",
            "runbook_lib.cli",
            "record",
            "pg",
            "--duration",
            str(args.duration),
            "--interval",
            str(args.interval),
            "--timeout",
            str(args.timeout),
        ]
        argv += ["--incident", args.incident] if args.incident else []
        argv += ["--pg-service", args.pg_service] if args.pg_service else []
        argv += ["--pg-dsn-env", args.pg_dsn_env] if args.pg_dsn_env else []
        child = subprocess.Popen(
            argv, start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        print(f"recording in the background (pid {child.pid}) for {args.duration:g} s")
        return 0
    if args.incident:
        add_timeline_event(
            args.incident,
            f"pg_stat_activity recording started ({args.duration:g} s every {args.interval:g} s)",
            kind="recording",
        )
    path = record_activity(
        args.incident or "",
        pg_service=args.pg_service or "",
        pg_dsn_env=args.pg_dsn_env or "",
        duration_s=args.duration,
        interval_s=args.interval,
        timeout_s=args.timeout,
    )
    if args.incident:
        add_timeline_event(
            args.incident, f"pg_stat_activity recording finished: {path.name}", kind="recording", recording=str(path)
        )
    print(path)
    return 0


def register(sub: Any) -> None:
    """Add this module's subcommands to the ``runbook`` parser."""
    p = sub.add_parser("run", help="run a flow notebook into the incident's archive")
    p.add_argument("flow", help="triage, high_cpu, db_connections, … (see `runbook list`)")
    p.add_argument(
        "--incident",
        help="incident id; a new incident is opened if omitted; auto: the daily health record, "
        "and an incident only when a finding is medium or worse",
    )
    p.add_argument("-f", "--file", action="append", default=[], help="YAML parameters file (repeatable)")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"), help="one parameter")
    p.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds (default 600)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("list", help="the flows, their purpose and parameters")
    p.add_argument("--brief", action="store_true", help="names and purposes only")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("show", help="an incident's record, runs and top findings")
    p.add_argument("incident")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("record", help="record evidence for later analysis (pg: pg_stat_activity samples)")
    p.add_argument("what", choices=["pg"])
    p.add_argument("--incident", help="incident id: the recording goes to reports/<id>/recordings/")
    p.add_argument("--pg-service", help="libpq service name")
    p.add_argument("--pg-dsn-env", help="name of an env var holding the DSN")
    p.add_argument("--duration", type=float, default=600.0, help="seconds to record (default 600)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between samples (default 5)")
    p.add_argument("--timeout", type=float, default=5.0, help="connect/statement timeout in seconds")
    p.add_argument("--background", action="store_true", help="detach and record in the background")
    p.set_defaults(func=_cmd_record)

    p = sub.add_parser("demo", help="generate the demo incident and run triage on it")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-run", action="store_true", help="only generate the demo files")
    p.set_defaults(func=_cmd_demo)
