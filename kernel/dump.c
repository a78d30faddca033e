// SPDX-License-Identifier: GPL-2.0
/*
 * Multipart answers: route dumps (with kernel-side filters), bulk lookups,
 * and flush, which walks routes the way a dump does.
 *
 * A dump runs under RCU, one skb at a time, and keeps its place as a key:
 * (table id, family, last prefix, last metric sent).  The next skb goes on
 * with that prefix's higher metrics, then from the first route after it
 * (rtmgr_trie_next), so routes added or removed in between never leave
 * the dump pointing at freed memory; the generation
 * counter in cb->seq flags such a dump NLM_F_DUMP_INTR so the reader knows
 * to retry.
 *
 * A pass over the trie that matches little (a filter on a device, say)
 * could walk the whole table in one RCU read-side section: every
 * RTMGR_WALK_BATCH nodes it leaves the section, reschedules and starts
 * again from the table id and the key, which is all the cursor is.
 *
 * Filters with a prefix visit only what can match:
 *   exact P  one node;
 *   root P   the routes inside P, which are contiguous in dump order;
 *   match P  the routes on the path from the root to P.
 */
#include <linux/sched.h>
#include <linux/slab.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "rtmgr.h"
#include "trie.h"

struct route_dump {
	struct rtmgr_filter	f;
	u32			table;		/* cursor: table, */
	u8			fam;		/* family, */
	u8			have_key;	/* and last key sent: prefix, */
	u8			plen;
	u8			have_metric;	/* and metric */
	u8			done;
	u32			metric;
	u8			key[RTMGR_ADDR_MAX];
};

struct lookup_dump {
	const u8		*addrs;
	u32			naddrs;
	u32			next;
	u32			table;
	u8			fam;
};

static_assert(sizeof(struct lookup_dump) <= sizeof_field(struct netlink_callback, ctx));

static bool nh_has(const struct rtmgr_route *r, const struct rtmgr_filter *f,
		   unsigned int alen)
{
	unsigned int i;

	for (i = 0; i < r->nh_count; i++) {
		if (f->has_oif && r->nh[i].oif != f->oif)
			continue;
		if (f->has_gw &&
		    (!r->nh[i].has_gw || memcmp(r->nh[i].gw, f->gw, alen)))
			continue;
		return true;
	}
	return false;
}

bool rtmgr_filter_match(const struct rtmgr_filter *f, u32 table, int fam,
			const u8 *key, u8 plen, const struct rtmgr_route *r)
{
	if (f->table && table != f->table)
		return false;
	if (f->family && f->family != rtmgr_fam_af(fam))
		return false;
	if ((f->type && r->type != f->type) ||
	    (f->proto && r->proto != f->proto) ||
	    (f->has_metric && r->metric != f->metric))
		return false;
	if ((f->has_oif || f->has_gw) && !nh_has(r, f, rtmgr_addr_len(fam)))
		return false;
	if (!f->has_dst)
		return true;
	switch (f->match) {
	case RTMGR_MATCH_ROOT:
		return plen >= f->dst_len &&
		       rtmgr_prefix_contains(f->dst, f->dst_len, key);
	case RTMGR_MATCH_MATCH:
		return plen <= f->dst_len &&
		       rtmgr_prefix_contains(key, plen, f->dst);
	default:
		return plen == f->dst_len &&
		       !memcmp(key, f->dst, rtmgr_addr_len(fam));
	}
}

/* The lowest-metric route of n passing f, or NULL. */
const struct rtmgr_route *rtmgr_node_match(const struct rtmgr_net *rn,
					   const struct rtmgr_node *n,
					   const struct rtmgr_filter *f,
					   u32 table, int fam)
{
	const struct rtmgr_route *r;
	unsigned int i;

	for (i = 0; (r = rtmgr_node_route_at(rn, n, i)); i++)
		if (rtmgr_filter_match(f, table, fam, n->key, n->plen, r))
			return r;
	return NULL;
}

/* The first route node on the path to f->dst with a prefix longer than after. */
static const struct rtmgr_node *next_ancestor(const struct rtmgr_net *rn,
					      const struct rtmgr_node *n,
					      const struct rtmgr_filter *f,
					      int after)
{
	while (n) {
		if (n->plen > f->dst_len ||
		    !rtmgr_prefix_contains(n->key, n->plen, f->dst))
			return NULL;
		if ((int)n->plen > after && rtmgr_node_route(rn, n))
			return n;
		if (n->plen == f->dst_len)
			return NULL;
		n = rtmgr_trie_child(rn, n, (f->dst[n->plen / 8] >>
					     (7 - n->plen % 8)) & 1);
	}
	return NULL;
}

/*
 * The next candidate in one trie after (key, plen), or the first when
 * have_key is false, visiting only what the filter's prefix allows.
 */
