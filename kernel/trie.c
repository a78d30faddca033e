// SPDX-License-Identifier: GPL-2.0
/*
 * The longest-prefix-match trie of one table and family.
 *
 * A binary, path-compressed trie.  A node stores a prefix (key, plen) whose
 * host bits are zero; its children extend it by one more bit (child[bit at
 * position plen]).  A node either carries routes or is an intermediate
 * branch point with exactly two children, so a trie of n prefixes has fewer
 * than 2n nodes and a lookup visits at most one node per address bit (33
 * for IPv4, 129 for IPv6).
 *
 *            10.0.0.0/8 (route)
 *              /            \
 *   10.0.0.0/15 (branch)    10.128.0.0/9 (route)
 *      /          \
 *  10.0.0.0/16  10.1.0.0/16
 *
 * Writers hold rtmgr_net.lock and publish with rcu_assign_pointer; readers
 * walk under rcu_read_lock.  A node's key never changes after it is
 * published; its route pointer is swapped whole (routes are immutable).
 * Removed nodes and route sets are freed after a grace period.
 *
 * A prefix may hold one route per metric, as in the FIB.  Its node points
 * at the route, or, for more than one, at a struct rtmgr_mset sorted by
 * metric; a lookup takes the lowest.
 *
 * Order: the dump order is (address, prefix length), which is the trie's
 * pre-order with child[0] before child[1].  rtmgr_trie_next() finds the
 * successor of any (address, length) pair from the root without a stack or
 * parent pointers, so a dump can resume from the last key it sent even if
 * the trie changed in between.
 */
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sched.h>

#include "rtmgr.h"
#include "trie.h"

static struct kmem_cache *node_cache[RTMGR_NFAM];

#define lock_held(rn) lockdep_is_held(&(rn)->lock)
/* writers: the lock is held */
#define wderef(rn, p) rcu_dereference_protected(p, lock_held(rn))
/* readers: under rcu_read_lock(), or the lock is held */
#define rderef(rn, p) rcu_dereference_check(p, lock_held(rn))

static unsigned int fam_bits(int fam)
{
	return rtmgr_addr_len(fam) * 8;
}

static unsigned int bit_at(const u8 *key, unsigned int i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1;
}

/* Length of the common prefix of a and b, at most limit bits. */
static unsigned int common_bits(const u8 *a, const u8 *b, unsigned int limit)
{
	unsigned int i, n = 0;

	for (i = 0; n < limit; i++, n += 8) {
		u8 x = a[i] ^ b[i];

		if (x) {
			n += 7 - __fls(x);
			break;
		}
	}
	return min(n, limit);
}

/* Is addr inside prefix p/plen? */
bool rtmgr_prefix_contains(const u8 *p, u8 plen, const u8 *addr)
{
	return common_bits(p, addr, plen) == plen;
}

/* Compare (a, alen) with (b, blen) in dump order. */
static int key_cmp(const u8 *a, u8 alen, const u8 *b, u8 blen, int fam)
{
	int c = memcmp(a, b, rtmgr_addr_len(fam));

	if (c)
		return c;
	return (int)alen - (int)blen;
}

static struct rtmgr_node *node_alloc(struct rtmgr_net *rn, int fam,
				     const u8 *key, u8 plen)
{
	struct rtmgr_node *n;
	unsigned int len = rtmgr_addr_len(fam), i;

	n = rtmgr_alloc(kmem_cache_alloc(node_cache[fam], GFP_KERNEL_ACCOUNT));
	if (!n)
		return NULL;
	RCU_INIT_POINTER(n->child[0], NULL);
	RCU_INIT_POINTER(n->child[1], NULL);
	RCU_INIT_POINTER(n->routes, NULL);
	n->plen = plen;
	memcpy(n->key, key, len);
	/* keep host bits zero: intermediate nodes are cut from longer keys */
	for (i = plen; i < len * 8; i++)
		n->key[i / 8] &= ~(0x80 >> (i % 8));
	rtmgr_mem_add(rn, kmem_cache_size(node_cache[fam]));
	return n;
}

