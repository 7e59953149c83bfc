-- Per-role connection limits (-1 = no limit) of roles that can log in.
SELECT rolname, rolconnlimit, rolsuper
FROM pg_roles
WHERE rolcanlogin
ORDER BY rolname
