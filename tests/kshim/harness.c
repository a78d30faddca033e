// SPDX-License-Identifier: GPL-2.0
/*
 * kernel/table.c, kernel/trie.c, kernel/dump.c and kernel/device.c, compiled
 * unmodified against the shim in tests/kshim/include, driven by random
 * operations from a seed and checked against a reference model after every
 * one.
 *
 *   harness SEED OPS
 *
 *   random op ──> table.c / trie.c / dump.c / device.c (the module's code)
 *       │              │ rtmgr_fill_route(), rtmgr_event_route(): this
 *       │              │ file, checks each route a dump emits and each
 *       │              │ change a device purge makes when it happens
 *       └──> model ────┴──> check_all(): every trie node, count, byte of
 *                           memory, device count and live object agrees
 *
 * The model is a hash of (table, family, prefix, length, metric) -> the
 * route the trie must hold, its attributes and the pointer itself.  Keys
 * take their metrics from a small pool, so that a prefix often holds 2-4
 * routes (a struct rtmgr_mset, sorted by metric), and the operations that
 * take a key use an exact metric or any_metric (the prefix's lowest).
 * Allocation failures are injected into route sets (which must then change
 * nothing: a new metric of a prefix allocates a new set), dump starts and
 * table_init; dumps resume over many small skbs, often between two metrics
 * of one prefix, with writers (and whole-table flushes) and grace periods in
 * between, in cond_resched() inside the walk, and (a writer on another CPU)
 * between two routes of one skb; a dump nothing changed under must send
 * exactly the model, sorted by (table, family, address, length, metric),
 * and flushes take some metrics of a prefix and leave others; readers hold
 * what they found (routes, nodes, the set of a node) while writers remove
 * it, so anything freed before a grace period is caught.  Device purges
 * (the netdevice notifier of device.c) must change exactly the routes
 * through the device, in key order, every metric of a prefix.
 *
 * Any mismatch prints what and where, and exits 1; success prints one
 * "kshim: ..." line of counts.  ASan and UBSan watch every access and LSan
 * checks for leaks at exit.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/ktime.h>
#include <linux/netdevice.h>
#include <linux/slab.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "rtmgr.h"
#include "trie.h"
#include "kshim.h"

#define MAXIF		8		/* devices 1 .. MAXIF; 0 is none */
#define MODEL_MAX	4096
#define HASH_SLOTS	16384		/* power of two, > 2 * MODEL_MAX */
#define DUMP_PORTID	4242

static const u32 table_ids[] = { RTMGR_TABLE_MAIN, 1, 2, 100000, U32_MAX };
#define NTABLES	(sizeof(table_ids) / sizeof(table_ids[0]))

static unsigned long long seed;
static unsigned long op_no;
static const char *op_name = "init";

static struct {
	unsigned long checks, sets, refused, removes, finds, lookups;
	unsigned long metric_inserts, removes_any, finds_any, lookups_multi;
	unsigned long resumed_inside, exact_dumps, partial_flushes, sets_at_branch;
	unsigned long purges, purged_changed, purged_removed, purge_same_prefix;
	unsigned long long prefixes_by_count[6];	/* 1, 2, 3, 4, 5, 6+ routes */
	unsigned long dumps, dump_skbs, dump_routes, dump_ended_small;
	unsigned long dump_start_refused, bulk_lookups, flushes, flushed;
	unsigned long free_alls, hook_writes, bulk_fills, held_reads, inner_writes;
	unsigned long long size_sum;
	unsigned int size_max;
} st;

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "harness: seed %llu, op %lu (%s): ", seed, op_no, op_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);	/* no leak report about the state it stopped in */
}

#define CHECK(cond, ...) do {						\
	st.checks++;							\
	if (!(cond))							\
		fail(__VA_ARGS__);					\
} while (0)

/* ---- randomness ---------------------------------------------------------- */

static u64 rng;

static u64 rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static unsigned int below(unsigned int n)
{
	return rnd() % n;
}

static bool chance(unsigned int percent)
{
	return below(100) < percent;
}

/* ---- the namespace the code runs in -------------------------------------- */

struct net {
	int unused;
};

static struct net the_net;
static struct sock the_sock = { .sk_net = &the_net };
static struct rtmgr_net rn;
static u64 model_gen;

/* netns.c's, for dump.c */
struct rtmgr_net *rtmgr_net(const struct net *net)
{
	if (net != &the_net)
		fail("rtmgr_net() of a namespace that is not the harness's");
	return &rn;
}

static void bump_gen(void)
{
	model_gen = model_gen + 1 ?: 1;
}

/* ---- prefixes ------------------------------------------------------------ */

static unsigned int bit(const u8 *a, unsigned int i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static void mask(u8 *a, unsigned int plen)
{
	unsigned int i;

	for (i = plen; i < RTMGR_ADDR_MAX * 8; i++)
		a[i / 8] &= ~(0x80 >> (i % 8));
}

static bool contains(const u8 *p, unsigned int plen, const u8 *a)
{
	unsigned int i;

	for (i = 0; i < plen; i++)
		if (bit(p, i) != bit(a, i))
			return false;
	return true;
}

/* trie order: table, family, address, length */
static int prefix_order(const struct rtmgr_key *a, const struct rtmgr_key *b)
{
	int c;

	if (a->table != b->table)
		return a->table < b->table ? -1 : 1;
	if (a->fam != b->fam)
		return a->fam - b->fam;
	c = memcmp(a->addr, b->addr, RTMGR_ADDR_MAX);
	return c ? c : (int)a->plen - (int)b->plen;
}

/* dump order: table, family, address, length, metric */
static int key_order(const struct rtmgr_key *a, const struct rtmgr_key *b)
{
	int c = prefix_order(a, b);

	if (c)
		return c;
	return a->metric == b->metric ? 0 : a->metric < b->metric ? -1 : 1;
}

static const char *key_fmt(const struct rtmgr_key *k, bool metric)
{
	static char buf[8][128];
	static unsigned int turn;
	char *s = buf[turn++ % 8], *p = s;
	unsigned int i;

	p += sprintf(p, "table %u %s ", k->table, k->fam == RTMGR_FAM6 ? "v6" : "v4");
	for (i = 0; i < rtmgr_addr_len(k->fam); i++)
		p += sprintf(p, "%02x", k->addr[i]);
	p += sprintf(p, "/%u", k->plen);
	if (metric && k->any_metric)
		sprintf(p, " metric any");
	else if (metric)
		sprintf(p, " metric %u", k->metric);
	return s;
}

/* a key: its prefix and metric ("metric any" with any_metric) */
static const char *key_str(const struct rtmgr_key *k)
{
	return key_fmt(k, true);
}

/* a trie node: the prefix alone */
static const char *prefix_str(const struct rtmgr_key *k)
{
	return key_fmt(k, false);
}

/*
 * Metrics from a small pool, so that prefixes hold several; the pool has
 * the ends of the range and values on both sides of 2^31 (a signed compare
 * sorts them wrong).  Now and then any value.
 */
static const u32 metric_pool[] = { 0, 10, 100, 0x80000000u, 4000000000u, U32_MAX };
#define NMETRICS	(sizeof(metric_pool) / sizeof(metric_pool[0]))

static u32 rand_metric(void)
{
	return chance(97) ? metric_pool[below(NMETRICS)] : (u32)rnd();
}

static const u8 byte_pool[] = { 0x00, 0x0a, 0x80, 0xc0, 0xff, 0x01, 0x10 };

/* addresses from a small alphabet, so that prefixes nest and collide */
static void rand_addr(int fam, u8 *a)
{
	unsigned int i;

	memset(a, 0, RTMGR_ADDR_MAX);
	for (i = 0; i < rtmgr_addr_len(fam); i++) {
		if (fam == RTMGR_FAM6 && i >= 4 && chance(70))
			continue;
		a[i] = chance(80) ? byte_pool[below(sizeof(byte_pool))] : (u8)rnd();
	}
}

static u8 rand_plen(int fam)
{
	unsigned int bits = rtmgr_addr_len(fam) * 8;

	switch (below(10)) {
	case 0:
		return bits;
	case 1:
		return below(4);
	case 2: case 3: case 4: case 5:
		return 8 * below(bits / 8 + 1);
	default:
		return below(bits + 1);
	}
}

static void rand_key(struct rtmgr_key *k)
{
	memset(k, 0, sizeof(*k));
	k->table = chance(50) ? RTMGR_TABLE_MAIN : table_ids[below(NTABLES)];
	k->fam = chance(70) ? RTMGR_FAM4 : RTMGR_FAM6;
	k->plen = rand_plen(k->fam);
	k->metric = rand_metric();
	rand_addr(k->fam, k->addr);
	mask(k->addr, k->plen);
}

/* ---- the model ----------------------------------------------------------- */

struct mroute {
	struct rtmgr_key	k;		/* k.metric is the route's metric */
	struct rtmgr_route	*r;		/* what the trie must hold */
	u64			created, changed;
	u8			type, proto, nh_count;
	u8			added, replaced, seen;	/* in the current dump */
	u8			missable;	/* a route of its prefix went while a
						   dump walked the prefix's routes */
	u8			via;		/* uses the device being purged */
	struct rtmgr_nh		nh[RTMGR_MAX_NEXTHOPS];
};

static struct mroute model[MODEL_MAX];
static unsigned int nmodel;
static unsigned int slots[HASH_SLOTS];	/* model index + 1; 0: empty */
static bool dump_active;
static bool bulk_window;	/* a trie larger than RTMGR_WALK_BATCH exists */
static const struct rtmgr_key *walking;	/* the prefix a dump walks, in rtmgr_fill_route */
static u32 seen_gen;		/* rn.generation as the running dump() call read it */

static bool prefix_eq(const struct rtmgr_key *a, const struct rtmgr_key *b)
{
	return a->table == b->table && a->fam == b->fam && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, RTMGR_ADDR_MAX);
}

