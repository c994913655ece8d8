-- Run once by the postgres image when the database is first created (docker-compose.yml mounts
-- it into /docker-entrypoint-initdb.d). The image's POSTGRES_USER owns the tables and runs the
-- migrations; the web connects as pulse_app, worker and beat as pulse_jobs: roles that own
-- nothing, are not superusers and cannot bypass row-level security (docs/architecture.md,
-- "Tenancy"). Only pulse_jobs may span organisations. `migrate` grants both what they need on
-- every table (DATABASE_APP_ROLE, DATABASE_JOBS_ROLE). Change the passwords for real use.
CREATE ROLE pulse_app LOGIN PASSWORD 'pulse_app' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE pulse_jobs LOGIN PASSWORD 'pulse_jobs' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
