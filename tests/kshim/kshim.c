// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space kernel shim behind tests/kshim/include/: allocator with
 * fault injection and a ledger of live objects, one-thread RCU, xarray,
 * cond_resched and the clock.
 *
 *   kmalloc / kmem_cache_alloc / xa_store (new index)
 *        │
 *        ├─ should_fail(site): nth-from-now countdown, or a seeded rate
 *        └─ malloc ──> ledger: pointer -> (size, cache)  (kfree and
 *                      kmem_cache_free must name a live object of theirs)
 *
 *   call_rcu ──> FIFO ──> kshim_rcu_barrier() runs it, never inside
 *                         rcu_read_lock()
 *
 *   register_netdevice_notifier ──> kshim_netdev_nb (one block), which
 *                                   the harness calls for its events
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sanitizer/common_interface_defs.h>

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/rcupdate.h>
#include <linux/xarray.h>
#include <linux/sched.h>
#include <linux/ktime.h>
#include <linux/netdevice.h>

#include "kshim.h"

void kshim_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "kshim: BUG at %s:%d: %s\n", file, line, what);
	__sanitizer_print_stack_trace();
	abort();
}

/* ---- fault injection ----------------------------------------------------- */

const char *const kshim_site_name[KSHIM_NSITES] = {
	[KSHIM_KMALLOC]		= "kmalloc",
	[KSHIM_CACHE]		= "kmem_cache_alloc",
	[KSHIM_XA]		= "xa_store",
	[KSHIM_CACHE_CREATE]	= "kmem_cache_create",
};
unsigned long kshim_attempts[KSHIM_NSITES];
unsigned long kshim_injected[KSHIM_NSITES];

static unsigned long fail_countdown;
static unsigned int fail_permille;
static u64 fail_rng;
static unsigned long fail_count;

void kshim_fail_nth(unsigned long n)
{
	fail_countdown = n;
}

void kshim_fail_rate(unsigned int permille, u64 seed)
{
	fail_permille = permille;
	fail_rng = seed | 1;
}

unsigned long kshim_fail_off(void)
{
	unsigned long n = fail_count;

	fail_countdown = 0;
	fail_permille = 0;
	fail_count = 0;
	return n;
}

static bool should_fail(enum kshim_site site)
{
	bool fail = false;

	kshim_attempts[site]++;
	if (fail_countdown && !--fail_countdown)
		fail = true;
	if (fail_permille) {
		fail_rng ^= fail_rng << 13;
		fail_rng ^= fail_rng >> 7;
		fail_rng ^= fail_rng << 17;
		if (fail_rng % 1000 < fail_permille)
			fail = true;
	}
	if (fail) {
		kshim_injected[site]++;
		fail_count++;
	}
	return fail;
}

/* ---- the ledger of live objects ------------------------------------------ */

struct kmem_cache {
	char			name[32];
	unsigned int		size;
	unsigned long		live;
	struct kmem_cache	*next;
};

struct obj {
	const void		*p;
	size_t			size;
	struct kmem_cache	*cache;		/* NULL: kmalloc */
	struct obj		*next;
};

#define LEDGER_BUCKETS	(1u << 14)

static struct obj *ledger[LEDGER_BUCKETS];
static unsigned long kmalloc_live;
static struct kmem_cache *caches;

static unsigned int bucket(const void *p)
{
	uintptr_t x = (uintptr_t)p;

	return (unsigned int)((x >> 4) ^ (x >> 18)) & (LEDGER_BUCKETS - 1);
}

static void *obj_new(size_t size, struct kmem_cache *cache, bool zero)
{
	void *p = zero ? calloc(1, size ?: 1) : malloc(size ?: 1);
	struct obj *o = malloc(sizeof(*o));

	if (!p || !o)
		kshim_bug(__FILE__, __LINE__, "the host is out of memory");
	o->p = p;
	o->size = size;
	o->cache = cache;
	o->next = ledger[bucket(p)];
	ledger[bucket(p)] = o;
	if (cache)
		cache->live++;
	else
		kmalloc_live++;
	return p;
}

static struct obj **obj_find(const void *p)
{
	struct obj **op = &ledger[bucket(p)];

	while (*op && (*op)->p != p)
		op = &(*op)->next;
	return op;
}

