-- Connection limits that decide how many slots ordinary roles can use.
-- reserved_connections exists from PostgreSQL 16; reading it through pg_settings
-- makes it NULL (not an error) on older servers.
SELECT
    current_setting('server_version_num')::integer AS server_version_num,
    current_setting('max_connections')::integer AS max_connections,
    current_setting('superuser_reserved_connections')::integer AS superuser_reserved_connections,
    (SELECT setting::integer FROM pg_settings WHERE name = 'reserved_connections')
        AS reserved_connections,
    pg_backend_pid() AS own_pid
