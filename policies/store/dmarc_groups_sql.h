/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_groups_sql - the two queries behind pw_store_dmarc_groups, the same
 * text for both backends (store_sqlite.c, store_pg.c): only the
 * placeholders and PostgreSQL's byte-order collation differ.
 *
 * The report job used to read every row and group them in memory: 10
 * million rows would have taken about 2 GB.  Here the database groups
 * them (a sort that SQLite spills to temporary files and PostgreSQL to
 * work_mem-sized runs), and the client gets one row per report record,
 * domain after domain.
 *
 * The query only groups and sorts: one sort of the rows (the ORDER BY is
 * the GROUP BY, so both databases use the grouping's order), no window,
 * no join, no second sort.  Each group comes with the id of its newest
 * row (g_last); the domain's newest row, whose record, discovery method
 * and spelling of the domain the report states, is looked up by id once
 * per domain (DMARC_NEWEST_SQL) by pw_store_dmarc_gbuf (store.c), which
 * holds one domain's groups until then.  (The first version found that
 * row with a window over the groups and joined it back to every group:
 * about twice the CPU of grouping in memory, per group, not per row.)
 *
 * g_k is the lower-cased policy domain, NULL for rows without the report
 * columns (before schema version 3), which are only counted by the
 * caller; the other fields are NULL read as "" as the report writes
 * them.  The disposition is RFC 9990's ActionDispositionType: "pass" for
 * a message that passed under an enforcing policy.
 *
 * C is "" (SQLite, whose default BINARY is byte order) or PostgreSQL's
 * COLLATE "C", put on the grouped columns themselves so that the GROUP
 * BY and the ORDER BY are the same sort, in byte order whatever the
 * database's default collation.
 */
#ifndef PW_DMARC_GROUPS_SQL_H
#define PW_DMARC_GROUPS_SQL_H

#define DMARC_GROUP_KEYS                                                       \
	"g_k, g_ip, g_disp, g_dal, g_sal, g_ovr, g_ef, g_hf, g_dd, g_ds, "     \
	"g_dr, g_sd, g_ss, g_sr"

/* columns: the 14 keys, count, newest id */
#define DMARC_GROUPS_SQL(since, until, C)                                      \
	"SELECT " DMARC_GROUP_KEYS ", count(*), max(id) FROM (SELECT id, "     \
	"CASE WHEN pub_domain <> '' AND pub_record IS NOT NULL AND "           \
	"source_ip IS NOT NULL THEN lower(pub_domain) END" C " AS g_k, "       \
	"coalesce(source_ip, '')" C " AS g_ip, "                               \
	"CASE WHEN dmarc_result = 'pass' AND coalesce(policy, '') <> 'none' "  \
	"THEN 'pass' WHEN coalesce(disposition, '') = '' THEN 'none' "         \
	"ELSE disposition END" C " AS g_disp, "                                \
	"coalesce(dkim_aligned, '')" C " AS g_dal, "                           \
	"coalesce(spf_aligned, '')" C " AS g_sal, "                            \
	"coalesce(override, '')" C " AS g_ovr, "                               \
	"coalesce(env_from, '')" C " AS g_ef, "                                \
	"coalesce(from_domain, '')" C " AS g_hf, "                             \
	"coalesce(dkim_domain, '')" C " AS g_dd, "                             \
	"coalesce(dkim_selector, '')" C " AS g_ds, "                           \
	"coalesce(dkim_result, '')" C " AS g_dr, "                             \
	"coalesce(spf_domain, '')" C " AS g_sd, "                              \
	"coalesce(spf_scope, '')" C " AS g_ss, "                               \
	"coalesce(spf_result, '')" C " AS g_sr "                               \
	"FROM dmarc_eval WHERE time >= " since " AND time < " until ") AS e "  \
	"GROUP BY " DMARC_GROUP_KEYS " ORDER BY " DMARC_GROUP_KEYS

/* the domain's newest row: its spelling, record, discovery method */
#define DMARC_NEWEST_SQL(id)                                                   \
	"SELECT pub_domain, pub_record, coalesce(discovery, '') FROM "         \
	"dmarc_eval WHERE id = " id

#endif