static void obj_free(const void *p, struct kmem_cache *cache, const char *who)
{
	struct obj **op = obj_find(p), *o = *op;
	char what[96];

	if (!o || o->cache != cache) {
		snprintf(what, sizeof(what), "%s of %p, which is not a live %s object",
			 who, p, cache ? cache->name : "kmalloc");
		kshim_bug(__FILE__, __LINE__, what);
	}
	*op = o->next;
	if (cache)
		cache->live--;
	else
		kmalloc_live--;
	free(o);
	free((void *)p);
}

/* ---- kmalloc ------------------------------------------------------------- */

void *kmalloc(size_t size, gfp_t gfp)
{
	return should_fail(KSHIM_KMALLOC) ? NULL : obj_new(size, NULL, false);
}

void *kzalloc(size_t size, gfp_t gfp)
{
	return should_fail(KSHIM_KMALLOC) ? NULL : obj_new(size, NULL, true);
}

void kfree(const void *p)
{
	if (p)
		obj_free(p, NULL, "kfree");
}

/* The kmalloc size classes of SLUB with 64-byte cache lines. */
size_t kmalloc_size_roundup(size_t size)
{
	size_t c;

	if (size <= 8)
		return 8;
	if (size > 64 && size <= 96)
		return 96;
	if (size > 128 && size <= 192)
		return 192;
	for (c = 16; c < size; c <<= 1)
		;
	return c;
}

size_t kshim_ksize(const void *p)
{
	struct obj *o = *obj_find(p);

	return o && !o->cache ? o->size : 0;
}

unsigned long kshim_kmalloc_live(void)
{
	return kmalloc_live;
}

/* ---- slab caches --------------------------------------------------------- */

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
				     unsigned int align, slab_flags_t flags,
				     void (*ctor)(void *))
{
	struct kmem_cache *c;

	if (should_fail(KSHIM_CACHE_CREATE))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		kshim_bug(__FILE__, __LINE__, "the host is out of memory");
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->size = size;
	c->next = caches;
	caches = c;
	return c;
}

void kmem_cache_destroy(struct kmem_cache *c)
{
	struct kmem_cache **cp = &caches;

	if (!c)
		return;
	if (c->live)
		kshim_bug(__FILE__, __LINE__, "kmem_cache_destroy with objects left");
	while (*cp != c)
		cp = &(*cp)->next;
	*cp = c->next;
	free(c);
}

void *kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp)
{
	return should_fail(KSHIM_CACHE) ? NULL : obj_new(c->size, c, false);
}

void *kmem_cache_zalloc(struct kmem_cache *c, gfp_t gfp)
{
	return should_fail(KSHIM_CACHE) ? NULL : obj_new(c->size, c, true);
}

void kmem_cache_free(struct kmem_cache *c, void *p)
{
	obj_free(p, c, "kmem_cache_free");
}

unsigned int kmem_cache_size(struct kmem_cache *c)
{
	return c->size;
}

static struct kmem_cache *cache_named(const char *name)
{
	struct kmem_cache *c;

	for (c = caches; c && strcmp(c->name, name); c = c->next)
		;
	return c;
}

unsigned int kshim_cache_object_size(const char *name)
{
	struct kmem_cache *c = cache_named(name);

	return c ? c->size : 0;
}

unsigned long kshim_cache_live(const char *name)
{
	struct kmem_cache *c = cache_named(name);

	return c ? c->live : ~0UL;
}

/* ---- RCU ----------------------------------------------------------------- */

int kshim_rcu_depth;
static struct rcu_head *rcu_head_q, **rcu_tail = &rcu_head_q;
static unsigned long rcu_pending;

void call_rcu(struct rcu_head *head, rcu_callback_t func)
{
	head->func = func;
	head->next = NULL;
	*rcu_tail = head;
	rcu_tail = &head->next;
	rcu_pending++;
}

void kshim_rcu_barrier(void)
{
	struct rcu_head *head;

	if (kshim_rcu_depth)
		kshim_bug(__FILE__, __LINE__, "grace period inside rcu_read_lock()");
	while ((head = rcu_head_q)) {
		rcu_head_q = head->next;
		if (!rcu_head_q)
			rcu_tail = &rcu_head_q;
		rcu_pending--;
		head->func(head);
	}
}

void synchronize_rcu(void)
{
	kshim_rcu_barrier();
}

void rcu_barrier(void)
{
	kshim_rcu_barrier();
}

unsigned long kshim_rcu_pending(void)
{
	return rcu_pending;
}

/* ---- scheduler and clock ------------------------------------------------- */

void (*kshim_resched_hook)(void);
unsigned long kshim_resched_calls;

