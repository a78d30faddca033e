/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rtmgr internals shared between the module's files.
 *
 * Locking: each network namespace has one mutex (rtmgr_net.lock) that every
 * writer holds.  Readers (get, lookup, dump, stats) run under RCU and never
 * take it.  Tries, tables and routes are freed through call_rcu, so a
 * reader may finish walking anything it found under rcu_read_lock().
 */
#ifndef _RTMGR_H
#define _RTMGR_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/xarray.h>
#include <linux/rcupdate.h>
#include <linux/in6.h>
#include <net/netlink.h>
#include <uapi/linux/rtmgr.h>

#include "compat.h"

#define RTMGR_ADDR_MAX	16	/* bytes of the longest address (IPv6) */

/* Families are indexed 0 (IPv4) and 1 (IPv6) inside the module. */
enum { RTMGR_FAM4, RTMGR_FAM6, RTMGR_NFAM };

static inline int rtmgr_fam_index(u8 family)
{
	return family == AF_INET6 ? RTMGR_FAM6 : RTMGR_FAM4;
}

static inline u8 rtmgr_fam_af(int fam)
{
	return fam == RTMGR_FAM6 ? AF_INET6 : AF_INET;
}

static inline unsigned int rtmgr_addr_len(int fam)
{
	return fam == RTMGR_FAM6 ? 16 : 4;
}

struct rtmgr_nh {
	u8	gw[RTMGR_ADDR_MAX];	/* first 4 bytes for IPv4 */
	u32	oif;			/* 0: none */
	u16	weight;			/* 1 .. RTMGR_WEIGHT_MAX */
	u8	has_gw;
};

/*
 * The value of a route.  Immutable once published: a change builds a new
 * one and swaps the pointer in the trie node.
 */
struct rtmgr_route {
	struct rcu_head	rcu;
	u64		created;	/* ns since the epoch */
	u64		changed;
	u32		metric;
	u8		type;		/* enum rtmgr_route_type */
	u8		proto;
	u8		nh_count;
	struct rtmgr_nh	nh[];		/* one hop: 64 bytes in all */
};

struct rtmgr_node;	/* a trie node: trie.h */

/* One routing table: a trie per family. */
struct rtmgr_table {
	u32				id;
	u32				count[RTMGR_NFAM];
	struct rtmgr_node __rcu		*root[RTMGR_NFAM];
	struct rcu_head			rcu;
};

/* Per network namespace state. */
struct rtmgr_net {
	struct net	*net;
	struct sock	*nlsk;
	struct mutex	lock;		/* serialises writers */
	struct xarray	tables;		/* table id -> struct rtmgr_table */
	struct xarray	devices;	/* ifindex -> xa_mk_value(next hops via it) */
	u32		routes[RTMGR_NFAM];
	u64		memory;		/* bytes of nodes, routes, tables */
	u64		generation;	/* bumped by every change; never 0 */
	atomic64_t	requests;
	atomic64_t	errors;		/* requests refused */
	atomic64_t	misses;		/* reads answered "no such route" */
};

/* rn->memory: written under the lock, read without it (GETSTATS). */
static inline void rtmgr_mem_add(struct rtmgr_net *rn, long delta)
{
	WRITE_ONCE(rn->memory, rn->memory + delta);
}

/*
 * Nodes a walk visits between two chances to reschedule (and, for readers,
 * to leave the RCU read-side section): long walks never hog a CPU.
 */
#define RTMGR_WALK_BATCH	1024

/*
 * A route key as parsed from a request: (table, family, prefix, metric).
 * any_metric (get and delete without RTMGR_A_METRIC) names the prefix's
 * lowest-metric route.
 */
struct rtmgr_key {
	u32	table;
	u32	metric;
	int	fam;
	u8	plen;
	u8	any_metric;
	u8	addr[RTMGR_ADDR_MAX];
};

/* Dump, flush and notification filter; zero fields match anything. */
struct rtmgr_filter {
	u32	table;
	u32	oif;
	u32	metric;
	u8	family;		/* AF_UNSPEC: both */
	u8	type;
	u8	proto;
	u8	match;		/* enum rtmgr_match, with has_dst */
	u8	has_dst:1, has_gw:1, has_oif:1, has_metric:1;
	u8	dst_len;
	u8	dst[RTMGR_ADDR_MAX];
	u8	gw[RTMGR_ADDR_MAX];
};

/* A parsed dump request, handed from netlink.c to dump.c's start callbacks. */
struct rtmgr_dump_arg {
	struct rtmgr_filter	filter;
	const u8		*addrs;		/* bulk lookup: in the request skb */
	unsigned int		naddrs;
	struct netlink_ext_ack	*extack;	/* the request's, for ->start */
};

