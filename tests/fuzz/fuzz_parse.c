// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness over the receive side of the C library: the parser and
 * the decoder, with the sanitizers watching every read.
 *
 *   fuzz input bytes ──> rtm_parse() with tiny result arrays (so the
 *                        stop-and-resume path runs too)
 *                    ├─> as a batch file: rtm_text_routes() in chunks of
 *                    │     three lines; every line read goes through
 *                    │     rtm_batch_add_line() and parses back
 *                    │     └─> each route record: rtm_build_route() and
 *                    │         rtm_parse() again; the route must survive
 *                    └─> rtm_decode() into a too-small buffer, then into
 *                        one of the size it asked for
 *
 * Any broken invariant calls abort(), which libFuzzer reports as a crash.
 * Built and run by tests/fuzz/run_fuzz.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtm.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: broken: %s\n",		\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

static struct rtm_msg msgs[8];
static struct rtm_route routes[3];
static struct rtm_stats stats[2];
static struct rtm_table_stats tables[5];

static void init(struct rtm_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->msgs = msgs;
	p->msgs_max = sizeof(msgs) / sizeof(msgs[0]);
	p->routes = routes;
	p->routes_max = sizeof(routes) / sizeof(routes[0]);
	p->stats = stats;
	p->stats_max = sizeof(stats) / sizeof(stats[0]);
	p->tables = tables;
	p->tables_max = sizeof(tables) / sizeof(tables[0]);
}

static int same_route(const struct rtm_route *a, const struct rtm_route *b)
{
	size_t alen = a->family == 2 ? 4 : 16;
	unsigned int i;

	if (a->family != b->family || a->dst_len != b->dst_len ||
	    a->type != b->type || a->proto != b->proto ||
	    a->table != b->table || memcmp(a->dst, b->dst, alen) ||
	    a->has_metric != b->has_metric ||
	    (a->has_metric && a->metric != b->metric) ||
	    a->nh_count != b->nh_count)
		return 0;
	if (!a->nh_count &&
	    (a->has_gw != b->has_gw || a->has_oif != b->has_oif ||
	     (a->has_gw && memcmp(a->gateway, b->gateway, alen)) ||
	     (a->has_oif && a->oif != b->oif)))
		return 0;
	for (i = 0; i < a->nh_count; i++) {
		const struct rtm_nexthop *x = &a->nh[i], *y = &b->nh[i];

		if (x->has_gw != y->has_gw || x->has_oif != y->has_oif ||
		    x->weight != y->weight ||
		    (x->has_gw && memcmp(x->gateway, y->gateway, alen)) ||
		    (x->has_oif && x->oif != y->oif))
			return 0;
	}
	return 1;
}

/* A parsed route, built again and parsed again, is the same route. */
static void round_trip(const struct rtm_route *r)
{
	static uint32_t out[1024];
	static struct rtm_msg m2[2];
	static struct rtm_route r2[2];
	static struct rtm_stats s2[1];
	struct rtm_parser p = {
		.msgs = m2, .msgs_max = 2, .routes = r2, .routes_max = 2,
		.stats = s2, .stats_max = 1,
	};
	int len;

	len = rtm_build_route(out, sizeof(out), RTMGR_MSG_NEWROUTE,
			      NLM_F_REQUEST, 1, r);
	CHECK(len > 0);
	CHECK(rtm_parse(&p, out, len) == len);
	CHECK(p.n_msgs == 1 && m2[0].kind == RTM_KIND_ROUTE);
	CHECK(same_route(r, &r2[0]));
}

static void check_records(const struct rtm_parser *p, size_t len)
{
	unsigned int i, prev_end = 0;

	CHECK(p->n_msgs <= p->msgs_max && p->n_routes <= p->routes_max);
	CHECK(p->n_stats <= p->stats_max && p->n_tables <= p->tables_max);
	for (i = 0; i < p->n_msgs; i++) {
		const struct rtm_msg *m = &p->msgs[i];

		CHECK(m->off >= prev_end && m->off < len);
		prev_end = m->off + 1;
		CHECK(m->kind <= RTM_KIND_OTHER);
		CHECK(m->bad < __RTM_BAD_MAX);
		CHECK((m->kind == RTM_KIND_MALFORMED) == (m->bad != RTM_BAD_NONE));
		CHECK(strlen(rtm_bad_str(m->bad)) > 0);
		if (m->ext_ack_len)
			CHECK(m->ext_ack_off + (size_t)m->ext_ack_len <= len);
		if (m->route >= 0) {
			CHECK((unsigned int)m->route < p->n_routes);
			CHECK(m->kind == RTM_KIND_ROUTE || m->kind == RTM_KIND_LOOKUP);
			round_trip(&p->routes[m->route]);
		}
		if (m->kind == RTM_KIND_ROUTE)
			CHECK(m->route >= 0);
		if (m->stats >= 0) {
			const struct rtm_stats *s = &p->stats[m->stats];

			CHECK((unsigned int)m->stats < p->n_stats);
			CHECK(s->table_first + s->table_count <= p->n_tables);
		}
		if (m->kind == RTM_KIND_ERROR)
			CHECK(m->error > 0 && m->error <= 4095);
		if (m->kind == RTM_KIND_ACK)
			CHECK(m->error == 0);
	}
}