static const struct rtmgr_node *candidate(const struct rtmgr_net *rn,
					  const struct rtmgr_node *root, int fam, const struct rtmgr_filter *f,
					  bool have_key, const u8 *key, u8 plen)
{
	const struct rtmgr_node *n;

	if (!f->has_dst) {
		return have_key ? rtmgr_trie_next(rn, root, fam, key, plen) :
				  rtmgr_trie_first(rn, root);
	}
	switch (f->match) {
	case RTMGR_MATCH_MATCH:
		return next_ancestor(rn, root, f, have_key ? plen : -1);
	case RTMGR_MATCH_ROOT:
		if (have_key)
			n = rtmgr_trie_next(rn, root, fam, key, plen);
		else {
			n = rtmgr_trie_exact(rn, root, fam, f->dst, f->dst_len);
			if (!n || !rtmgr_node_route(rn, n))
				n = rtmgr_trie_next(rn, root, fam, f->dst,
						    f->dst_len);
		}
		if (n && !rtmgr_prefix_contains(f->dst, f->dst_len, n->key))
			return NULL;	/* past the end of P */
		return n;
	default:
		return have_key ? NULL :
			rtmgr_trie_exact(rn, root, fam, f->dst, f->dst_len);
	}
}

static bool family_wanted(const struct rtmgr_filter *f, int fam)
{
	return !f->family || f->family == rtmgr_fam_af(fam);
}

/* ---- route dump ---------------------------------------------------------- */

int rtmgr_dump_routes_start(struct netlink_callback *cb)
{
	const struct rtmgr_dump_arg *arg = cb->data;
	struct route_dump *d;

	d = rtmgr_alloc(kzalloc(sizeof(*d), GFP_KERNEL));
	if (!d) {
		NL_SET_ERR_MSG(arg->extack, "no memory to start the dump");
		return -ENOMEM;
	}
	d->f = arg->filter;
	d->table = d->f.table;
	cb->data = d;
	return 0;
}

/*
 * The routes of n (the cursor's prefix) passing the filter, after the
 * cursor's metric: -EMSGSIZE when the skb is full (the cursor is on the
 * last route sent).
 */
static int dump_node(struct rtmgr_net *rn, struct sk_buff *skb,
		     struct netlink_callback *cb, struct route_dump *d,
		     const struct rtmgr_table *t, const struct rtmgr_node *n,
		     u16 flags)
{
	const struct rtmgr_route *r;
	unsigned int i;
	int len, err;

	for (i = 0; (r = rtmgr_node_route_at(rn, n, i)); i++) {
		if (d->have_metric && r->metric <= d->metric)
			continue;
		if (rtmgr_filter_match(&d->f, t->id, d->fam, n->key, n->plen, r)) {
			len = skb->len;
			err = rtmgr_fill_route(skb, RTMGR_MSG_NEWROUTE,
					       NETLINK_CB(cb->skb).portid,
					       cb->nlh->nlmsg_seq, flags, t->id,
					       d->fam, n->key, n->plen, r, NULL);
			if (err)
				return err;
			nl_dump_check_consistent(cb, (struct nlmsghdr *)
						 (skb->data + len));
		}
		d->metric = r->metric;
		d->have_metric = 1;
	}
	return 0;
}

/*
 * Dump one trie from the cursor on: -EMSGSIZE when the skb is full, -EAGAIN
 * when *budget nodes were visited (the cursor is on the last one, done).
 */
static int dump_trie(struct rtmgr_net *rn, struct sk_buff *skb,
		     struct netlink_callback *cb, struct route_dump *d,
		     const struct rtmgr_table *t, unsigned int *budget)
{
	const struct rtmgr_node *root = rtmgr_trie_root(rn, t, d->fam);
	u16 flags = NLM_F_MULTI;
	const struct rtmgr_node *n;
	int err;

	if (d->f.table || d->f.family || d->f.type || d->f.proto ||
	    d->f.has_dst || d->f.has_gw || d->f.has_oif || d->f.has_metric)
		flags |= NLM_F_DUMP_FILTERED;
	if (d->have_key) {
		/* the cursor's prefix first: the metrics not sent yet */
		n = rtmgr_trie_exact(rn, root, d->fam, d->key, d->plen);
		if (n) {
			err = dump_node(rn, skb, cb, d, t, n, flags);
			if (err)
				return err;
		}
	}
	n = candidate(rn, root, d->fam, &d->f, d->have_key, d->key, d->plen);
	while (n) {
		memcpy(d->key, n->key, rtmgr_addr_len(d->fam));
		d->plen = n->plen;
		d->have_key = 1;
		d->have_metric = 0;
		err = dump_node(rn, skb, cb, d, t, n, flags);
		if (err)
			return err;
		if (!--*budget)
			return -EAGAIN;
		n = candidate(rn, root, d->fam, &d->f, true, d->key, d->plen);
	}
	return 0;
}