static void node4_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(node_cache[RTMGR_FAM4],
			container_of(head, struct rtmgr_node, rcu));
}

static void node6_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(node_cache[RTMGR_FAM6],
			container_of(head, struct rtmgr_node, rcu));
}

static void node_free(struct rtmgr_net *rn, int fam, struct rtmgr_node *n)
{
	rtmgr_mem_add(rn, -(long)kmem_cache_size(node_cache[fam]));
	call_rcu(&n->rcu, fam == RTMGR_FAM6 ? node6_free_rcu : node4_free_rcu);
}

/* ---- the routes of one node ---------------------------------------------- */

static bool is_mset(const void *p)
{
	return (unsigned long)p & RTMGR_MSET;
}

static struct rtmgr_mset *to_mset(const void *p)
{
	return (struct rtmgr_mset *)((unsigned long)p & ~RTMGR_MSET);
}

static size_t mset_size(unsigned int count)
{
	struct rtmgr_mset *m;

	return struct_size(m, r, count);
}

static void mset_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct rtmgr_mset, rcu));
}

static void mset_retire(struct rtmgr_net *rn, struct rtmgr_mset *m)
{
	rtmgr_mem_add(rn, -(long)mset_size(m->size));
	call_rcu(&m->rcu, mset_free_rcu);
}

const struct rtmgr_route *rtmgr_node_route_at(const struct rtmgr_net *rn,
					      const struct rtmgr_node *n,
					      unsigned int i)
{
	const void *p = rderef(rn, n->routes);
	const struct rtmgr_mset *m;

	if (!p || !is_mset(p))
		return i ? NULL : p;
	m = to_mset(p);
	return i < READ_ONCE(m->count) ? rderef(rn, m->r[i]) : NULL;
}

/* The lowest-metric route of n, or NULL for a branch point. */
const struct rtmgr_route *rtmgr_node_route(const struct rtmgr_net *rn,
					   const struct rtmgr_node *n)
{
	return rtmgr_node_route_at(rn, n, 0);
}

/* Where k's route is among n's routes: its index, or -1. */
static int node_index(const struct rtmgr_net *rn, const struct rtmgr_node *n,
		      const struct rtmgr_key *k)
{
	const struct rtmgr_route *r;
	unsigned int i;

	for (i = 0; (r = rtmgr_node_route_at(rn, n, i)); i++) {
		if (k->any_metric || r->metric == k->metric)
			return i;
		if (r->metric > k->metric)
			break;
	}
	return -1;
}

/*
 * Put r among n's routes; *old receives the route of the same metric it
 * replaced, if any.  Fails only with -ENOMEM, before anything changed.
 */
static int node_put(struct rtmgr_net *rn, struct rtmgr_node *n,
		    struct rtmgr_route *r, struct rtmgr_route **old)
{
	void *p = wderef(rn, n->routes);
	struct rtmgr_mset *m = is_mset(p) ? to_mset(p) : NULL, *nm;
	unsigned int count = m ? m->count : !!p, i, j;
	struct rtmgr_route *cur;

	for (i = 0; i < count; i++) {
		cur = m ? wderef(rn, m->r[i]) : p;
		if (cur->metric == r->metric) {
			*old = cur;
			if (m)
				rcu_assign_pointer(m->r[i], r);
			else
				rcu_assign_pointer(n->routes, r);
			return 0;
		}
		if (cur->metric > r->metric)
			break;
	}
	if (!count) {
		rcu_assign_pointer(n->routes, r);
		return 0;
	}
	/* one more metric: a new set with r at i */
	nm = rtmgr_alloc(kmalloc(mset_size(count + 1), GFP_KERNEL_ACCOUNT));
	if (!nm)
		return -ENOMEM;
	nm->count = count + 1;
	nm->size = nm->count;
	for (j = 0; j < count; j++)
		RCU_INIT_POINTER(nm->r[j + (j >= i)], m ? wderef(rn, m->r[j]) : p);
	RCU_INIT_POINTER(nm->r[i], r);
	rtmgr_mem_add(rn, mset_size(nm->size));
	rcu_assign_pointer(n->routes, (void *)((unsigned long)nm | RTMGR_MSET));
	if (m)
		mset_retire(rn, m);
	return 0;
}