/* words sorted by (kind, text), as the caller must give them */
static const struct rtm_word words[] = {
	{ "r", RTM_WORD_GROUP, 0 }, { "route", RTM_WORD_GROUP, 0 },
	{ "a", RTM_WORD_VERB, RTM_VERB_ADD }, { "add", RTM_WORD_VERB, RTM_VERB_ADD },
	{ "append", RTM_WORD_VERB, RTM_VERB_APPEND }, { "del", RTM_WORD_VERB, RTM_VERB_DELETE },
	{ "replace", RTM_WORD_VERB, RTM_VERB_REPLACE },
	{ "dev", RTM_WORD_KEY, RTM_KEY_DEV }, { "metric", RTM_WORD_KEY, RTM_KEY_METRIC },
	{ "proto", RTM_WORD_KEY, RTM_KEY_PROTO }, { "table", RTM_WORD_KEY, RTM_KEY_TABLE },
	{ "via", RTM_WORD_KEY, RTM_KEY_VIA },
	{ "eth0", RTM_WORD_DEV, 2 }, { "lo", RTM_WORD_DEV, 1 },
	{ "main", RTM_WORD_TABLE, 254 }, { "bgp", RTM_WORD_PROTO, 186 },
};

/* The input as a batch file: every line read is in bounds and packs into a
 * request that parses back as the same route. */
static void text_lines(const uint8_t *buf, size_t size)
{
	static struct rtm_line lines[3];
	static uint32_t out[1024];	/* aligned, as rtm_parse wants */
	const struct rtm_words dict = {
		words, sizeof(words) / sizeof(words[0]), 254, 3,
	};
	size_t pos = 0, i;
	uint32_t line_no = 1;

	for (;;) {
		size_t was = pos;
		size_t n = rtm_text_routes(buf, size, &pos, &line_no, &dict, lines, 3);

		CHECK(n <= 3 && pos >= was && pos <= size);
		for (i = 0; i < n; i++) {
			struct rtm_batch b;
			struct rtm_msg m[2];
			struct rtm_route r[2];
			struct rtm_stats s[1];
			struct rtm_parser p = {
				.msgs = m, .msgs_max = 2, .routes = r, .routes_max = 2,
				.stats = s, .stats_max = 1,
			};
			struct rtm_route want = lines[i].route;

			CHECK(lines[i].start + (size_t)lines[i].len <= size);
			CHECK(lines[i].verb <= RTM_VERB_DELETE);
			rtm_batch_init(&b, out, sizeof(out));
			CHECK(rtm_batch_add_line(&b, RTMGR_MSG_NEWROUTE, NLM_F_REQUEST, 1,
						 &lines[i], 1) == 0);
			CHECK(rtm_parse(&p, out, b.len) == (long)b.len);
			CHECK(p.n_msgs == 1 && m[0].kind == RTM_KIND_ROUTE);
			want.has_metric = 1;	/* a NEWROUTE always carries it */
			CHECK(same_route(&want, &r[0]));
		}
		if (n < 3)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtm_parser p;
	size_t off = 0, need;
	uint8_t *buf;
	char small[48], *text;

	/* an exact-size heap copy, so ASan sees any read past the end */
	buf = malloc(size ? size : 1);
	CHECK(buf);
	memcpy(buf, data, size);

	init(&p);
	while (off < size) {
		long n = rtm_parse(&p, buf + off, size - off);

		CHECK(n > 0 && (size_t)n <= size - off);
		check_records(&p, size - off);
		off += n;
	}

	text_lines(buf, size);

	need = rtm_decode(buf, size, small, sizeof(small));
	CHECK(strlen(small) == (need < sizeof(small) ? need : sizeof(small) - 1));
	text = malloc(need + 1);
	CHECK(text);
	CHECK(rtm_decode(buf, size, text, need + 1) == need);
	CHECK(strlen(text) == need);
	free(text);
	free(buf);
	return 0;
}