static bool key_eq(const struct rtmgr_key *a, const struct rtmgr_key *b)
{
	return prefix_eq(a, b) && a->metric == b->metric;
}

static unsigned int key_hash(const struct rtmgr_key *k)
{
	u32 h = 2166136261u ^ k->table;
	unsigned int i;

	h = (h ^ (k->fam << 8 | k->plen)) * 16777619u;
	for (i = 0; i < 4; i++)
		h = (h ^ (u8)(k->metric >> 8 * i)) * 16777619u;
	for (i = 0; i < RTMGR_ADDR_MAX; i++)
		h = (h ^ k->addr[i]) * 16777619u;
	return h & (HASH_SLOTS - 1);
}

static unsigned int *slot_of(const struct rtmgr_key *k)
{
	unsigned int h = key_hash(k);

	while (slots[h] && !key_eq(&model[slots[h] - 1].k, k))
		h = (h + 1) & (HASH_SLOTS - 1);
	return &slots[h];
}

/* The route of exactly key k (its metric), ignoring k->any_metric. */
static struct mroute *mfind(const struct rtmgr_key *k)
{
	unsigned int s = *slot_of(k);

	return s ? &model[s - 1] : NULL;
}

/* The lowest-metric route of k's prefix, or NULL. */
static struct mroute *mlowest(const struct rtmgr_key *k)
{
	struct mroute *best = NULL;
	unsigned int i;

	for (i = 0; i < nmodel; i++)
		if (prefix_eq(&model[i].k, k) && (!best || model[i].k.metric < best->k.metric))
			best = &model[i];
	return best;
}

/* What rtmgr_route_find and rtmgr_route_remove must take for k. */
static struct mroute *mkey(const struct rtmgr_key *k)
{
	return k->any_metric ? mlowest(k) : mfind(k);
}

/* How many routes k's prefix has. */
static unsigned int mcount(const struct rtmgr_key *k)
{
	unsigned int i, n = 0;

	for (i = 0; i < nmodel; i++)
		n += prefix_eq(&model[i].k, k);
	return n;
}

static struct mroute *madd(const struct rtmgr_key *k)
{
	struct mroute *m = &model[nmodel];

	if (nmodel == MODEL_MAX)
		fail("the model is full");
	if (k->any_metric)
		fail("madd(%s): a route has a metric", key_str(k));
	memset(m, 0, sizeof(*m));
	m->k = *k;
	m->added = dump_active;
	*slot_of(k) = ++nmodel;
	return m;
}

/* Linear probing: empty the slot, then re-place the rest of its cluster. */
static void slot_clear(unsigned int h)
{
	unsigned int s;

	slots[h] = 0;
	for (h = (h + 1) & (HASH_SLOTS - 1); (s = slots[h]); h = (h + 1) & (HASH_SLOTS - 1)) {
		slots[h] = 0;
		*slot_of(&model[s - 1].k) = s;
	}
}

static void mdel(struct mroute *m)
{
	unsigned int i = m - model, last = nmodel - 1;

	slot_clear(slot_of(&m->k) - slots);
	if (i != last) {
		*slot_of(&model[last].k) = i + 1;
		model[i] = model[last];
	}
	nmodel--;
}

static void mclear(void)
{
	nmodel = 0;
	memset(slots, 0, sizeof(slots));
}

static bool same_route(const struct mroute *m, const struct rtmgr_route *r)
{
	return r->metric == m->k.metric && r->type == m->type &&
	       r->proto == m->proto && r->nh_count == m->nh_count &&
	       r->created == m->created && r->changed == m->changed &&
	       !memcmp(r->nh, m->nh, m->nh_count * sizeof(m->nh[0]));
}

/* The model's longest-prefix match: the lowest metric of the longest prefix. */
static struct mroute *mlookup(u32 table, int fam, const u8 *addr)
{
	struct mroute *best = NULL;
	unsigned int i;

	for (i = 0; i < nmodel; i++) {
		struct mroute *m = &model[i];

		if (m->k.table == table && m->k.fam == fam &&
		    contains(m->k.addr, m->k.plen, addr) &&
		    (!best || m->k.plen > best->k.plen ||
		     (m->k.plen == best->k.plen && m->k.metric < best->k.metric)))
			best = m;
	}
	return best;
}

/* The filter semantics of the UAPI header, written out again. */
static bool mmatch(const struct rtmgr_filter *f, const struct mroute *m)
{
	unsigned int alen = rtmgr_addr_len(m->k.fam), i;
	bool hop = false;

	if ((f->table && f->table != m->k.table) ||
	    (f->family && f->family != (m->k.fam == RTMGR_FAM6 ? AF_INET6 : AF_INET)) ||
	    (f->type && f->type != m->type) ||
	    (f->proto && f->proto != m->proto) ||
	    (f->has_metric && f->metric != m->k.metric))
		return false;
	if (f->has_oif || f->has_gw) {
		for (i = 0; i < m->nh_count; i++)
			hop |= (!f->has_oif || m->nh[i].oif == f->oif) &&
			       (!f->has_gw || (m->nh[i].has_gw &&
					       !memcmp(m->nh[i].gw, f->gw, alen)));
		if (!hop)
			return false;
	}
	if (!f->has_dst)
		return true;
	switch (f->match) {
	case RTMGR_MATCH_ROOT:	/* the route is inside the prefix */
		return m->k.plen >= f->dst_len && contains(f->dst, f->dst_len, m->k.addr);
	case RTMGR_MATCH_MATCH:	/* the route contains the prefix */
		return m->k.plen <= f->dst_len && contains(m->k.addr, m->k.plen, f->dst);
	default:
		return m->k.plen == f->dst_len && !memcmp(m->k.addr, f->dst, alen);
	}
}

/* On what a replace can change: the metric is the key's, and stays. */
static bool filter_on_attrs(const struct rtmgr_filter *f)
{
	return f->type || f->proto || f->has_oif || f->has_gw;
}

static bool filter_any(const struct rtmgr_filter *f)
{
	return f->table || f->family || f->has_dst || f->has_metric ||
	       filter_on_attrs(f);
}

/* ---- the invariants ------------------------------------------------------ */

static unsigned int tindex(u32 id)
{
	unsigned int i;

	for (i = 0; i < NTABLES && table_ids[i] != id; i++)
		;
	return i;
}

struct totals {
	unsigned int nodes[RTMGR_NFAM];
	unsigned long msets;
	u64 route_bytes, mset_bytes;
};

/*
 * The routes of node n (prefix k), checked one by one against the model:
 * strictly ascending metrics, each the route set for its key; and against
 * the node's representation: a route pointed at directly, or a set of two
 * or more (one more kmalloc object) that holds the same.  rn.memory counts
 * a set as the object it is: a set that shrank in place keeps its room.
 */
static unsigned int check_node_routes(const struct rtmgr_node *n, struct rtmgr_key *k,
				      struct totals *tot)
{
	const void *p = rcu_dereference(n->routes);
	const struct rtmgr_route *r, *prev = NULL;
	const struct rtmgr_mset *ms;
	unsigned int i, j;
	struct mroute *m;
	size_t size;

	CHECK(rtmgr_node_route(&rn, n) == rtmgr_node_route_at(&rn, n, 0),
	      "node %s: rtmgr_node_route is not its first route", prefix_str(k));
	for (i = 0; (r = rtmgr_node_route_at(&rn, n, i)); i++) {
		CHECK(i < MODEL_MAX, "node %s: routes without end", prefix_str(k));
		k->metric = r->metric;
		CHECK(!prev || prev->metric < r->metric,
		      "node %s: route %u has metric %u after %u (not ascending)",
		      prefix_str(k), i, r->metric, prev->metric);
		m = mfind(k);
		CHECK(m, "the trie has %s (route %u of its prefix), the model does not",
		      key_str(k), i);
		CHECK(m->r == r && same_route(m, r), "route %s is not the one set", key_str(k));
		CHECK(kshim_ksize(r), "route %s is not a kmalloc object", key_str(k));
		tot->route_bytes += kshim_ksize(r);
		prev = r;
	}
	CHECK(!rtmgr_node_route_at(&rn, n, i + 1) && !rtmgr_node_route_at(&rn, n, i + 7),
	      "node %s: a route after the end of its %u", prefix_str(k), i);
	if (i)
		st.prefixes_by_count[i < 6 ? i - 1 : 5]++;
	if (i < 2) {
		CHECK(!((unsigned long)p & RTMGR_MSET),
		      "node %s: %u route(s) in a set", prefix_str(k), i);
		CHECK(p == (i ? (const void *)prev : NULL),
		      "node %s: routes %p is not its route %p", prefix_str(k), p, (const void *)prev);
		return i;
	}
	CHECK((unsigned long)p & RTMGR_MSET, "node %s: %u routes without a set", prefix_str(k), i);
	ms = (const struct rtmgr_mset *)((unsigned long)p & ~RTMGR_MSET);
	CHECK(ms->count == i, "node %s: a set of count %u holds %u routes", prefix_str(k),
	      ms->count, i);
	for (j = 0; j < i; j++)
		CHECK(ms->r[j] == rtmgr_node_route_at(&rn, n, j),
		      "node %s: set entry %u is not route %u", prefix_str(k), j, j);
	size = kshim_ksize(ms);
	CHECK(size >= sizeof(*ms) + i * sizeof(ms->r[0]),
	      "node %s: the set of %u routes is in %zu bytes, not a kmalloc object that holds them",
	      prefix_str(k), i, size);
	tot->msets++;
	tot->mset_bytes += size;
	return i;
}

/* One trie: its shape, its order and every route against the model. */
static unsigned int check_trie(const struct rtmgr_table *t, int fam,
			       struct totals *tot)
{
	const struct rtmgr_node *stack[2 * (RTMGR_ADDR_MAX * 8 + 2)];
	const struct rtmgr_node *n, *c;
	unsigned int bits = rtmgr_addr_len(fam) * 8, sp = 0, routes = 0, b, nr;
	struct rtmgr_key k, prev;
	bool have_prev = false;
	u8 masked[RTMGR_ADDR_MAX];