/*
 * A notification, allocated before the change it reports so that running
 * out of memory can still refuse an NLM_F_ECHO request with nothing changed,
 * and otherwise tells the listeners they lost one (ENOBUFS).
 */
struct rtmgr_event {
	struct sock		*sk;		/* the kernel socket to send on */
	struct sk_buff		*skb;		/* NULL: not wanted, or lost */
	const struct nlmsghdr	*nlh;		/* the request; NULL from the kernel */
	u32			portid;
	bool			lost;		/* wanted, but no memory for it */
};

/* main.c */
bool rtmgr_is_ready(void);

/* fault.c: test-only knobs, root-only module parameters */
bool rtmgr_fail_notify(void);
bool rtmgr_fail_alloc(void);
/* An allocation the fail_alloc knob can fail: (rtmgr_fail_alloc() ? NULL : expr). */
#define rtmgr_alloc(expr) (rtmgr_fail_alloc() ? NULL : (expr))
void rtmgr_load_delay(void);
void rtmgr_note_purge(unsigned int visited);

/* netns.c */
extern unsigned int rtmgr_max_routes;
struct rtmgr_net *rtmgr_net(const struct net *net);
int rtmgr_netns_init(void);
void rtmgr_netns_exit(void);

/* netlink.c */
void rtmgr_rcv(struct sk_buff *skb);

/* trie.c: declared in trie.h */

/* table.c */
int rtmgr_table_init(void);
void rtmgr_table_exit(void);
struct rtmgr_table *rtmgr_table_get(struct rtmgr_net *rn, u32 id);
struct rtmgr_route *rtmgr_route_alloc(unsigned int nh_count);
void rtmgr_route_free(struct rtmgr_route *r);
void rtmgr_route_retire(struct rtmgr_net *rn, struct rtmgr_route *r);
int rtmgr_route_set(struct rtmgr_net *rn, const struct rtmgr_key *k,
		    struct rtmgr_route *r, struct rtmgr_route **old);
struct rtmgr_route *rtmgr_route_remove(struct rtmgr_net *rn,
				       const struct rtmgr_key *k);
struct rtmgr_route *rtmgr_route_find(struct rtmgr_net *rn,
				     const struct rtmgr_key *k);
bool rtmgr_device_used(struct rtmgr_net *rn, u32 ifindex);
void rtmgr_tables_free_all(struct rtmgr_net *rn);
void rtmgr_bump_generation(struct rtmgr_net *rn);

/* dump.c */
bool rtmgr_filter_match(const struct rtmgr_filter *f, u32 table, int fam,
			const u8 *key, u8 plen, const struct rtmgr_route *r);
const struct rtmgr_route *rtmgr_node_match(const struct rtmgr_net *rn,
					   const struct rtmgr_node *n,
					   const struct rtmgr_filter *f,
					   u32 table, int fam);
unsigned int rtmgr_flush(struct rtmgr_net *rn, const struct rtmgr_filter *f);
int rtmgr_dump_routes_start(struct netlink_callback *cb);
int rtmgr_dump_routes(struct sk_buff *skb, struct netlink_callback *cb);
int rtmgr_dump_lookup_start(struct netlink_callback *cb);
int rtmgr_dump_lookup(struct sk_buff *skb, struct netlink_callback *cb);
int rtmgr_dump_done(struct netlink_callback *cb);

/* encode.c */
size_t rtmgr_route_msg_size(const struct rtmgr_route *r);
int rtmgr_fill_route(struct sk_buff *skb, int msgtype, u32 portid, u32 seq,
		     u16 flags, u32 table, int fam, const u8 *key, u8 plen,
		     const struct rtmgr_route *r, const u8 *lookup_addr);
size_t rtmgr_flush_msg_size(void);
int rtmgr_fill_flush(struct sk_buff *skb, u32 portid, u32 seq,
		     const struct rtmgr_filter *f, unsigned int count);

/* notify.c */
int rtmgr_event_prepare(struct rtmgr_event *ev, struct sock *sk, size_t size,
			u32 portid, const struct nlmsghdr *nlh,
			struct netlink_ext_ack *extack);
void rtmgr_event_route(struct rtmgr_event *ev, int msgtype, u16 flags,
		       const struct rtmgr_key *k, const struct rtmgr_route *r);
void rtmgr_event_flush(struct rtmgr_event *ev, const struct rtmgr_filter *f,
		       unsigned int count);
void rtmgr_event_cancel(struct rtmgr_event *ev);

/* device.c */
int rtmgr_device_init(void);
void rtmgr_device_exit(void);

#endif /* _RTMGR_H */
