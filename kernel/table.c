// SPDX-License-Identifier: GPL-2.0
/*
 * Route tables, the routes in them, and their lifetime.
 *
 * A table is made by its first route and freed with its last; it holds one
 * trie per family (trie.c), which maps a prefix to its routes.  A route's
 * key is (table, family, prefix, metric), as in the FIB: a prefix may hold
 * one route per metric, and a lookup takes the lowest.
 *
 * Writers hold rtmgr_net.lock.  Routes are immutable once published: a
 * change builds a new route and swaps it in whole.  Removed routes and
 * tables are freed after a grace period, so readers under rcu_read_lock()
 * may finish with what they found.
 *
 * Besides the tables, this file keeps the namespace's books, under the
 * lock: routes per table and per family, the bytes of everything the
 * tables hold (rtmgr_net.memory), next hops per device and the generation.
 */
#include <linux/slab.h>

#include "rtmgr.h"
#include "trie.h"

static struct kmem_cache *table_cache;

/* a single-hop route fills one 64-byte slab object exactly */
static_assert(sizeof(struct rtmgr_route) + sizeof(struct rtmgr_nh) == 64);

/* Bytes a route with nh_count next hops takes from the allocator. */
static size_t route_size(unsigned int nh_count)
{
	struct rtmgr_route *r;

	return kmalloc_size_roundup(struct_size(r, nh, nh_count));
}

struct rtmgr_route *rtmgr_route_alloc(unsigned int nh_count)
{
	struct rtmgr_route *r = rtmgr_alloc(kzalloc(route_size(nh_count), GFP_KERNEL_ACCOUNT));

	if (r)
		r->nh_count = nh_count;
	return r;
}

static void route_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct rtmgr_route, rcu));
}

/* Free a route that was never published. */
void rtmgr_route_free(struct rtmgr_route *r)
{
	kfree(r);
}

/*
 * Free a route that was unpublished (replaced or removed), once the caller
 * no longer uses it; readers that found it keep it until a grace period.
 */
void rtmgr_route_retire(struct rtmgr_net *rn, struct rtmgr_route *r)
{
	rtmgr_mem_add(rn, -(long)route_size(r->nh_count));
	call_rcu(&r->rcu, route_free_rcu);
}

void rtmgr_bump_generation(struct rtmgr_net *rn)
{
	/* never 0: netlink's dump consistency check treats 0 as "unset" */
	WRITE_ONCE(rn->generation, rn->generation + 1 ?: 1);
}

struct rtmgr_table *rtmgr_table_get(struct rtmgr_net *rn, u32 id)
{
	return xa_load(&rn->tables, id);
}

static struct rtmgr_table *table_get_create(struct rtmgr_net *rn, u32 id)
{
	struct rtmgr_table *t = xa_load(&rn->tables, id);
	int err;

	if (t)
		return t;
	t = rtmgr_alloc(kmem_cache_zalloc(table_cache, GFP_KERNEL_ACCOUNT));
	if (!t)
		return NULL;
	t->id = id;
	err = xa_err(xa_store(&rn->tables, id, t, GFP_KERNEL_ACCOUNT));
	if (err) {
		kmem_cache_free(table_cache, t);
		return NULL;
	}
	rtmgr_mem_add(rn, kmem_cache_size(table_cache));
	return t;
}

static void table_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(table_cache, container_of(head, struct rtmgr_table, rcu));
}

static void table_put_if_empty(struct rtmgr_net *rn, struct rtmgr_table *t)
{
	if (t->count[RTMGR_FAM4] || t->count[RTMGR_FAM6])
		return;
	xa_erase(&rn->tables, t->id);
	rtmgr_mem_add(rn, -(long)kmem_cache_size(table_cache));
	call_rcu(&t->rcu, table_free_rcu);
}

/*
 * Next hops per output device (rn->devices), so that removing a device no
 * route uses costs nothing and a purge stops once the last one is gone.
 * Raising a count may allocate; lowering one never does.
 */
static int device_count(struct rtmgr_net *rn, u32 ifindex, long delta)
{
	void *e = xa_load(&rn->devices, ifindex);
	unsigned long n = (e ? xa_to_value(e) : 0) + delta;

	if (!n) {
		xa_erase(&rn->devices, ifindex);
		return 0;
	}
	return xa_err(xa_store(&rn->devices, ifindex, xa_mk_value(n),
			       GFP_KERNEL_ACCOUNT));
}

static void devices_put(struct rtmgr_net *rn, const struct rtmgr_route *r,
			unsigned int upto)
{
	unsigned int i;

	for (i = 0; i < upto; i++)
		if (r->nh[i].oif)
			device_count(rn, r->nh[i].oif, -1);
}

