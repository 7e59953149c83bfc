-- Per-database connection limits (-1 = no limit) of databases that accept connections.
SELECT datname, datconnlimit
FROM pg_database
WHERE datallowconn
ORDER BY datname