	if ((n = rtmgr_trie_root(&rn, t, fam)))
		stack[sp++] = n;
	while (sp) {
		n = stack[--sp];
		tot->nodes[fam]++;
		memset(&k, 0, sizeof(k));
		k.table = t->id;
		k.fam = fam;
		k.plen = n->plen;
		memcpy(k.addr, n->key, rtmgr_addr_len(fam));
		memcpy(masked, k.addr, sizeof(masked));
		mask(masked, k.plen);
		CHECK(n->plen <= bits && !memcmp(masked, k.addr, sizeof(masked)),
		      "node %s: length or host bits wrong", prefix_str(&k));
		CHECK(!have_prev || prefix_order(&prev, &k) < 0,
		      "trie order: %s before %s", prefix_str(&prev), prefix_str(&k));
		prev = k;
		have_prev = true;
		for (b = 0; b < 2; b++) {
			c = rtmgr_trie_child(&rn, n, b);
			CHECK(!c || (c->plen > n->plen && contains(n->key, n->plen, c->key) &&
				     bit(c->key, n->plen) == b),
			      "node %s: child[%u] is not below it", prefix_str(&k), b);
		}
		nr = check_node_routes(n, &k, tot);
		CHECK(nr || (rtmgr_trie_child(&rn, n, 0) && rtmgr_trie_child(&rn, n, 1)),
		      "node %s: a branch point without two children", prefix_str(&k));
		routes += nr;
		if ((c = rtmgr_trie_child(&rn, n, 1)))
			stack[sp++] = c;
		if ((c = rtmgr_trie_child(&rn, n, 0)))
			stack[sp++] = c;
	}
	return routes;
}

static unsigned long extra_kmalloc;	/* a route dump's cursor, while one runs */

static void check_all(void)
{
	unsigned int want[NTABLES][RTMGR_NFAM] = {}, fam_total[RTMGR_NFAM] = {};
	unsigned long devs[MAXIF + 1] = {}, ndevs = 0, ntables = 0, wanted_tables = 0;
	struct totals tot = {};
	struct rtmgr_table *t;
	unsigned long id;
	unsigned int i, j, fam;
	void *e;
	u64 memory;

	for (i = 0; i < nmodel; i++) {
		want[tindex(model[i].k.table)][model[i].k.fam]++;
		fam_total[model[i].k.fam]++;
		for (j = 0; j < model[i].nh_count; j++)
			if (model[i].nh[j].oif)
				devs[model[i].nh[j].oif]++;
	}
	rcu_read_lock();
	xa_for_each(&rn.tables, id, t) {
		i = tindex(id);
		CHECK(i < NTABLES && t->id == id, "table %lu: unknown, or id %u", id, t->id);
		for (fam = 0; fam < RTMGR_NFAM; fam++) {
			unsigned int n = check_trie(t, fam, &tot);

			CHECK(n == want[i][fam] && t->count[fam] == n,
			      "table %lu fam %u: %u routes in the trie, count %u, model %u",
			      id, fam, n, t->count[fam], want[i][fam]);
		}
		CHECK(t->count[0] + t->count[1], "table %lu is empty but still there", id);
		ntables++;
	}
	rcu_read_unlock();
	for (i = 0; i < NTABLES; i++)
		wanted_tables += want[i][0] + want[i][1] > 0;
	CHECK(ntables == wanted_tables, "%lu tables, the model has %lu", ntables, wanted_tables);
	for (fam = 0; fam < RTMGR_NFAM; fam++)
		CHECK(rn.routes[fam] == fam_total[fam], "fam %u: routes %u, model %u",
		      fam, rn.routes[fam], fam_total[fam]);
	memory = tot.route_bytes + tot.mset_bytes +
		 ntables * kshim_cache_object_size("rtmgr_table") +
		 tot.nodes[0] * kshim_cache_object_size("rtmgr_node4") +
		 tot.nodes[1] * kshim_cache_object_size("rtmgr_node6");
	CHECK(rn.memory == memory, "memory %llu, the objects take %llu (%lu sets of %llu bytes)",
	      (unsigned long long)rn.memory, (unsigned long long)memory, tot.msets,
	      (unsigned long long)tot.mset_bytes);
	CHECK(rn.generation == model_gen, "generation %llu, model %llu",
	      (unsigned long long)rn.generation, (unsigned long long)model_gen);

	xa_for_each(&rn.devices, id, e) {
		CHECK(id && id <= MAXIF && xa_is_value(e) && xa_to_value(e) == devs[id],
		      "device %lu: count %lu, model %lu", id,
		      xa_is_value(e) ? xa_to_value(e) : 0, id <= MAXIF ? devs[id] : 0);
		ndevs++;
	}
	mutex_lock(&rn.lock);
	for (i = 0; i <= MAXIF + 1; i++) {
		bool used = i && i <= MAXIF && devs[i];

		ndevs -= used;
		CHECK(rtmgr_device_used(&rn, i) == used, "rtmgr_device_used(%u) wrong", i);
	}
	mutex_unlock(&rn.lock);
	CHECK(!ndevs, "devices with a count the model does not have");

	if (!kshim_rcu_pending()) {
		/* nothing waits for a grace period: every live object is in use */
		CHECK(kshim_cache_live("rtmgr_node4") == tot.nodes[0] &&
		      kshim_cache_live("rtmgr_node6") == tot.nodes[1] &&
		      kshim_cache_live("rtmgr_table") == ntables,
		      "live nodes %lu/%lu, tables %lu; in the tries %u/%u, %lu",
		      kshim_cache_live("rtmgr_node4"), kshim_cache_live("rtmgr_node6"),
		      kshim_cache_live("rtmgr_table"), tot.nodes[0], tot.nodes[1], ntables);
		CHECK(kshim_kmalloc_live() == nmodel + tot.msets + extra_kmalloc,
		      "%lu kmalloc objects live for %u routes and %lu sets", kshim_kmalloc_live(),
		      nmodel, tot.msets);
	}
}

/* ---- writers ------------------------------------------------------------- */

