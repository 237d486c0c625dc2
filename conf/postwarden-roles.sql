-- postwarden-roles.sql - the database and the roles of a shared PostgreSQL
-- store (store = postgresql://...).  Run once, as a superuser, before
-- `postwarden-ctl store init`:
--
--   psql -U postgres -v ON_ERROR_STOP=1 \
--       -v owner_password="'...'" -v milter_password="'...'" \
--       -v reader_password="'...'" -f postwarden-roles.sql
--
-- (each password variable is optional: without it the role has none and
-- can log in only where pg_hba.conf trusts it, e.g. peer on the socket.)
--
-- Least privilege: records are evidence, so only the owner may change the
-- tables, and nobody may rewrite a row.
--   postwarden_owner   owns the database and the tables: `postwarden-ctl
--                      store init` (create, migrate) and `store copy`.
--                      Never configured in a daemon.
--   postwarden_milter  the MTAs' postwarden and postwarden-unsubd: SELECT
--                      and INSERT on every table, no UPDATE, no DELETE, no
--                      TRUNCATE, so a compromised MTA can add records but
--                      cannot rewrite history (and the append-only
--                      triggers refuse UPDATE and DELETE even to the owner).
--   postwarden_reader  `postwarden-ctl audit verify` / `audit report` and
--                      auditors: SELECT only.
-- complaint_hold (complaint-rate holds and releases) has row-level
-- security, created by `store init`: postwarden_milter may add "hold" rows
-- only, so a release (`postwarden-ctl complaints release`) is made with
-- the owner's URI, never by an MTA; postwarden_reader reads it.
-- The audit chain's writers serialise on an advisory lock
-- (pg_advisory_xact_lock), which needs no privilege on any table.

CREATE ROLE postwarden_owner LOGIN;
CREATE ROLE postwarden_milter LOGIN;
CREATE ROLE postwarden_reader LOGIN;
\if :{?owner_password}
ALTER ROLE postwarden_owner PASSWORD :owner_password;
\endif
\if :{?milter_password}
ALTER ROLE postwarden_milter PASSWORD :milter_password;
\endif
\if :{?reader_password}
ALTER ROLE postwarden_reader PASSWORD :reader_password;
\endif

CREATE DATABASE postwarden OWNER postwarden_owner ENCODING 'UTF8'
    TEMPLATE template0;
REVOKE ALL ON DATABASE postwarden FROM PUBLIC;
GRANT CONNECT ON DATABASE postwarden
    TO postwarden_owner, postwarden_milter, postwarden_reader;

\connect postwarden
-- PostgreSQL 15: public belongs to pg_database_owner (postwarden_owner)
-- and PUBLIC may not create in it.  Say so anyway, for older servers.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO postwarden_milter, postwarden_reader;

-- The tables do not exist yet (`store init` creates them as the owner):
-- default privileges give each role its rights on what the owner creates.
ALTER DEFAULT PRIVILEGES FOR ROLE postwarden_owner IN SCHEMA public
    REVOKE ALL ON TABLES FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE postwarden_owner IN SCHEMA public
    GRANT SELECT, INSERT ON TABLES TO postwarden_milter;
ALTER DEFAULT PRIVILEGES FOR ROLE postwarden_owner IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO postwarden_milter;
ALTER DEFAULT PRIVILEGES FOR ROLE postwarden_owner IN SCHEMA public
    GRANT SELECT ON TABLES TO postwarden_reader;
-- The functions (the append-only trigger) are the owner's only.
ALTER DEFAULT PRIVILEGES FOR ROLE postwarden_owner IN SCHEMA public
    REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