int rtmgr_dump_routes(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct rtmgr_net *rn = rtmgr_net(sock_net(skb->sk));
	struct route_dump *d = cb->data;
	unsigned int budget = RTMGR_WALK_BATCH;
	struct rtmgr_table *t;
	unsigned long id;
	int err = 0;

	if (d->done)
		return 0;
	rcu_read_lock();
again:
	/* a change since the last message sets NLM_F_DUMP_INTR on the next */
	cb->seq = READ_ONCE(rn->generation);
	id = d->table;
	xa_for_each_start(&rn->tables, id, t, d->table) {
		if (d->f.table && id != d->f.table)
			break;
		if (id != d->table) {
			d->table = id;
			d->fam = 0;
			d->have_key = 0;
		}
		for (; d->fam < RTMGR_NFAM; d->fam++, d->have_key = 0) {
			if (!family_wanted(&d->f, d->fam))
				continue;
			err = dump_trie(rn, skb, cb, d, t, &budget);
			if (err == -EAGAIN) {
				rcu_read_unlock();
				cond_resched();
				rcu_read_lock();
				budget = RTMGR_WALK_BATCH;
				goto again;	/* t may be gone: from the cursor */
			}
			if (err)
				goto out;
		}
		if (id == U32_MAX)
			break;
		d->table = id + 1;
		d->fam = 0;
		d->have_key = 0;
	}
	d->done = 1;
out:
	rcu_read_unlock();
	if (err == -EMSGSIZE && skb->len)
		return skb->len;	/* more to come in the next skb */
	return err;
}

int rtmgr_dump_done(struct netlink_callback *cb)
{
	/* the bulk lookup keeps its state in cb->ctx, the dump in cb->data */
	if (cb->data != cb->ctx)
		kfree(cb->data);
	return 0;
}

/* ---- bulk lookup --------------------------------------------------------- */

int rtmgr_dump_lookup_start(struct netlink_callback *cb)
{
	const struct rtmgr_dump_arg *arg = cb->data;
	struct lookup_dump *l = (struct lookup_dump *)cb->ctx;

	l->addrs = arg->addrs;
	l->naddrs = arg->naddrs;
	l->next = 0;
	l->table = arg->filter.table;
	l->fam = rtmgr_fam_index(arg->filter.family);
	cb->data = cb->ctx;
	return 0;
}

int rtmgr_dump_lookup(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct rtmgr_net *rn = rtmgr_net(sock_net(skb->sk));
	struct lookup_dump *l = (struct lookup_dump *)cb->ctx;
	unsigned int alen = rtmgr_addr_len(l->fam);
	const struct rtmgr_node *node;
	const struct rtmgr_route *r;
	struct rtmgr_table *t;
	int err = 0;

	rcu_read_lock();
	cb->seq = READ_ONCE(rn->generation);
	t = rtmgr_table_get(rn, l->table);
	for (; l->next < l->naddrs; l->next++) {
		const u8 *addr = l->addrs + l->next * alen;
		u8 a[RTMGR_ADDR_MAX] = {};
		int len = skb->len;

		memcpy(a, addr, alen);
		r = NULL;
		node = t ? rtmgr_trie_lookup(rn, rtmgr_trie_root(rn, t, l->fam),
					     l->fam, a, &r) : NULL;
		err = rtmgr_fill_route(skb, RTMGR_MSG_LOOKUP,
				       NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI,
				       l->table, l->fam,
				       node ? node->key : NULL,
				       node ? node->plen : 0, r, a);
		if (err)
			break;
		nl_dump_check_consistent(cb, (struct nlmsghdr *)(skb->data + len));
	}
	rcu_read_unlock();
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err;
}

/* ---- flush --------------------------------------------------------------- */

/*
 * Remove every route passing f; the lock is held (for the whole flush, so
 * that one notification can report it).  Each step finds the next victim
 * from the root by key, so removals never disturb the walk.
 */
unsigned int rtmgr_flush(struct rtmgr_net *rn, const struct rtmgr_filter *f)
{
	unsigned long id = f->table;
	unsigned int count = 0, steps = 0;
	const struct rtmgr_route *r;
	const struct rtmgr_node *n;
	struct rtmgr_table *t;
	struct rtmgr_key k = {};
	bool have;

	xa_for_each_start(&rn->tables, id, t, f->table) {
		if (f->table && id != f->table)
			break;
		for (k.fam = 0; k.fam < RTMGR_NFAM; k.fam++) {
			if (!family_wanted(f, k.fam))
				continue;
			k.table = id;
			have = false;
			/* t goes away with its last route: look it up each time */
			while ((t = rtmgr_table_get(rn, id))) {
				const struct rtmgr_node *root =
					rtmgr_trie_root(rn, t, k.fam);

				/* the last prefix again: it may hold more metrics */
				n = have ? rtmgr_trie_exact(rn, root, k.fam,
							    k.addr, k.plen) : NULL;
				r = n ? rtmgr_node_match(rn, n, f, id, k.fam) : NULL;
				if (!r)
					n = candidate(rn, root, k.fam, f, have,
						      k.addr, k.plen);
				while (!r && n) {
					if (++steps % RTMGR_WALK_BATCH == 0)
						cond_resched();
					memcpy(k.addr, n->key, rtmgr_addr_len(k.fam));
					k.plen = n->plen;
					have = true;
					r = rtmgr_node_match(rn, n, f, id, k.fam);
					if (!r)
						n = candidate(rn, root, k.fam, f,
							      true, k.addr, k.plen);
				}
				if (!r)
					break;
				k.metric = r->metric;
				rtmgr_route_retire(rn, rtmgr_route_remove(rn, &k));
				count++;
			}
		}
	}
	return count;
}
