-- postwarden-roles.sql - the database and the roles of a shared PostgreSQL
-- store (store = postgresql://...).  Run once, as a superuser, before
-- `postwarden-ctl store init`:
--
--   psql -U postgres -v ON_ERROR_STOP=1 \
--       -v owner_password="'...'" -v milter_password="'...'" \
--       -v reader_password="'...'" -v report_password="'...'" \
--       -f postwarden-roles.sql
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
--   postwarden_report  `postwarden-ctl dmarc report` (the daily timer,
--                      dmarc_report_store): reads dmarc_eval, records what
--                      it sent in dmarc_report_sent, and deletes the DMARC
--                      rows older than dmarc_keep_days.  Its grants are
--                      made by `store init` (schema version 4), when the
--                      tables exist: SELECT and DELETE on dmarc_eval,
--                      SELECT, INSERT and DELETE on dmarc_report_sent,
--                      SELECT on pw_schema; nothing else.  The decision
--                      (issue 11): DMARC rows are kept for reports, not as
--                      evidence forever, so they may be deleted - but only
--                      by this role and the owner, and a trigger refuses,
--                      to everybody, any UPDATE and the DELETE of a row
--                      younger than 7 days (PW_DMARC_KEEP_MIN_DAYS).  The
--                      milter's role still cannot delete anything, and has
--                      no right on dmarc_report_sent.
-- The sending quota counts (table quota_delta, issue 17) follow the same
-- rule: each MTA appends what it counted, and the fleet's use is the sum,
-- so the milter needs no UPDATE there either.
-- complaint_hold (complaint-rate holds and releases) has row-level
-- security, created by `store init`: postwarden_milter may add "hold" rows
-- only, so a release (`postwarden-ctl complaints release`) is made with
-- the owner's URI, never by an MTA; postwarden_reader reads it.
-- The audit chain's writers serialise on an advisory lock
-- (pg_advisory_xact_lock), which needs no privilege on any table.

CREATE ROLE postwarden_owner LOGIN;
CREATE ROLE postwarden_milter LOGIN;
CREATE ROLE postwarden_reader LOGIN;
CREATE ROLE postwarden_report LOGIN;
\if :{?owner_password}
ALTER ROLE postwarden_owner PASSWORD :owner_password;
\endif
\if :{?milter_password}
ALTER ROLE postwarden_milter PASSWORD :milter_password;
\endif
\if :{?reader_password}
ALTER ROLE postwarden_reader PASSWORD :reader_password;
\endif
\if :{?report_password}
ALTER ROLE postwarden_report PASSWORD :report_password;
\endif

CREATE DATABASE postwarden OWNER postwarden_owner ENCODING 'UTF8'
    TEMPLATE template0;
REVOKE ALL ON DATABASE postwarden FROM PUBLIC;
GRANT CONNECT ON DATABASE postwarden
    TO postwarden_owner, postwarden_milter, postwarden_reader,
    postwarden_report;

\connect postwarden
-- PostgreSQL 15: public belongs to pg_database_owner (postwarden_owner)
-- and PUBLIC may not create in it.  Say so anyway, for older servers.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO postwarden_milter, postwarden_reader,
    postwarden_report;

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
