"""``runbook alert | serve | replay``: runs triggered by Alertmanager / Grafana webhooks."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from runbook_lib.errors import ParameterError

log = logging.getLogger("runbook")


def _routes(args: argparse.Namespace) -> tuple[list[Any], Path | None]:
    from runbook_lib.alerts.routes import load_routes

    path = Path(args.routes) if args.routes else None
    return load_routes(path), path


def _cmd_alert(args: argparse.Namespace) -> int:
    from runbook_lib.alerts import spool
    from runbook_lib.alerts.incidents import handle_entry
    from runbook_lib.alerts.payloads import PayloadError, parse_body

    routes, _ = _routes(args)
    if args.spooled:
        path = Path(args.spooled)
    else:
        if not args.file:
            raise ParameterError("give a payload FILE or - for stdin", key="FILE")
        body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        try:
            _, raw = parse_body(body)
        except PayloadError as err:
            raise ParameterError(str(err), file=args.file) from err
        path = spool.accept(raw, source="cli")
    outcomes = handle_entry(path, routes, run_timeout_s=args.run_timeout)
    for line in outcomes or ["no runs (duplicate, resolved or unrouted)"]:
        print(line)
    return 1 if any(not o.endswith(": ok") for o in outcomes) else 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from runbook_lib.alerts.receiver import AlertServer, is_loopback, read_token
    from runbook_lib.alerts.worker import Dispatcher

    routes, routes_file = _routes(args)
    token = read_token()
    dispatcher = Dispatcher(routes, workers=args.workers, run_timeout_s=args.run_timeout, routes_file=routes_file)
    server = AlertServer(args.host, args.port, token, dispatcher.submit)
    if not token:
        log.warning("no webhook token configured: listening on loopback only, without authentication")
    assert token or is_loopback(args.host)
    port = server.server_address[1]
    print(f"listening on http://{args.host}:{port} (POST /alerts, GET /healthz)", flush=True)

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    dispatcher.start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        dispatcher.stop()
    print("stopped; unfinished alerts stay in the spool", flush=True)
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from runbook_lib.alerts.incidents import archived_payload, plan, run_trigger
    from runbook_lib.alerts.payloads import parse_payload
    from runbook_lib.alerts.routes import route_for
    from runbook_lib.incident.record import validate_incident_id

    routes, _ = _routes(args)
    incident_id = validate_incident_id(args.incident)
    entry = archived_payload(incident_id, args.payload)
    n = parse_payload(entry["payload"])
    route = route_for(routes, n.labels)
    if route is None:
        raise ParameterError("no route matches this payload's labels", key="--routes")
    trigger = plan(route, n, route.flows, incident_id, "replay")
    log.info("replaying %s", json.dumps(trigger["runs"]))
    outcomes = run_trigger(trigger, run_timeout_s=args.run_timeout)
    for line in outcomes:
        print(line)
    return 1 if any(not o.endswith(": ok") for o in outcomes) else 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--routes", help="routes file (default parameters/routes.yaml)")
    p.add_argument("--run-timeout", type=int, default=900, help="seconds a routed run may take")


def register(sub: Any) -> None:
    p = sub.add_parser("alert", help="handle one Alertmanager/Grafana webhook payload now")
    p.add_argument("file", nargs="?", metavar="FILE|-", help="payload JSON file, or - for stdin")
    p.add_argument("--spooled", help=argparse.SUPPRESS)  # serve's worker: a spool entry
    _common(p)
    p.set_defaults(func=_cmd_alert)

    p = sub.add_parser("serve", help="receive alert webhooks over HTTP and run the routed flows")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9095)
    p.add_argument("--workers", type=int, default=2, help="runs at the same time")
    _common(p)
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("replay", help="re-run the routed flows from an archived alert payload")
    p.add_argument("incident", metavar="ID")
    p.add_argument("--payload", type=int, help="payload number NNN (default: the latest)")
    _common(p)
    p.set_defaults(func=_cmd_replay)