/* Take the route at index i out of n's routes; never allocates. */
static struct rtmgr_route *node_take(struct rtmgr_net *rn,
				     struct rtmgr_node *n, unsigned int i)
{
	void *p = wderef(rn, n->routes);
	struct rtmgr_route *r;
	struct rtmgr_mset *m;

	if (!is_mset(p)) {
		rcu_assign_pointer(n->routes, NULL);
		return p;
	}
	m = to_mset(p);
	r = wderef(rn, m->r[i]);
	if (m->count == 2) {
		/* back to one route, pointed at directly */
		rcu_assign_pointer(n->routes, wderef(rn, m->r[!i]));
		mset_retire(rn, m);
		return r;
	}
	for (; i + 1 < m->count; i++)
		rcu_assign_pointer(m->r[i], wderef(rn, m->r[i + 1]));
	WRITE_ONCE(m->count, m->count - 1);
	return r;
}

/* ---- writers --------------------------------------------------------------- */

/*
 * Put r (its metric is r->metric) at the node of k's prefix in the trie at
 * *root, making the node (and a branch point above it) when the prefix has
 * none.  *old receives the route of the same metric it replaced, or NULL.
 * Fails only with -ENOMEM, before anything changed.
 */
int rtmgr_trie_insert(struct rtmgr_net *rn, struct rtmgr_node __rcu **root,
		      const struct rtmgr_key *k, struct rtmgr_route *r,
		      struct rtmgr_route **old)
{
	struct rtmgr_node __rcu **slot = root;
	struct rtmgr_node *node, *new, *im;
	unsigned int maxlen = fam_bits(k->fam), match = 0;

	*old = NULL;
	while ((node = wderef(rn, *slot))) {
		match = common_bits(node->key, k->addr, min(node->plen, k->plen));
		if (node->plen != match || node->plen == k->plen ||
		    node->plen == maxlen)
			break;
		slot = &node->child[bit_at(k->addr, node->plen)];
	}

	/* the prefix has a node: routes of other metrics, or a branch point */
	if (node && node->plen == k->plen && match == k->plen)
		return node_put(rn, node, r, old);

	new = node_alloc(rn, k->fam, k->addr, k->plen);
	if (!new)
		return -ENOMEM;
	RCU_INIT_POINTER(new->routes, r);
	if (!node) {
		rcu_assign_pointer(*slot, new);
		return 0;
	}
	if (match == k->plen) {
		/* the new prefix contains node: it goes above it */
		RCU_INIT_POINTER(new->child[bit_at(node->key, k->plen)], node);
		rcu_assign_pointer(*slot, new);
		return 0;
	}
	/* they part at bit `match`: a branch point takes both */
	im = node_alloc(rn, k->fam, k->addr, match);
	if (!im) {
		node_free(rn, k->fam, new);
		return -ENOMEM;
	}
	if (bit_at(k->addr, match)) {
		RCU_INIT_POINTER(im->child[0], node);
		RCU_INIT_POINTER(im->child[1], new);
	} else {
		RCU_INIT_POINTER(im->child[0], new);
		RCU_INIT_POINTER(im->child[1], node);
	}
	rcu_assign_pointer(*slot, im);
	return 0;
}

/*
 * Take the route of key k (the lowest metric's with k->any_metric) out of
 * the trie at *root, and the nodes it leaves without a purpose; returns
 * the route, or NULL if absent.
 */
