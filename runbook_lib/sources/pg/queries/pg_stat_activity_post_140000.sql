-- pg_stat_activity for PostgreSQL 14 and later (through 17): leader_pid and query_id.
-- Every variant returns the same columns, NULL-filled where the server lacks them.
-- pg_blocking_pids() takes the lock manager's locks, so it is only asked for backends
-- that are actually waiting on a heavyweight lock.
SELECT
    now() AS sampled_at,
    a.pid,
    a.leader_pid,
    a.datname,
    a.usename,
    r.rolsuper AS usesuper,
    a.application_name,
    host(a.client_addr) AS client_addr,
    a.backend_type,
    a.state,
    a.wait_event_type,
    a.wait_event,
    a.backend_start,
    a.xact_start,
    a.query_start,
    a.state_change,
    a.query_id,
    left(a.query, %(query_chars)s) AS query,
    CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END AS blocked_by
FROM pg_stat_activity a
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.pid <> pg_backend_pid()
ORDER BY a.pid
