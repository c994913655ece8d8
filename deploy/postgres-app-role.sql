-- Run once by the postgres image when the database is first created (docker-compose.yml mounts
-- it into /docker-entrypoint-initdb.d). The image's POSTGRES_USER owns the tables and runs the
-- migrations; web, worker and beat connect as this role instead, which owns nothing, is not a
-- superuser and cannot bypass row-level security (docs/architecture.md, "Tenancy"). `migrate`
-- grants it what it needs on every table (DATABASE_APP_ROLE). Change the password for real use.
CREATE ROLE pulse_app LOGIN PASSWORD 'pulse_app' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