struct rtmgr_route *rtmgr_trie_remove(struct rtmgr_net *rn,
				      struct rtmgr_node __rcu **root,
				      const struct rtmgr_key *k)
{
	struct rtmgr_node __rcu **slot = root, **pslot = NULL;
	struct rtmgr_node *node, *parent = NULL, *child;
	struct rtmgr_route *r;
	unsigned int match = 0;
	int i;

	while ((node = wderef(rn, *slot))) {
		match = common_bits(node->key, k->addr, min(node->plen, k->plen));
		if (node->plen != match || node->plen == k->plen)
			break;
		pslot = slot;
		parent = node;
		slot = &node->child[bit_at(k->addr, node->plen)];
	}
	if (!node || node->plen != k->plen || match != k->plen)
		return NULL;
	i = node_index(rn, node, k);
	if (i < 0)
		return NULL;
	r = node_take(rn, node, i);
	if (rcu_access_pointer(node->routes)) {
		/* other metrics stay */
	} else if (rcu_access_pointer(node->child[0]) &&
	    rcu_access_pointer(node->child[1])) {
		/* still needed as a branch point */
	} else if ((child = wderef(rn, node->child[0])) ||
		   (child = wderef(rn, node->child[1]))) {
		rcu_assign_pointer(*slot, child);
		node_free(rn, k->fam, node);
	} else if (parent && !rcu_access_pointer(parent->routes)) {
		/* a leaf under a branch point: the sibling takes its place */
		child = wderef(rn, parent->child[wderef(rn, parent->child[0]) == node]);
		rcu_assign_pointer(*pslot, child);
		node_free(rn, k->fam, node);
		node_free(rn, k->fam, parent);
	} else {
		rcu_assign_pointer(*slot, NULL);
		node_free(rn, k->fam, node);
	}
	return r;
}

/*
 * Free the whole trie at *root, handing each of its routes to drop(), for
 * namespace teardown.  No recursion: rotate left children up, free down the
 * right.
 */
void rtmgr_trie_free(struct rtmgr_net *rn, int fam,
		     struct rtmgr_node __rcu **root,
		     void (*drop)(struct rtmgr_net *rn, struct rtmgr_route *r))
{
	struct rtmgr_node *n = wderef(rn, *root), *l, *next;
	unsigned int steps = 0;

	while (n) {
		if (++steps % RTMGR_WALK_BATCH == 0)
			cond_resched();
		l = wderef(rn, n->child[0]);
		if (l) {
			RCU_INIT_POINTER(n->child[0], wderef(rn, l->child[1]));
			RCU_INIT_POINTER(l->child[1], n);
			n = l;
			continue;
		}
		next = wderef(rn, n->child[1]);
		while (rcu_access_pointer(n->routes))
			drop(rn, node_take(rn, n, 0));
		node_free(rn, fam, n);
		n = next;
	}
	RCU_INIT_POINTER(*root, NULL);
}

/* ---- readers: under rcu_read_lock(), or rn's lock is held ------------------- */

const struct rtmgr_node *rtmgr_trie_root(const struct rtmgr_net *rn,
					 const struct rtmgr_table *t, int fam)
{
	return rderef(rn, t->root[fam]);
}

const struct rtmgr_node *rtmgr_trie_child(const struct rtmgr_net *rn,
					  const struct rtmgr_node *n,
					  unsigned int bit)
{
	return rderef(rn, n->child[bit]);
}

/*
 * Longest-prefix match of addr: the deepest node with a route on its path,
 * and its lowest-metric route.
 */
const struct rtmgr_node *rtmgr_trie_lookup(const struct rtmgr_net *rn,
					   const struct rtmgr_node *n, int fam, const u8 *addr,
					   const struct rtmgr_route **rp)
{
	const struct rtmgr_node *best = NULL;
	const struct rtmgr_route *r, *best_r = NULL;
	unsigned int maxlen = fam_bits(fam);

	while (n) {
		if (common_bits(n->key, addr, n->plen) != n->plen)
			break;
		r = rtmgr_node_route(rn, n);
		if (r) {
			best = n;
			best_r = r;
		}
		if (n->plen == maxlen)
			break;
		n = rderef(rn, n->child[bit_at(addr, n->plen)]);
	}
	*rp = best_r;
	return best;
}