static const u8 gw_pool[][RTMGR_ADDR_MAX] = {
	{ 10, 0, 0, 1 }, { 10, 0, 0, 2 }, { 192, 168, 1, 1 },
	{ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, { 0xfe, 0x80, [15] = 1 },
};

static void rand_gw(int fam, u8 *gw)
{
	memset(gw, 0, RTMGR_ADDR_MAX);
	memcpy(gw, gw_pool[below(sizeof(gw_pool) / sizeof(gw_pool[0]))],
	       rtmgr_addr_len(fam));
}

static void rand_route(int fam, struct mroute *spec)
{
	unsigned int i;

	memset(spec, 0, sizeof(*spec));
	spec->type = chance(80) ? RTMGR_TYPE_UNICAST : RTMGR_TYPE_BLACKHOLE + below(3);
	spec->proto = below(5);
	if (spec->type == RTMGR_TYPE_UNICAST)
		spec->nh_count = chance(97) ? 1 + below(3) : 1 + below(RTMGR_MAX_NEXTHOPS);
	for (i = 0; i < spec->nh_count; i++) {
		struct rtmgr_nh *h = &spec->nh[i];

		h->has_gw = chance(60);
		if (h->has_gw)
			rand_gw(fam, h->gw);
		h->oif = chance(70) || !h->has_gw ? 1 + below(MAXIF) : 0;
		h->weight = 1 + below(RTMGR_WEIGHT_MAX);
	}
}

enum inject { NO_FAULT, FAULT_NTH, FAULT_RATE };

/* Is k's prefix a node of the trie without routes? */
static bool at_branch_point(const struct rtmgr_key *k)
{
	const struct rtmgr_table *t;
	const struct rtmgr_node *n = NULL;
	bool yes;

	rcu_read_lock();
	t = rtmgr_table_get(&rn, k->table);
	if (t)
		n = rtmgr_trie_exact(&rn, rtmgr_trie_root(&rn, t, k->fam), k->fam, k->addr,
				     k->plen);
	yes = n && !rtmgr_node_route(&rn, n);
	rcu_read_unlock();
	return yes;
}

/*
 * NEWROUTE's part in netlink.c: allocate, fill, rtmgr_route_set, retire.
 * The key names the metric (a change has no any_metric); the same metric
 * is replaced, a new one of an existing prefix goes in beside the others.
 */
static void do_set(const struct rtmgr_key *key, const struct mroute *spec,
		   enum inject inject)
{
	struct rtmgr_key kk = *key, *k = &kk;
	struct rtmgr_route *r, *old = (void *)&old;
	struct mroute *m, *other;
	unsigned long injected;
	u64 now;
	int err;

	k->any_metric = 0;
	m = mfind(k);
	other = m ? NULL : mlowest(k);	/* the prefix has other metrics */
	if (!m && !other && at_branch_point(k))
		st.sets_at_branch++;

	st.sets++;
	mutex_lock(&rn.lock);
	if (inject == FAULT_NTH)
		kshim_fail_nth(1 + below(6));
	else if (inject == FAULT_RATE)
		kshim_fail_rate(300, rnd());
	r = rtmgr_route_alloc(spec->nh_count);
	if (!r) {
		CHECK(kshim_fail_off(), "rtmgr_route_alloc failed, nothing injected");
		st.refused++;
		goto out;
	}
	CHECK(r->nh_count == spec->nh_count, "rtmgr_route_alloc: nh_count %u", r->nh_count);
	now = ktime_get_real_ns();
	r->changed = now;
	r->created = m ? m->created : now;
	r->type = spec->type;
	r->proto = spec->proto;
	r->metric = k->metric;
	memcpy(r->nh, spec->nh, spec->nh_count * sizeof(r->nh[0]));
	err = rtmgr_route_set(&rn, k, r, &old);
	injected = kshim_fail_off();
	if (err) {
		CHECK(err == -ENOMEM && injected, "rtmgr_route_set(%s): %d with %lu failures injected",
		      key_str(k), err, injected);
		CHECK(!old, "a failed rtmgr_route_set(%s) set *old", key_str(k));
		rtmgr_route_free(r);
		st.refused++;
		goto out;
	}
	CHECK(old == (m ? m->r : NULL), "rtmgr_route_set(%s) replaced %p, the model had %p",
	      key_str(k), (void *)old, m ? (void *)m->r : NULL);
	if (m) {
		m->replaced = 1;
	} else {
		m = madd(k);
		m->created = now;
		st.metric_inserts += !!other;
	}
	m->r = r;
	m->changed = now;
	m->type = spec->type;
	m->proto = spec->proto;
	m->nh_count = spec->nh_count;
	memcpy(m->nh, spec->nh, sizeof(m->nh));
	bump_gen();
	if (old)
		rtmgr_route_retire(&rn, old);
out:
	mutex_unlock(&rn.lock);
}

/* DELROUTE's: the route of k's metric, or with any_metric the prefix's lowest. */
static void do_remove(const struct rtmgr_key *k)
{
	struct mroute *m = mkey(k);
	struct rtmgr_route *r;

	st.removes++;
	st.removes_any += k->any_metric;
	mutex_lock(&rn.lock);
	r = rtmgr_route_remove(&rn, k);
	CHECK(r == (m ? m->r : NULL),
	      "rtmgr_route_remove(%s) gave %p (metric %lld), the model had %p (%s)",
	      key_str(k), (void *)r, r ? (long long)r->metric : -1LL, m ? (void *)m->r : NULL,
	      m ? key_str(&m->k) : "none");
	if (r && walking && prefix_eq(k, walking)) {
		/* the others shift down under the dump: it may miss one of them */
		unsigned int i;

		for (i = 0; i < nmodel; i++)
			model[i].missable |= prefix_eq(&model[i].k, k);
	}
	if (r) {
		rtmgr_route_retire(&rn, r);
		mdel(m);
		bump_gen();
	}
	mutex_unlock(&rn.lock);
}

/*
 * A key of the model (when there is one), else a random one; of a model key,
 * other_metric_percent of the time only the prefix, with a metric from the
 * pool (another of the prefix's, or one it does not have); any_percent of
 * the time any_metric.  Some random keys are a model key cut a few bits
 * shorter: often a branch point, a node without routes.
 */
static void some_key(struct rtmgr_key *k, unsigned int existing_percent,
		     unsigned int other_metric_percent, unsigned int any_percent)
{
	if (nmodel && chance(existing_percent)) {
		*k = model[below(nmodel)].k;
		if (chance(other_metric_percent))
			k->metric = rand_metric();
	} else if (nmodel && chance(15)) {
		*k = model[below(nmodel)].k;
		k->plen -= min(k->plen, (u8)(1 + below(8)));
		mask(k->addr, k->plen);
		k->metric = rand_metric();
	} else {
		rand_key(k);
	}
	k->any_metric = chance(any_percent);
	if (k->any_metric && chance(50))
		k->metric = (u32)rnd();	/* what any_metric must ignore */
}

static void rand_set(enum inject inject)
{
	struct mroute spec;
	struct rtmgr_key k;

	/* a model key with another metric: a new metric of the prefix, often */
	some_key(&k, 50, 60, 0);
	rand_route(k.fam, &spec);
	do_set(&k, &spec, inject);
}

static void rand_remove(void)
{
	struct rtmgr_key k;

	some_key(&k, 75, 20, 30);
	do_remove(&k);
}

/* what other tasks do while a dump sleeps */
static void rand_write(void)
{
	if (chance(60))
		rand_set(chance(20) ? FAULT_NTH : NO_FAULT);
	else
		rand_remove();
}

/* cond_resched(): other tasks run, grace periods end */
static void resched_hook(void)
{
	if (!rn.lock.held && dump_active && chance(50)) {
		rand_write();
		st.hook_writes++;
	}
	if (chance(50))
		kshim_rcu_barrier();
	/* the dump reads the generation again when it goes on */
	seen_gen = rn.generation;
}

/* ---- readers ------------------------------------------------------------- */

static void do_find(void)
{
	struct rtmgr_route *r;
	struct rtmgr_key k;
	struct mroute *m;
	bool locked = chance(30);

	st.finds++;
	some_key(&k, 60, 30, 30);
	st.finds_any += k.any_metric;
	m = mkey(&k);
	if (locked)
		mutex_lock(&rn.lock);
	else
		rcu_read_lock();
	r = rtmgr_route_find(&rn, &k);
	CHECK(r == (m ? m->r : NULL),
	      "rtmgr_route_find(%s) gave %p (metric %lld), the model has %p (%s)",
	      key_str(&k), (void *)r, r ? (long long)r->metric : -1LL, m ? (void *)m->r : NULL,
	      m ? key_str(&m->k) : "none");
	if (locked)
		mutex_unlock(&rn.lock);
	else
		rcu_read_unlock();
}

/*
 * A reader that holds what it found (table, node, route, the node's routes
 * and its set) while writers replace and remove them, then reads it all
 * again before rcu_read_unlock: anything freed without waiting for a grace
 * period is a use after free.  It also walks the node's routes the way a
 * dump does, with the writers in the middle of the walk.
 */
#define HELD_MAX	16

struct held_route {
	const struct rtmgr_route	*r;
	u64				created, changed;
	u32				metric;
	u8				type, nh_count;
	struct rtmgr_nh			nh[RTMGR_MAX_NEXTHOPS];
};

static void hold_route(struct held_route *h, const struct rtmgr_route *r)
{
	h->r = r;
	h->created = r->created;
	h->changed = r->changed;
	h->metric = r->metric;
	h->type = r->type;
	h->nh_count = r->nh_count;
	memcpy(h->nh, r->nh, r->nh_count * sizeof(h->nh[0]));
}

static void check_held(const struct held_route *h, const struct rtmgr_key *k, const char *what)
{
	const struct rtmgr_route *r = h->r;

	CHECK(r->metric == h->metric && r->changed == h->changed && r->created == h->created &&
	      r->type == h->type && r->nh_count == h->nh_count &&
	      !memcmp(r->nh, h->nh, h->nh_count * sizeof(h->nh[0])),
	      "%s of %s (metric %u) changed under a reader", what, key_str(k), h->metric);
}

static void do_held_read(void)
{
	const struct rtmgr_node *n = NULL, *c;
	const struct rtmgr_table *t;
	const struct rtmgr_route *r, *prev;
	const struct rtmgr_mset *ms = NULL;
	struct held_route found = {}, routes[HELD_MAX], in_set[HELD_MAX];
	struct rtmgr_key k;
	u8 key[RTMGR_ADDR_MAX];
	unsigned int i, nroutes = 0, nset = 0, walked, plen = 0;

	st.held_reads++;
	some_key(&k, 80, 30, 30);
	rcu_read_lock();
	t = rtmgr_table_get(&rn, k.table);
	r = rtmgr_route_find(&rn, &k);
	if (t)
		n = rtmgr_trie_exact(&rn, rtmgr_trie_root(&rn, t, k.fam), k.fam, k.addr, k.plen);
	if (r)
		hold_route(&found, r);
	if (n) {
		const void *p = rcu_dereference(n->routes);

		plen = n->plen;
		memcpy(key, n->key, rtmgr_addr_len(k.fam));
		for (; nroutes < HELD_MAX && (r = rtmgr_node_route_at(&rn, n, nroutes)); nroutes++)
			hold_route(&routes[nroutes], r);
		if ((unsigned long)p & RTMGR_MSET) {
			/* a reader inside rtmgr_node_route_at, between its loads */
			ms = (const struct rtmgr_mset *)((unsigned long)p & ~RTMGR_MSET);
			for (; nset < HELD_MAX && nset < READ_ONCE(ms->count); nset++)
				hold_route(&in_set[nset], rcu_dereference(ms->r[nset]));
		}
	}
	/* part of a dump's walk over the node's routes */
	walked = n && nroutes ? below(nroutes + 1) : 0;
	if (chance(50))
		do_remove(&k);
	for (i = below(4); i--;)
		rand_write();
	/* routes are immutable, keys never change: all still readable */
	CHECK(!t || t->id == k.table, "a table changed its id under a reader");
	if (found.r)
		check_held(&found, &k, "the route found");
	for (i = 0; i < nroutes; i++)
		check_held(&routes[i], &k, "a route of the node");
	for (i = 0; i < nset; i++)
		check_held(&in_set[i], &k, "a route of the node's set");
	if (ms) {
		/* the set itself: still there, shrunk in place at most */
		unsigned int count = READ_ONCE(ms->count);

		CHECK(count <= nset || nset == HELD_MAX, "the set of %s grew in place", prefix_str(&k));
		for (i = 0; i < count; i++)
			CHECK((r = rcu_dereference(ms->r[i])) && r->nh_count <= RTMGR_MAX_NEXTHOPS,
			      "a route in a set under a reader is garbage (%s)", prefix_str(&k));
	}
	CHECK(!n || (n->plen == plen && !memcmp(n->key, key, rtmgr_addr_len(k.fam))),
	      "node %s changed under a reader", prefix_str(&k));
	if (n) {
		/*
		 * the walk goes on from where it was: readable, ascending from
		 * there (its first may repeat one before: a lower metric came
		 * in, which dump_node skips by metric)
		 */
		prev = walked ? routes[walked - 1].r : NULL;
		for (i = walked; (r = rtmgr_node_route_at(&rn, n, i)); i++) {
			CHECK(r->nh_count <= RTMGR_MAX_NEXTHOPS, "a route under a reader is garbage");
			CHECK(i < MODEL_MAX, "node %s: routes without end", prefix_str(&k));
			CHECK(i == walked || prev->metric < r->metric,
			      "node %s under a reader: metric %u after %u", prefix_str(&k),
			      r->metric, prev->metric);
			prev = r;
		}
	}
	for (c = n; c; c = rtmgr_trie_child(&rn, c, below(2)))
		for (i = 0; (r = rtmgr_node_route_at(&rn, c, i)); i++)
			CHECK(r->nh_count <= RTMGR_MAX_NEXTHOPS, "a route under a reader is garbage");
	rcu_read_unlock();
}

/* an address to look up: inside a route of the model, or anywhere */
static void rand_lookup_addr(u32 table, int fam, u8 *a)
{
	unsigned int i, plen = 0;

	rand_addr(fam, a);
	for (i = 0; nmodel && i < 4; i++) {
		const struct mroute *m = &model[below(nmodel)];

		if (m->k.table == table && m->k.fam == fam) {
			memcpy(a, m->k.addr, RTMGR_ADDR_MAX);
			plen = m->k.plen;
			break;
		}
	}
	for (i = plen; i < rtmgr_addr_len(fam) * 8; i++)
		if (chance(50))
			a[i / 8] ^= 0x80 >> (i % 8);
}

static void do_lookup(void)
{
	u32 table = table_ids[below(NTABLES)];
	int fam = chance(70) ? RTMGR_FAM4 : RTMGR_FAM6;
	const struct rtmgr_route *r = NULL;
	const struct rtmgr_node *n = NULL;
	const struct rtmgr_table *t;
	struct mroute *best;
	u8 a[RTMGR_ADDR_MAX];

	st.lookups++;
	rand_lookup_addr(table, fam, a);
	best = mlookup(table, fam, a);
	rcu_read_lock();
	t = rtmgr_table_get(&rn, table);
	if (t)
		n = rtmgr_trie_lookup(&rn, rtmgr_trie_root(&rn, t, fam), fam, a, &r);
	if (best && mcount(&best->k) > 1)
		st.lookups_multi++;
	CHECK(!n == !best && (!best || (n->plen == best->k.plen &&
					!memcmp(n->key, best->k.addr, rtmgr_addr_len(fam)) &&
					r == best->r)),
	      "lookup in table %u: got /%d metric %lld, the model %s", table, n ? n->plen : -1,
	      r ? (long long)r->metric : -1LL, best ? key_str(&best->k) : "nothing");
	rcu_read_unlock();
}

/* ---- dumps --------------------------------------------------------------- */

/* What rtmgr_fill_route puts in the skb after the nlmsghdr. */
struct rec {
	u32	gen;		/* rn.generation as the dump() call saw it */
	u32	table;
	u8	fam, plen, nh_count, has_key;
	u8	key[RTMGR_ADDR_MAX];
};

#define REC_SIZE(nh)	NLMSG_ALIGN(NLMSG_HDRLEN + sizeof(struct rec) + \
				    (nh) * sizeof(struct rtmgr_nh))