void cond_resched(void)
{
	if (kshim_rcu_depth)
		kshim_bug(__FILE__, __LINE__, "cond_resched() inside rcu_read_lock()");
	kshim_resched_calls++;
	if (kshim_resched_hook)
		kshim_resched_hook();
}

u64 ktime_get_real_ns(void)
{
	static u64 now = 1700000000ULL * 1000000000ULL;

	return now += 1000;
}

/* ---- netdevice notifiers ------------------------------------------------- */

struct notifier_block *kshim_netdev_nb;
struct net_device *kshim_netdevs;
unsigned int kshim_nnetdevs;

int register_netdevice_notifier(struct notifier_block *nb)
{
	if (kshim_netdev_nb)
		kshim_bug(__FILE__, __LINE__, "a second netdevice notifier");
	kshim_netdev_nb = nb;
	return 0;
}

int unregister_netdevice_notifier(struct notifier_block *nb)
{
	unsigned int i;

	if (nb != kshim_netdev_nb)
		kshim_bug(__FILE__, __LINE__, "unregistering a notifier that is not registered");
	/* as the kernel does: every device is unregistered once more for it */
	for (i = 0; i < kshim_nnetdevs; i++) {
		struct netdev_notifier_info info = { .dev = &kshim_netdevs[i] };

		nb->notifier_call(nb, NETDEV_UNREGISTER, &info);
	}
	kshim_netdev_nb = NULL;
	return 0;
}

/* ---- xarray -------------------------------------------------------------- */

void xa_init(struct xarray *xa)
{
	memset(xa, 0, sizeof(*xa));
}

/* the position of the first index >= index */
static unsigned int xa_pos(const struct xarray *xa, unsigned long index)
{
	unsigned int lo = 0, hi = xa->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (xa->index[mid] < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void *xa_load(struct xarray *xa, unsigned long index)
{
	unsigned int i = xa_pos(xa, index);

	return i < xa->n && xa->index[i] == index ? xa->entry[i] : NULL;
}

void *xa_erase(struct xarray *xa, unsigned long index)
{
	unsigned int i = xa_pos(xa, index);
	void *old;

	if (i == xa->n || xa->index[i] != index)
		return NULL;
	old = xa->entry[i];
	memmove(xa->index + i, xa->index + i + 1, (xa->n - i - 1) * sizeof(*xa->index));
	memmove(xa->entry + i, xa->entry + i + 1, (xa->n - i - 1) * sizeof(*xa->entry));
	xa->n--;
	return old;
}

void *xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	unsigned int i = xa_pos(xa, index);
	void *old;

	if (!entry)
		return xa_erase(xa, index);
	if ((unsigned long)entry & 3)
		if (!xa_is_value(entry))
			kshim_bug(__FILE__, __LINE__, "xa_store of an internal entry");
	if (i < xa->n && xa->index[i] == index) {
		old = xa->entry[i];
		xa->entry[i] = entry;
		return old;
	}
	if (should_fail(KSHIM_XA))
		return XA_ERROR(-ENOMEM);
	if (xa->n == xa->cap) {
		xa->cap = xa->cap ? 2 * xa->cap : 8;
		xa->index = realloc(xa->index, xa->cap * sizeof(*xa->index));
		xa->entry = realloc(xa->entry, xa->cap * sizeof(*xa->entry));
		if (!xa->index || !xa->entry)
			kshim_bug(__FILE__, __LINE__, "the host is out of memory");
	}
	memmove(xa->index + i + 1, xa->index + i, (xa->n - i) * sizeof(*xa->index));
	memmove(xa->entry + i + 1, xa->entry + i, (xa->n - i) * sizeof(*xa->entry));
	xa->index[i] = index;
	xa->entry[i] = entry;
	xa->n++;
	return NULL;
}

bool xa_empty(const struct xarray *xa)
{
	return !xa->n;
}

void xa_destroy(struct xarray *xa)
{
	free(xa->index);
	free(xa->entry);
	xa_init(xa);
}

void *xa_find(struct xarray *xa, unsigned long *index, unsigned long max,
	      int filter)
{
	unsigned int i = xa_pos(xa, *index);

	if (i == xa->n || xa->index[i] > max)
		return NULL;
	*index = xa->index[i];
	return xa->entry[i];
}

void *xa_find_after(struct xarray *xa, unsigned long *index,
		    unsigned long max, int filter)
{
	unsigned long next;
	void *entry;

	if (*index == ULONG_MAX)
		return NULL;
	next = *index + 1;
	entry = xa_find(xa, &next, max, filter);
	if (entry)
		*index = next;
	return entry;
}