/* The node of exactly addr/plen (with or without a route), or NULL. */
const struct rtmgr_node *rtmgr_trie_exact(const struct rtmgr_net *rn,
					  const struct rtmgr_node *n, int fam,
					  const u8 *addr, u8 plen)
{
	while (n) {
		unsigned int match = common_bits(n->key, addr,
						 min(n->plen, plen));

		if (match != n->plen)
			return NULL;
		if (n->plen == plen)
			return n;
		if (n->plen > plen)
			return NULL;
		n = rderef(rn, n->child[bit_at(addr, n->plen)]);
	}
	return NULL;
}

/*
 * The route with exactly key k (the prefix's lowest metric with
 * k->any_metric), or NULL.
 */
const struct rtmgr_route *rtmgr_trie_find(const struct rtmgr_net *rn,
					  const struct rtmgr_node *root,
					  const struct rtmgr_key *k)
{
	const struct rtmgr_node *n = rtmgr_trie_exact(rn, root, k->fam, k->addr,
						      k->plen);
	int i = n ? node_index(rn, n, k) : -1;

	return i < 0 ? NULL : rtmgr_node_route_at(rn, n, i);
}

/* The first node with a route in the subtree of n, in dump order. */
const struct rtmgr_node *rtmgr_trie_first(const struct rtmgr_net *rn,
					  const struct rtmgr_node *n)
{
	while (n && !rcu_access_pointer(n->routes)) {
		const struct rtmgr_node *c = rderef(rn, n->child[0]);

		n = c ? c : rderef(rn, n->child[1]);
	}
	return n;
}

/*
 * The first node with a route after (addr, plen) in dump order.  addr/plen
 * need not exist in the trie.  One walk from the root: every time the path
 * goes to child[0], child[1]'s subtree is remembered as the place to go on
 * from if nothing later turns up below.
 */
const struct rtmgr_node *rtmgr_trie_next(const struct rtmgr_net *rn,
					 const struct rtmgr_node *n, int fam,
					 const u8 *addr, u8 plen)
{
	const struct rtmgr_node *later = NULL, *c, *r;
	int cmp;

	while (n) {
		cmp = key_cmp(n->key, n->plen, addr, plen, fam);
		if (cmp > 0) {
			/* n and all below it come after (addr, plen) */
			r = rtmgr_trie_first(rn, n);
			return r ? r : rtmgr_trie_first(rn, later);
		}
		if (cmp == 0) {
			r = rtmgr_trie_first(rn, rderef(rn, n->child[0]));
			if (!r)
				r = rtmgr_trie_first(rn, rderef(rn, n->child[1]));
			return r ? r : rtmgr_trie_first(rn, later);
		}
		if (n->plen >= plen ||
		    common_bits(n->key, addr, n->plen) != n->plen)
			break;	/* n's whole subtree lies before (addr, plen) */
		if (!bit_at(addr, n->plen)) {
			c = rderef(rn, n->child[1]);
			if (c)
				later = c;
			n = rderef(rn, n->child[0]);
		} else {
			n = rderef(rn, n->child[1]);
		}
	}
	return rtmgr_trie_first(rn, later);
}

int rtmgr_trie_init(void)
{
	node_cache[RTMGR_FAM4] = kmem_cache_create("rtmgr_node4",
			offsetof(struct rtmgr_node, key) + 4, 0, SLAB_ACCOUNT, NULL);
	node_cache[RTMGR_FAM6] = kmem_cache_create("rtmgr_node6",
			offsetof(struct rtmgr_node, key) + 16, 0, SLAB_ACCOUNT, NULL);
	if (!node_cache[RTMGR_FAM4] || !node_cache[RTMGR_FAM6]) {
		rtmgr_trie_exit();
		return -ENOMEM;
	}
	return 0;
}

/* The caller has waited for every node's grace period (rcu_barrier()). */
void rtmgr_trie_exit(void)
{
	kmem_cache_destroy(node_cache[RTMGR_FAM6]);
	kmem_cache_destroy(node_cache[RTMGR_FAM4]);
}