#define DUMPED_MAX	(4 * MODEL_MAX)

static struct {
	const struct rtmgr_filter *f;	/* route dump */
	struct rtmgr_key last;
	bool have_last;
	bool skb_first;			/* the next route starts an skb */
	unsigned int inner;		/* percent: writers between two routes */
	unsigned int ndumped;		/* routes sent; the first DUMPED_MAX in dumped[] */
	const u8 *addrs;		/* bulk lookup */
	unsigned int naddrs, next;
	u32 table, seq;
	int fam;
	bool lookup;
	size_t refused;			/* size of the last message that did not fit */
} cur;

static struct rtmgr_key dumped[DUMPED_MAX];	/* what the dump sent, in order */

static void inner_write(void);

static void check_dumped_route(u16 flags, u32 table, int fam, const u8 *key,
			       u8 plen, const struct rtmgr_route *r)
{
	struct rtmgr_key k = { .table = table, .fam = fam, .plen = plen };
	struct mroute *m;

	CHECK(!cur.lookup && cur.f && r && key, "a route dump filled a message without a route");
	k.metric = r->metric;
	memcpy(k.addr, key, rtmgr_addr_len(fam));
	CHECK(flags == (NLM_F_MULTI | (filter_any(cur.f) ? NLM_F_DUMP_FILTERED : 0)),
	      "dump message flags %#x (%s)", flags, key_str(&k));
	m = mfind(&k);
	CHECK(m && m->r == r && same_route(m, r), "dumped %s, which the table does not hold",
	      key_str(&k));
	CHECK(mmatch(cur.f, m), "dumped %s, which the filter does not pass", key_str(&k));
	CHECK(!cur.have_last || key_order(&cur.last, &k) < 0,
	      "dumped %s after %s%s", key_str(&k), key_str(&cur.last),
	      cur.skb_first ? " (resumed in a new skb)" : "");
	if (cur.skb_first && cur.have_last && prefix_eq(&cur.last, &k))
		st.resumed_inside++;	/* the cursor was between two metrics of k */
	cur.skb_first = false;
	cur.last = k;
	cur.have_last = true;
	if (cur.ndumped < DUMPED_MAX)
		dumped[cur.ndumped] = k;
	cur.ndumped++;
	m->seen = 1;
	st.dump_routes++;
}

static void check_looked_up(u16 flags, u32 table, int fam, const u8 *key,
			    u8 plen, const struct rtmgr_route *r, const u8 *addr)
{
	unsigned int alen = rtmgr_addr_len(fam);
	struct mroute *best;

	CHECK(cur.lookup && flags == NLM_F_MULTI && table == cur.table && fam == cur.fam,
	      "lookup answer for table %u fam %d, flags %#x", table, fam, flags);
	CHECK(addr && cur.next < cur.naddrs && !memcmp(addr, cur.addrs + cur.next * alen, alen),
	      "lookup answer %u is not for address %u", cur.next, cur.next);
	best = mlookup(table, fam, addr);
	CHECK(best ? r == best->r && key && plen == best->k.plen &&
		     !memcmp(key, best->k.addr, alen)
		   : !r && !key && !plen,
	      "bulk lookup %u: got /%u, the model %s", cur.next, plen,
	      best ? key_str(&best->k) : "nothing");
	cur.next++;
}

/* encode.c's, for dump.c: check the route now, record where it went. */
int rtmgr_fill_route(struct sk_buff *skb, int msgtype, u32 portid, u32 seq,
		     u16 flags, u32 table, int fam, const u8 *key, u8 plen,
		     const struct rtmgr_route *r, const u8 *lookup_addr)
{
	size_t size = REC_SIZE(r ? r->nh_count : 0);
	struct nlmsghdr *nlh;
	struct rec *rec;

	CHECK(kshim_rcu_depth > 0, "rtmgr_fill_route outside rcu_read_lock()");
	CHECK(portid == DUMP_PORTID && seq == cur.seq, "message for port %u seq %u", portid, seq);
	if (skb->end - skb->len < size) {
		cur.refused = size;
		return -EMSGSIZE;
	}
	if (msgtype == RTMGR_MSG_NEWROUTE)
		check_dumped_route(flags, table, fam, key, plen, r);
	else if (msgtype == RTMGR_MSG_LOOKUP)
		check_looked_up(flags, table, fam, key, plen, r, lookup_addr);
	else
		fail("rtmgr_fill_route: message type %d", msgtype);
	nlh = (struct nlmsghdr *)(skb->data + skb->len);
	memset(nlh, 0, size);
	nlh->nlmsg_len = size;
	nlh->nlmsg_type = msgtype;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = portid;
	rec = NLMSG_DATA(nlh);
	rec->gen = seen_gen;
	rec->table = table;
	rec->fam = fam;
	rec->plen = plen;
	if ((rec->has_key = !!key))
		memcpy(rec->key, key, rtmgr_addr_len(fam));
	if (r) {
		rec->nh_count = r->nh_count;
		memcpy(rec + 1, r->nh, r->nh_count * sizeof(r->nh[0]));
	}
	skb->len += size;
	/* a writer on another CPU, while the dump is between two routes */
	if (msgtype == RTMGR_MSG_NEWROUTE && chance(cur.inner))
		inner_write();
	return 0;
}

/*
 * NLM_F_DUMP_INTR, as nl_dump_check_consistent sets it: on exactly the
 * messages whose generation differs from the one before.
 */
struct intr {
	u32	prev;
	bool	have;
};

static void check_intr(struct intr *in, const struct nlmsghdr *nlh, u32 gen)
{
	bool want = in->have && gen != in->prev;

	CHECK(!!(nlh->nlmsg_flags & NLM_F_DUMP_INTR) == want,
	      "NLM_F_DUMP_INTR %s on a message of generation %u after %u",
	      want ? "missing" : "set", gen, in->prev);
	in->prev = gen;
	in->have = true;
}

static void flush_filter(const struct rtmgr_filter *f);

static unsigned int skb_capacity(void)
{
	unsigned int dice = below(100);

	if (!dice)
		return below(REC_SIZE(0));	/* too small for anything */
	if (bulk_window && dice < 50)
		return 32768;			/* walks long enough to yield */
	if (dice < 45)
		return REC_SIZE(3) * (1 + below(3)) + below(REC_SIZE(1));
	if (dice < 85)
		return REC_SIZE(RTMGR_MAX_NEXTHOPS) + below(4096);
	return 32768;
}

/*
 * netlink_dump()'s part: call dump() with fresh skbs until it returns 0
 * (or an error), then the NLMSG_DONE with its consistency check; between
 * calls other tasks may change the tables and grace periods may end.
 */
