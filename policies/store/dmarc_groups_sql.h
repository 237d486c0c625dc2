/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_groups_sql - the one query behind pw_store_dmarc_groups, the same
 * text for both backends (store_sqlite.c, store_pg.c): only the
 * placeholders and PostgreSQL's byte-order collation differ.
 *
 * The report job used to read every row and group them in memory: 10
 * million rows would have taken about 2 GB.  Here the database groups
 * them (a sort that SQLite spills to temporary files and PostgreSQL to
 * work_mem-sized runs), and the client gets one row per report record,
 * domain after domain.
 *
 *   g  the rows of the period grouped by the report record's fields,
 *      NULL read as "" as the report writes it; g_k is the lower-cased
 *      policy domain, NULL for rows without the report columns (before
 *      schema version 3), which are only counted by the caller;
 *   w  each group with the id of its domain's newest row (a window over
 *      the groups, not the rows), whose record, discovery method and
 *      spelling of the domain the report states, as before.
 *
 * The disposition is RFC 9990's ActionDispositionType: "pass" for a
 * message that passed under an enforcing policy.
 */
#ifndef PW_DMARC_GROUPS_SQL_H
#define PW_DMARC_GROUPS_SQL_H

#define DMARC_GROUP_KEYS                                                       \
	"g_k, g_ip, g_disp, g_dal, g_sal, g_ovr, g_ef, g_hf, g_dd, g_ds, "     \
	"g_dr, g_sd, g_ss, g_sr"

/* C: "" or PostgreSQL's COLLATE "C" (byte order, as SQLite's BINARY) */
#define DMARC_GROUPS_SQL(since, until, C)                                      \
	"WITH g AS (SELECT CASE WHEN pub_domain <> '' AND pub_record IS NOT "  \
	"NULL AND source_ip IS NOT NULL THEN lower(pub_domain) END AS g_k, "   \
	"coalesce(source_ip, '') AS g_ip, "                                    \
	"CASE WHEN dmarc_result = 'pass' AND coalesce(policy, '') <> 'none' "  \
	"THEN 'pass' WHEN coalesce(disposition, '') = '' THEN 'none' "         \
	"ELSE disposition END AS g_disp, "                                     \
	"coalesce(dkim_aligned, '') AS g_dal, "                                \
	"coalesce(spf_aligned, '') AS g_sal, "                                 \
	"coalesce(override, '') AS g_ovr, coalesce(env_from, '') AS g_ef, "    \
	"coalesce(from_domain, '') AS g_hf, "                                  \
	"coalesce(dkim_domain, '') AS g_dd, "                                  \
	"coalesce(dkim_selector, '') AS g_ds, "                                \
	"coalesce(dkim_result, '') AS g_dr, "                                  \
	"coalesce(spf_domain, '') AS g_sd, coalesce(spf_scope, '') AS g_ss, "  \
	"coalesce(spf_result, '') AS g_sr, count(*) AS g_n, max(id) AS g_last " \
	"FROM dmarc_eval WHERE time >= " since " AND time < " until " "        \
	"GROUP BY " DMARC_GROUP_KEYS "), "                                     \
	"w AS (SELECT g.*, max(g_last) OVER (PARTITION BY g_k) AS w_last "     \
	"FROM g) "                                                             \
	"SELECT CASE WHEN w.g_k IS NULL THEN NULL ELSE r.pub_domain END, "     \
	"r.pub_record, coalesce(r.discovery, ''), g_ip, g_disp, g_dal, g_sal, " \
	"g_ovr, g_ef, g_hf, g_dd, g_ds, g_dr, g_sd, g_ss, g_sr, g_n "          \
	"FROM w JOIN dmarc_eval r ON r.id = w.w_last ORDER BY g_k" C ", "      \
	"g_ip" C ", g_disp" C ", g_dal" C ", g_sal" C ", g_ovr" C ", g_ef" C   \
	", g_hf" C ", g_dd" C ", g_ds" C ", g_dr" C ", g_sd" C ", g_ss" C      \
	", g_sr" C

#endif