static int devices_get(struct rtmgr_net *rn, const struct rtmgr_route *r)
{
	unsigned int i;

	for (i = 0; i < r->nh_count; i++) {
		if (r->nh[i].oif && device_count(rn, r->nh[i].oif, 1)) {
			devices_put(rn, r, i);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Does any next hop of any route use the device?  The lock is held. */
bool rtmgr_device_used(struct rtmgr_net *rn, u32 ifindex)
{
	lockdep_assert_held(&rn->lock);
	return xa_load(&rn->devices, ifindex);
}

static void count_add(struct rtmgr_net *rn, struct rtmgr_table *t, int fam,
		      int delta)
{
	WRITE_ONCE(t->count[fam], t->count[fam] + delta);
	WRITE_ONCE(rn->routes[fam], rn->routes[fam] + delta);
}

/*
 * Set the route of key k (its metric is r->metric) to r.  *old receives the
 * route it replaced (NULL if the key was absent), which the caller passes
 * to rtmgr_route_retire() when done with it, lock still held.  Fails only
 * with -ENOMEM, before anything changed.
 */
int rtmgr_route_set(struct rtmgr_net *rn, const struct rtmgr_key *k,
		    struct rtmgr_route *r, struct rtmgr_route **old)
{
	struct rtmgr_table *t;

	*old = NULL;
	if (devices_get(rn, r))
		return -ENOMEM;
	t = table_get_create(rn, k->table);
	if (!t)
		goto nomem_devices;
	if (rtmgr_trie_insert(rn, &t->root[k->fam], k, r, old))
		goto nomem;
	rtmgr_mem_add(rn, route_size(r->nh_count));
	if (*old)
		devices_put(rn, *old, (*old)->nh_count);
	else
		count_add(rn, t, k->fam, 1);
	rtmgr_bump_generation(rn);
	return 0;
nomem:
	table_put_if_empty(rn, t);
nomem_devices:
	devices_put(rn, r, r->nh_count);
	return -ENOMEM;
}

/*
 * Remove the route of key k (the lowest metric's with k->any_metric);
 * returns it or NULL if absent.  The caller passes it to
 * rtmgr_route_retire() when done with it, lock still held.
 */
struct rtmgr_route *rtmgr_route_remove(struct rtmgr_net *rn,
				       const struct rtmgr_key *k)
{
	struct rtmgr_table *t = rtmgr_table_get(rn, k->table);
	struct rtmgr_route *r;

	if (!t)
		return NULL;
	r = rtmgr_trie_remove(rn, &t->root[k->fam], k);
	if (!r)
		return NULL;
	devices_put(rn, r, r->nh_count);
	count_add(rn, t, k->fam, -1);
	table_put_if_empty(rn, t);
	rtmgr_bump_generation(rn);
	return r;
}

/*
 * The route with exactly key k (the prefix's lowest metric with
 * k->any_metric); with the lock held or under RCU.
 */
struct rtmgr_route *rtmgr_route_find(struct rtmgr_net *rn,
				     const struct rtmgr_key *k)
{
	struct rtmgr_table *t = rtmgr_table_get(rn, k->table);

	if (!t)
		return NULL;
	return (struct rtmgr_route *)rtmgr_trie_find(rn,
			rtmgr_trie_root(rn, t, k->fam), k);
}

/* A route of a trie being freed: its next hops leave the device counts. */
static void route_drop(struct rtmgr_net *rn, struct rtmgr_route *r)
{
	devices_put(rn, r, r->nh_count);
	rtmgr_route_retire(rn, r);
}

/* Namespace teardown: no sockets are left, nothing can read any more. */
void rtmgr_tables_free_all(struct rtmgr_net *rn)
{
	struct rtmgr_table *t;
	unsigned long id;
	int fam;

	mutex_lock(&rn->lock);
	xa_for_each(&rn->tables, id, t) {
		for (fam = 0; fam < RTMGR_NFAM; fam++) {
			rtmgr_trie_free(rn, fam, &t->root[fam], route_drop);
			count_add(rn, t, fam, -(int)t->count[fam]);
		}
		table_put_if_empty(rn, t);
	}
	WARN_ON_ONCE(rn->memory || rn->routes[0] || rn->routes[1] ||
		     !xa_empty(&rn->devices));
	mutex_unlock(&rn->lock);
	xa_destroy(&rn->tables);
	xa_destroy(&rn->devices);
}

int rtmgr_table_init(void)
{
	int err = rtmgr_trie_init();

	if (err)
		return err;
	table_cache = kmem_cache_create("rtmgr_table",
			sizeof(struct rtmgr_table), 0, SLAB_ACCOUNT, NULL);
	if (!table_cache) {
		rtmgr_trie_exit();
		return -ENOMEM;
	}
	return 0;
}

void rtmgr_table_exit(void)
{
	/* wait for every call_rcu of ours before the caches and code go */
	rcu_barrier();
	kmem_cache_destroy(table_cache);
	rtmgr_trie_exit();
}