static int run_dump(struct netlink_callback *cb,
		    int (*dump)(struct sk_buff *, struct netlink_callback *),
		    unsigned int interleave)
{
	struct intr in = {};
	struct nlmsghdr done = {};
	unsigned int calls, off;
	int ret;

	for (calls = 0;; calls++) {
		unsigned int cap = skb_capacity();
		struct sk_buff skb = { .sk = &the_sock, .end = cap };

		CHECK(calls < 4 * MODEL_MAX + 1000, "the dump does not end");
		skb.data = malloc(cap ?: 1);
		cur.refused = 0;
		cur.skb_first = true;
		seen_gen = rn.generation;
		ret = dump(&skb, cb);
		CHECK(!kshim_rcu_depth, "dump() returned inside rcu_read_lock()");
		st.dump_skbs++;
		for (off = 0; off < skb.len; off += NLMSG_ALIGN(((struct nlmsghdr *)(skb.data + off))->nlmsg_len)) {
			struct nlmsghdr *nlh = (struct nlmsghdr *)(skb.data + off);

			check_intr(&in, nlh, ((struct rec *)NLMSG_DATA(nlh))->gen);
		}
		free(skb.data);
		if (ret <= 0)
			break;
		CHECK((unsigned int)ret == skb.len, "dump() returned %d with %u bytes", ret, skb.len);
		while (chance(interleave))
			rand_write();
		if (cur.have_last && chance(interleave / 15)) {
			/* the table the dump is in goes away under it */
			struct rtmgr_filter f = { .table = cur.last.table };

			flush_filter(&f);
		}
		if (chance(50))
			kshim_rcu_barrier();
	}
	nl_dump_check_consistent(cb, &done);
	check_intr(&in, &done, seen_gen);
	if (ret) {
		/* only a message larger than an empty skb ends a dump early */
		CHECK(ret == -EMSGSIZE && cur.refused, "dump() failed: %d", ret);
		st.dump_ended_small++;
	}
	return ret;
}

static void rand_filter(struct rtmgr_filter *f)
{
	unsigned int bits, i;
	int fam;

	memset(f, 0, sizeof(*f));
	if (chance(35))
		f->table = chance(90) ? table_ids[below(NTABLES)] : 7;
	f->family = (const u8[]){ AF_UNSPEC, AF_INET, AF_INET, AF_INET6 }[below(4)];
	if (chance(15))
		f->type = 1 + below(RTMGR_TYPE_MAX);
	if (chance(15))
		f->proto = 1 + below(4);
	if (chance(20)) {
		/* some metrics of a prefix pass, its others do not */
		f->has_metric = 1;
		f->metric = nmodel && chance(50) ? model[below(nmodel)].k.metric : rand_metric();
	}
	if (chance(15)) {
		f->has_oif = 1;
		f->oif = below(MAXIF + 1);
	}
	if (!f->family)
		return;	/* addresses in a filter need a family */
	fam = rtmgr_fam_index(f->family);
	bits = rtmgr_addr_len(fam) * 8;
	if (chance(10)) {
		f->has_gw = 1;
		rand_gw(fam, f->gw);
	}
	if (!chance(40))
		return;
	f->has_dst = 1;
	f->match = below(RTMGR_MATCH_MAX + 1);
	f->dst_len = rand_plen(fam);
	rand_addr(fam, f->dst);
	for (i = 0; nmodel && i < 4; i++) {
		const struct mroute *m = &model[below(nmodel)];

		if (m->k.fam != fam)
			continue;
		memcpy(f->dst, m->k.addr, RTMGR_ADDR_MAX);
		if (f->match == RTMGR_MATCH_ROOT)
			f->dst_len = below(m->k.plen + 1);
		else if (f->match == RTMGR_MATCH_MATCH)
			f->dst_len = m->k.plen + below(bits - m->k.plen + 1);
		else
			f->dst_len = m->k.plen;
		break;
	}
	mask(f->dst, f->dst_len);
}

static void dump_begin(void)
{
	unsigned int i;

	for (i = 0; i < nmodel; i++)
		model[i].added = model[i].replaced = model[i].seen = model[i].missable = 0;
	memset(&cur, 0, sizeof(cur));
	dump_active = true;
}

/* A metric of k's prefix (any of its routes'), or one from the pool. */
static u32 metric_of_prefix(const struct rtmgr_key *k)
{
	unsigned int i, n = 0;
	u32 metric = rand_metric();

	for (i = 0; i < nmodel; i++)
		if (prefix_eq(&model[i].k, k) && !below(++n))
			metric = model[i].k.metric;
	return n && chance(80) ? metric : rand_metric();
}

/*
 * A writer on another CPU while the dump is between two routes of the
 * prefix it last sent (cur.last): a set or a remove of a metric of that
 * prefix, now and then anything.  Removing one shifts the others down
 * under the walk (which may then miss one: those routes are missable).
 */
static void inner_write(void)
{
	struct rtmgr_key k = cur.last;
	struct mroute spec;

	st.inner_writes++;
	walking = &cur.last;
	if (chance(20)) {
		rand_write();
	} else if (chance(50)) {
		k.metric = rand_metric();
		rand_route(k.fam, &spec);
		do_set(&k, &spec, chance(10) ? FAULT_NTH : NO_FAULT);
	} else {
		k.metric = metric_of_prefix(&k);
		k.any_metric = chance(20);
		do_remove(&k);
	}
	walking = NULL;
}

static int cmp_keys(const void *a, const void *b)
{
	return key_order(a, b);
}

/*
 * A dump nothing changed under: what it sent is exactly the routes of the
 * model that pass the filter, in (table, family, address, length, metric)
 * order.
 */
static void check_dump_exact(const struct rtmgr_filter *f)
{
	static struct rtmgr_key want[MODEL_MAX];
	unsigned int i, n = 0;

	for (i = 0; i < nmodel; i++)
		if (mmatch(f, &model[i]))
			want[n++] = model[i].k;
	qsort(want, n, sizeof(want[0]), cmp_keys);
	for (i = 0; i < n && i < cur.ndumped; i++)
		CHECK(key_eq(&dumped[i], &want[i]),
		      "dump: route %u sent is %s, the model's is %s", i, key_str(&dumped[i]),
		      key_str(&want[i]));
	CHECK(cur.ndumped == n, "dump: %u routes sent, the model has %u (%s %s)", cur.ndumped, n,
	      n > cur.ndumped ? "the first left out is" : "the first extra is",
	      key_str(n > cur.ndumped ? &want[cur.ndumped] : &dumped[n]));
	st.exact_dumps++;
}

static void do_route_dump(void)
{
	struct nlmsghdr req = { .nlmsg_seq = 1000 + st.dumps };
	struct sk_buff req_skb = {};
	struct netlink_ext_ack extack = {};
	struct rtmgr_dump_arg arg = { .extack = &extack };
	struct netlink_callback cb = { .skb = &req_skb, .nlh = &req, .data = &arg };
	unsigned int i;
	u64 gen;
	int err;

	st.dumps++;
	rand_filter(&arg.filter);
	if (bulk_window && chance(50))
		arg.filter.has_dst = 0;	/* visit the whole big trie */
	NETLINK_CB(&req_skb).portid = DUMP_PORTID;
	if (chance(5)) {
		kshim_fail_nth(1);
		err = rtmgr_dump_routes_start(&cb);
		CHECK(err == -ENOMEM && kshim_fail_off() == 1 && extack._msg,
		      "rtmgr_dump_routes_start with no memory: %d", err);
		st.dump_start_refused++;
		return;
	}
	err = rtmgr_dump_routes_start(&cb);
	CHECK(!err && cb.data != &arg, "rtmgr_dump_routes_start: %d", err);
	dump_begin();
	cur.f = &arg.filter;
	cur.seq = req.nlmsg_seq;
	cur.inner = chance(20) ? 5 + below(25) : 0;
	gen = model_gen;
	extra_kmalloc = 1;
	err = run_dump(&cb, rtmgr_dump_routes, chance(50) ? 0 : 30);
	dump_active = false;
	rtmgr_dump_done(&cb);
	extra_kmalloc = 0;
	if (err)
		return;
	if (model_gen == gen)
		check_dump_exact(&arg.filter);
	/* every route that matched all along, and is still there, was sent */
	for (i = 0; i < nmodel; i++) {
		const struct mroute *m = &model[i];

		CHECK(m->seen || m->added || m->missable || !mmatch(&arg.filter, m) ||
		      (m->replaced && filter_on_attrs(&arg.filter)),
		      "the dump left out %s", key_str(&m->k));
	}
}

static void do_bulk_lookup(void)
{
	struct nlmsghdr req = { .nlmsg_seq = 500000 + st.bulk_lookups };
	struct sk_buff req_skb = {};
	struct rtmgr_dump_arg arg = {};
	struct netlink_callback cb = { .skb = &req_skb, .nlh = &req, .data = &arg };
	u8 addrs[64 * RTMGR_ADDR_MAX], a[RTMGR_ADDR_MAX];
	unsigned int i, alen;
	int err;

	st.bulk_lookups++;
	NETLINK_CB(&req_skb).portid = DUMP_PORTID;
	arg.filter.table = table_ids[below(NTABLES)];
	arg.filter.family = chance(70) ? AF_INET : AF_INET6;
	arg.naddrs = 1 + below(64);
	arg.addrs = addrs;
	alen = rtmgr_addr_len(rtmgr_fam_index(arg.filter.family));
	for (i = 0; i < arg.naddrs; i++) {
		rand_lookup_addr(arg.filter.table, rtmgr_fam_index(arg.filter.family), a);
		memcpy(addrs + i * alen, a, alen);
	}
	err = rtmgr_dump_lookup_start(&cb);
	CHECK(!err && cb.data == cb.ctx, "rtmgr_dump_lookup_start: %d", err);
	dump_begin();
	cur.lookup = true;
	cur.addrs = addrs;
	cur.naddrs = arg.naddrs;
	cur.table = arg.filter.table;
	cur.fam = rtmgr_fam_index(arg.filter.family);
	cur.seq = req.nlmsg_seq;
	err = run_dump(&cb, rtmgr_dump_lookup, chance(50) ? 0 : 40);
	dump_active = false;
	rtmgr_dump_done(&cb);
	CHECK(err || cur.next == cur.naddrs, "bulk lookup answered %u of %u", cur.next, cur.naddrs);
}

