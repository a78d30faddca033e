/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The longest-prefix-match trie: one per (table, family), its nodes and
 * the routes a node holds (one per metric).  trie.c says how it is shaped
 * and walked; table.c owns the tables the tries hang from and the routes.
 *
 * Writers hold rtmgr_net.lock.  Readers run under rcu_read_lock() or with
 * the lock of rn, the namespace the trie belongs to, held.
 */
#ifndef _RTMGR_TRIE_H
#define _RTMGR_TRIE_H

#include <linux/types.h>
#include <linux/rcupdate.h>

struct rtmgr_net;
struct rtmgr_table;
struct rtmgr_route;
struct rtmgr_key;

/*
 * The routes of one prefix when it has more than one metric, lowest metric
 * first.  A prefix with one route (nearly every prefix) points at the route
 * itself and pays nothing for this.  Writers replace an element in place,
 * remove one by shifting the rest down (readers may then miss one, which
 * the generation tells a dump) and insert by publishing a new set.
 */
struct rtmgr_mset {
	struct rcu_head			rcu;
	unsigned int			count;	/* at least 2 */
	unsigned int			size;	/* count when it was made: its room */
	struct rtmgr_route __rcu	*r[];
};

/*
 * A node of the binary, path-compressed trie.  A node with routes is a
 * prefix that exists; a node without one is an intermediate branch point and
 * always has two children.  key holds the prefix with host bits zero.
 * routes is NULL, a struct rtmgr_route, or a struct rtmgr_mset with the
 * low bit of the pointer set (RTMGR_MSET); read it through
 * rtmgr_node_route() and rtmgr_node_route_at().
 */
struct rtmgr_node {
	struct rtmgr_node __rcu		*child[2];
	void __rcu			*routes;
	struct rcu_head			rcu;
	u8				plen;
	u8				key[];
};

#define RTMGR_MSET	1UL

int rtmgr_trie_init(void);
void rtmgr_trie_exit(void);

/* Writers: rtmgr_net.lock is held. */
int rtmgr_trie_insert(struct rtmgr_net *rn, struct rtmgr_node __rcu **root,
		      const struct rtmgr_key *k, struct rtmgr_route *r,
		      struct rtmgr_route **old);
struct rtmgr_route *rtmgr_trie_remove(struct rtmgr_net *rn,
				      struct rtmgr_node __rcu **root,
				      const struct rtmgr_key *k);
void rtmgr_trie_free(struct rtmgr_net *rn, int fam,
		     struct rtmgr_node __rcu **root,
		     void (*drop)(struct rtmgr_net *rn, struct rtmgr_route *r));

/* Readers: under rcu_read_lock(), or rtmgr_net.lock is held. */
const struct rtmgr_node *rtmgr_trie_root(const struct rtmgr_net *rn,
					 const struct rtmgr_table *t, int fam);
const struct rtmgr_node *rtmgr_trie_child(const struct rtmgr_net *rn,
					  const struct rtmgr_node *n,
					  unsigned int bit);
const struct rtmgr_route *rtmgr_trie_find(const struct rtmgr_net *rn,
					  const struct rtmgr_node *root,
					  const struct rtmgr_key *k);
const struct rtmgr_node *rtmgr_trie_lookup(const struct rtmgr_net *rn,
					   const struct rtmgr_node *root,
					   int fam, const u8 *addr,
					   const struct rtmgr_route **rp);
const struct rtmgr_node *rtmgr_trie_exact(const struct rtmgr_net *rn,
					  const struct rtmgr_node *root,
					  int fam, const u8 *addr, u8 plen);
const struct rtmgr_node *rtmgr_trie_first(const struct rtmgr_net *rn,
					  const struct rtmgr_node *n);
const struct rtmgr_node *rtmgr_trie_next(const struct rtmgr_net *rn,
					 const struct rtmgr_node *root,
					 int fam, const u8 *addr, u8 plen);
const struct rtmgr_route *rtmgr_node_route(const struct rtmgr_net *rn,
					   const struct rtmgr_node *n);
const struct rtmgr_route *rtmgr_node_route_at(const struct rtmgr_net *rn,
					      const struct rtmgr_node *n,
					      unsigned int i);
bool rtmgr_prefix_contains(const u8 *p, u8 plen, const u8 *addr);

#endif /* _RTMGR_TRIE_H */