/* ---- device purge (device.c) --------------------------------------------- */

static struct net_device netdevs[MAXIF];	/* ifindex 1 .. MAXIF, in the_net */
static bool net_alive = true;

/* net_namespace.h's, for device.c */
bool check_net(const struct net *net)
{
	if (net != &the_net)
		fail("check_net() of a namespace that is not the harness's");
	return net_alive;
}

/* What a purge must do, and what it did: the events of notify.c, checked. */
static struct {
	bool active;
	u32 ifindex;
	unsigned int expected, events, prepared, noted;
	struct rtmgr_key last;
	bool have_last;
	unsigned long injected;		/* kmalloc failures at the last event */
} purge;

/* encode.c's and notify.c's, for device.c */
size_t rtmgr_route_msg_size(const struct rtmgr_route *r)
{
	return 128 + r->nh_count * 48;
}

/* fault.c's knob: here the shim's allocator fails allocations itself */
bool rtmgr_fail_alloc(void)
{
	return false;
}

void rtmgr_note_purge(unsigned int visited)
{
	CHECK(rn.lock.held, "rtmgr_note_purge without the lock");
	purge.noted++;
}

int rtmgr_event_prepare(struct rtmgr_event *ev, struct sock *sk, size_t size,
			u32 portid, const struct nlmsghdr *nlh,
			struct netlink_ext_ack *extack)
{
	CHECK(purge.active && rn.lock.held, "rtmgr_event_prepare outside a purge, or without the lock");
	CHECK(sk == rn.nlsk && !portid && !nlh && !extack && size,
	      "a purge prepares an event as if for a request");
	memset(ev, 0, sizeof(*ev));
	ev->sk = sk;
	purge.prepared++;
	return 0;
}

void rtmgr_event_cancel(struct rtmgr_event *ev)
{
	CHECK(purge.active && purge.prepared, "rtmgr_event_cancel of no prepared event");
	purge.prepared--;
}

static bool nh_same(const struct rtmgr_nh *a, const struct rtmgr_nh *b, unsigned int alen)
{
	return a->oif == b->oif && a->weight == b->weight && a->has_gw == b->has_gw &&
	       (!a->has_gw || !memcmp(a->gw, b->gw, alen));
}

/*
 * One route of the purged device, in key order: replaced by itself without
 * the next hops via the device (NEWROUTE), or removed when none is left,
 * or when there was no memory for the copy (DELROUTE).  The model follows.
 */
void rtmgr_event_route(struct rtmgr_event *ev, int msgtype, u16 flags,
		       const struct rtmgr_key *key, const struct rtmgr_route *r)
{
	unsigned int alen = rtmgr_addr_len(key->fam), keep = 0, i, j = 0;
	struct rtmgr_key kk = *key, *k = &kk;
	struct mroute *m;

	/* the module reads only the family's bytes (the purge reuses its key) */
	memset(k->addr + alen, 0, RTMGR_ADDR_MAX - alen);
	CHECK(purge.active && rn.lock.held && purge.prepared,
	      "rtmgr_event_route(%s) outside a purge, or not prepared", key_str(k));
	purge.prepared--;
	CHECK(!k->any_metric && r && r->metric == k->metric,
	      "purge event for %s with a route of metric %lld", key_str(k),
	      r ? (long long)r->metric : -1LL);
	m = mfind(k);
	CHECK(m && m->via, "purge of device %u: an event for %s, which %s", purge.ifindex,
	      key_str(k), m ? "does not use it (or had its event)" : "the model does not have");
	CHECK(!purge.have_last || key_order(&purge.last, k) < 0,
	      "purge of device %u: %s after %s", purge.ifindex, key_str(k), key_str(&purge.last));
	if (purge.have_last && prefix_eq(&purge.last, k))
		st.purge_same_prefix++;	/* the purge went on with another metric of the prefix */
	purge.last = *k;
	purge.have_last = true;
	purge.events++;
	m->via = 0;
	for (i = 0; i < m->nh_count; i++)
		keep += m->nh[i].oif != purge.ifindex;
	if (msgtype == RTMGR_MSG_NEWROUTE) {
		CHECK(flags == NLM_F_REPLACE && keep && r != m->r && r->nh_count == keep &&
		      r->type == m->type && r->proto == m->proto && r->created == m->created &&
		      r->changed > m->changed,
		      "purge of device %u: %s replaced by a route of %u hops (flags %#x), %u wanted",
		      purge.ifindex, key_str(k), r->nh_count, flags, keep);
		for (i = 0; i < m->nh_count; i++) {
			struct rtmgr_nh want = m->nh[i];

			if (want.oif == purge.ifindex)
				continue;
			if (keep == 1)
				want.weight = 1;
			CHECK(nh_same(&r->nh[j], &want, alen),
			      "purge of device %u: %s: next hop %u is not the one kept", purge.ifindex,
			      key_str(k), j);
			m->nh[j++] = want;
		}
		m->nh_count = keep;
		m->r = (struct rtmgr_route *)r;
		m->changed = r->changed;
		st.purged_changed++;
	} else {
		CHECK(msgtype == RTMGR_MSG_DELROUTE && !flags && r == m->r,
		      "purge of device %u: %s: message %d flags %#x for %p, the model has %p",
		      purge.ifindex, key_str(k), msgtype, flags, (void *)r, (void *)m->r);
		CHECK(!keep || kshim_injected[KSHIM_KMALLOC] > purge.injected,
		      "purge of device %u: %s removed with %u next hops via others, no allocation failed",
		      purge.ifindex, key_str(k), keep);
		mdel(m);
		st.purged_removed++;
	}
	purge.injected = kshim_injected[KSHIM_KMALLOC];
	bump_gen();
}

static int netdev_event(unsigned long event, u32 ifindex)
{
	struct netdev_notifier_info info = { .dev = &netdevs[ifindex - 1] };

	CHECK(kshim_netdev_nb, "no netdevice notifier registered");
	return kshim_netdev_nb->notifier_call(kshim_netdev_nb, event, &info);
}

/* NETDEV_UNREGISTER of a device: every route through it changes, in key order. */
static void do_purge(void)
{
	u32 ifindex = 1 + below(MAXIF);
	unsigned int i, j;
	u64 gen = model_gen;
	int ret;

	st.purges++;
	memset(&purge, 0, sizeof(purge));
	purge.ifindex = ifindex;
	for (i = 0; i < nmodel; i++) {
		model[i].via = 0;
		for (j = 0; j < model[i].nh_count; j++)
			model[i].via |= model[i].nh[j].oif == ifindex;
		purge.expected += model[i].via;
	}
	purge.active = true;
	purge.injected = kshim_injected[KSHIM_KMALLOC];
	if (chance(5)) {
		/* a namespace on its way out, or another event: nothing to do */
		net_alive = !chance(50);
		ret = netdev_event(net_alive ? NETDEV_UP : NETDEV_UNREGISTER, ifindex);
		net_alive = true;
		purge.active = false;
		CHECK(ret == NOTIFY_DONE && model_gen == gen && !purge.events && !purge.noted,
		      "a device event that is not a purge changed %u routes", purge.events);
		return;
	}
	if (chance(25))
		kshim_fail_rate(300, rnd());	/* no memory for some copies: removed */
	ret = netdev_event(NETDEV_UNREGISTER, ifindex);
	kshim_fail_off();
	purge.active = false;
	CHECK(ret == NOTIFY_DONE, "the netdevice notifier returned %d", ret);
	CHECK(!purge.prepared, "purge of device %u: %u events prepared, never sent nor cancelled",
	      ifindex, purge.prepared);
	CHECK(purge.noted == 1, "purge of device %u: rtmgr_note_purge called %u times", ifindex,
	      purge.noted);
	for (i = 0; i < nmodel; i++)
		CHECK(!model[i].via, "purge of device %u left %s, which uses it", ifindex,
		      key_str(&model[i].k));
	CHECK(purge.events == purge.expected, "purge of device %u: %u routes changed, %u used it",
	      ifindex, purge.events, purge.expected);
}

/* ---- flush and teardown -------------------------------------------------- */

static int cmp_routes(const void *a, const void *b)
{
	return key_order(&((const struct mroute *const *)a)[0]->k,
			 &((const struct mroute *const *)b)[0]->k);
}

/* How many prefixes f takes some metrics of and leaves others. */
static unsigned int partly_flushed(const struct rtmgr_filter *f)
{
	static const struct mroute *sorted[MODEL_MAX];
	unsigned int i, j, n = 0, taken;

	for (i = 0; i < nmodel; i++)
		sorted[i] = &model[i];
	qsort(sorted, nmodel, sizeof(sorted[0]), cmp_routes);
	for (i = 0; i < nmodel; i = j) {
		taken = 0;
		for (j = i; j < nmodel && prefix_eq(&sorted[i]->k, &sorted[j]->k); j++)
			taken += mmatch(f, sorted[j]);
		n += taken && taken < j - i;
	}
	return n;
}

static void flush_filter(const struct rtmgr_filter *f)
{
	unsigned int want = 0, n, i;

	st.flushes++;
	for (i = 0; i < nmodel; i++)
		want += mmatch(f, &model[i]);
	if (want && want < nmodel)
		st.partial_flushes += partly_flushed(f);
	mutex_lock(&rn.lock);
	n = rtmgr_flush(&rn, f);
	mutex_unlock(&rn.lock);
	CHECK(n == want, "rtmgr_flush removed %u routes, the model %u", n, want);
	for (i = nmodel; i-- > 0;) {
		if (mmatch(f, &model[i])) {
			mdel(&model[i]);
			bump_gen();
		}
	}
	st.flushed += n;
}

static void do_flush(void)
{
	struct rtmgr_filter f;

	do
		rand_filter(&f);
	while (!filter_any(&f) && chance(95));
	flush_filter(&f);
}

static void do_free_all(void)
{
	st.free_alls++;
	rtmgr_tables_free_all(&rn);
	CHECK(!rn.memory && !rn.routes[0] && !rn.routes[1] &&
	      xa_empty(&rn.tables) && xa_empty(&rn.devices),
	      "after rtmgr_tables_free_all: memory %llu, routes %u/%u",
	      (unsigned long long)rn.memory, rn.routes[0], rn.routes[1]);
	kshim_rcu_barrier();
	CHECK(!kshim_cache_live("rtmgr_node4") && !kshim_cache_live("rtmgr_node6") &&
	      !kshim_cache_live("rtmgr_table") && !kshim_kmalloc_live(),
	      "objects left after rtmgr_tables_free_all");
	mclear();
	/* the same rtmgr_net, as a fresh namespace would have it */
	xa_init(&rn.tables);
	xa_init(&rn.devices);
}

/* Many routes in one trie, so that walks pass RTMGR_WALK_BATCH. */
static void do_bulk_fill(void)
{
	struct rtmgr_key k = {
		.table = table_ids[below(NTABLES)],
		.fam = chance(70) ? RTMGR_FAM4 : RTMGR_FAM6,
	};
	unsigned int n = 1100 + below(1500), i, len = rtmgr_addr_len(k.fam), more;
	struct mroute spec;

	st.bulk_fills++;
	while (n-- && nmodel < MODEL_MAX - 200) {
		k.plen = 16 + below(len * 8 - 15);
		for (i = 0; i < len; i++)
			k.addr[i] = rnd();
		mask(k.addr, k.plen);
		/* a quarter of the prefixes with a few metrics */
		for (more = chance(25) ? 1 + below(4) : 1; more--;) {
			k.metric = rand_metric();
			rand_route(k.fam, &spec);
			do_set(&k, &spec, NO_FAULT);
		}
	}
}

static void table_init_unwinds(void)
{
	unsigned int n;
	int err;

	for (n = 1; n <= 3; n++) {
		kshim_fail_nth(n);
		err = rtmgr_table_init();
		CHECK(err == -ENOMEM && kshim_fail_off() == 1,
		      "rtmgr_table_init with cache %u failing: %d", n, err);
		CHECK(kshim_cache_live("rtmgr_node4") == ~0UL &&
		      kshim_cache_live("rtmgr_node6") == ~0UL &&
		      kshim_cache_live("rtmgr_table") == ~0UL,
		      "a failed rtmgr_table_init left a cache");
	}
	CHECK(!rtmgr_table_init(), "rtmgr_table_init failed");
}

static void set_maybe_refused(void)
{
	rand_set((const enum inject[]){ NO_FAULT, NO_FAULT, NO_FAULT,
		 FAULT_NTH, FAULT_NTH, FAULT_RATE }[below(6)]);
}

static void set_plain(void)
{
	rand_set(NO_FAULT);
}

/* The operations, in percent: at the seed's table size, and below it. */
static const struct op {
	const char	*name;
	unsigned int	at, below;
	void		(*run)(void);
} ops_table[] = {
	{ "set",		25, 44, set_maybe_refused },
	{ "set",		 3,  3, set_plain },
	{ "remove",		29,  5, rand_remove },
	{ "purge",		 1,  1, do_purge },
	{ "find",		 8, 13, do_find },
	{ "lookup",		10, 10, do_lookup },
	{ "held read",		 4,  4, do_held_read },
	{ "dump",		12, 12, do_route_dump },
	{ "bulk lookup",	 6,  6, do_bulk_lookup },
	{ "flush",		 2,  2, do_flush },
};

/* A loop in the module's code that never ends fails the seed, naming the op. */
static unsigned int time_limit;

static void on_alarm(int sig)
{
	fail("still running after %u seconds: a loop that does not end?", time_limit);
}

static const struct op *pick_op(bool growing)
{
	unsigned int dice = below(100), i;

	for (i = 0; i < sizeof(ops_table) / sizeof(ops_table[0]) - 1; i++) {
		unsigned int w = growing ? ops_table[i].below : ops_table[i].at;

		if (dice < w)
			break;
		dice -= w;
	}
	return &ops_table[i];
}

int main(int argc, char **argv)
{
	unsigned long ops, bulk_at[2], bulk_end = 0;
	unsigned int target, i;
	u64 gen;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SEED OPS\n", argv[0]);
		return 2;
	}
	seed = strtoull(argv[1], NULL, 0);
	ops = strtoul(argv[2], NULL, 0);
	rng = seed * 0x9E3779B97F4A7C15ULL + 0x1234567;
	rnd();
	target = 100 + below(500);	/* the table size this seed hovers around */
	bulk_at[0] = ops / 8 + below(ops / 4 + 1);
	bulk_at[1] = ops / 2 + below(ops / 4 + 1);

	/* about 3 s under ASan; far more is a hang */
	time_limit = 120 + ops / 100;
	signal(SIGALRM, on_alarm);
	alarm(time_limit);
	table_init_unwinds();
	mutex_init(&rn.lock);
	xa_init(&rn.tables);
	xa_init(&rn.devices);
	rn.net = &the_net;
	rn.nlsk = &the_sock;
	rn.generation = model_gen = 1;
	kshim_resched_hook = resched_hook;
	for (i = 0; i < MAXIF; i++)
		netdevs[i] = (struct net_device){ .ifindex = i + 1, .nd_net = &the_net };
	CHECK(!rtmgr_device_init(), "rtmgr_device_init failed");

	for (op_no = 0; op_no < ops; op_no++) {
		if (op_no == bulk_at[0] || op_no == bulk_at[1]) {
			op_name = "bulk fill";
			do_bulk_fill();
			bulk_window = true;
			bulk_end = op_no + 150 + below(150);
		} else if (op_no == bulk_end || !below(8000)) {
			op_name = "free all";
			do_free_all();
			bulk_window = false;
		} else {
			const struct op *o = pick_op(nmodel < target);

			op_name = o->name;
			o->run();
		}
		if (chance(30))
			kshim_rcu_barrier();
		check_all();
		st.size_sum += nmodel;
		if (nmodel > st.size_max)
			st.size_max = nmodel;
	}
	op_name = "teardown";
	/* module exit: unregistering replays every device's UNREGISTER, ignored */
	kshim_netdevs = netdevs;
	kshim_nnetdevs = MAXIF;
	gen = model_gen;
	rtmgr_device_exit();
	CHECK(model_gen == gen && !kshim_netdev_nb, "rtmgr_device_exit changed routes");
	check_all();
	do_free_all();
	rtmgr_table_exit();
	CHECK(!kshim_rcu_pending(), "RCU callbacks left after rtmgr_table_exit");
	if (ops >= 20000) {
		/* a full run went where the metrics make a difference */
		op_name = "coverage";
		CHECK(st.metric_inserts >= 100 && st.removes_any >= 100 && st.finds_any >= 100 &&
		      st.prefixes_by_count[2] >= 100 && st.prefixes_by_count[3] >= 100,
		      "too few prefixes with several metrics: %lu added, %lu/%lu by any metric, "
		      "%llu/%llu checks of 3/4", st.metric_inserts, st.removes_any, st.finds_any,
		      st.prefixes_by_count[2], st.prefixes_by_count[3]);
		CHECK(st.resumed_inside >= 10 && st.exact_dumps >= 100 && st.inner_writes >= 10,
		      "too few dumps resumed between two metrics (%lu), compared whole (%lu), "
		      "or written to inside (%lu)", st.resumed_inside, st.exact_dumps, st.inner_writes);
		CHECK(st.partial_flushes >= 10 && st.purge_same_prefix >= 10,
		      "too few prefixes partly flushed (%lu) or purged metric after metric (%lu)",
		      st.partial_flushes, st.purge_same_prefix);
	}

	printf("kshim: seed %llu: %lu ops, %lu checks; %lu sets (%lu refused), %lu removes, "
	       "%lu finds, %lu lookups, %lu held reads; %lu dumps (%lu routes over %lu skbs, %lu starts refused, "
	       "%lu ended on a small skb), %lu bulk lookups; %lu flushes (%lu routes), "
	       "%lu free-alls, %lu bulk fills; routes %llu on average, %u at most; %lu cond_resched (%lu with writers); "
	       "metrics: %lu added beside others, %lu removes and %lu finds of the lowest, %lu lookups "
	       "of a prefix with several, prefix checks by routes 1:%llu 2:%llu 3:%llu 4:%llu 5:%llu 6+:%llu, "
	       "%lu sets on a branch point, %lu resumptions between two metrics, %lu dumps compared "
	       "whole, %lu writes inside a dump's walk, %lu prefixes partly flushed; %lu purges "
	       "(%lu routes changed, %lu removed, %lu times the next metric of a prefix); injected:",
	       seed, ops, st.checks, st.sets, st.refused, st.removes, st.finds, st.lookups, st.held_reads,
	       st.dumps, st.dump_routes, st.dump_skbs, st.dump_start_refused,
	       st.dump_ended_small, st.bulk_lookups, st.flushes, st.flushed, st.free_alls,
	       st.bulk_fills, st.size_sum / (ops ?: 1), st.size_max, kshim_resched_calls, st.hook_writes,
	       st.metric_inserts, st.removes_any, st.finds_any, st.lookups_multi,
	       st.prefixes_by_count[0], st.prefixes_by_count[1], st.prefixes_by_count[2],
	       st.prefixes_by_count[3], st.prefixes_by_count[4], st.prefixes_by_count[5],
	       st.sets_at_branch, st.resumed_inside, st.exact_dumps, st.inner_writes, st.partial_flushes,
	       st.purges, st.purged_changed, st.purged_removed, st.purge_same_prefix);
	for (i = 0; i < KSHIM_NSITES; i++)
		printf(" %s=%lu/%lu", kshim_site_name[i], kshim_injected[i], kshim_attempts[i]);
	printf("\n");
	return 0;
}
