/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * rtmgr: a routing-table manager in the kernel, spoken to over netlink.
 *
 * This header is the one definition of the wire protocol.  The kernel module
 * (kernel/), the C helper library (bindings/), the cffi cdef and the Python
 * constants are all built from it; no number below is written down anywhere
 * else.
 *
 * Transport
 * ---------
 * A classic (numbered) netlink family: socket(AF_NETLINK, SOCK_RAW,
 * NETLINK_RTMGR).  Every request is a struct nlmsghdr, then a struct
 * rtmgr_hdr (padded to NLMSG_ALIGNTO), then attributes (struct nlattr, all
 * addresses in network byte order, binary, never text).  Each network
 * namespace has its own tables and its own kernel socket.
 *
 * Every request must carry NLM_F_REQUEST.  With NLM_F_ACK the kernel answers
 * an NLMSG_ERROR with error 0 on success; a failure is always answered with an
 * NLMSG_ERROR carrying the negative errno and, when the socket has
 * NETLINK_EXT_ACK set, NLMSGERR_ATTR_MSG (text) and, where one attribute is to
 * blame, NLMSGERR_ATTR_OFFS (its offset in the request).  The requests of
 * one sendmsg() are processed and answered in order, so a batch may leave
 * NLM_F_ACK off all but its last request: its answer then comes after every
 * error of the batch.  Dumps are multipart
 * (NLM_F_MULTI) and end with NLMSG_DONE; a dump that saw the table change
 * under it carries NLM_F_DUMP_INTR and should be retried.
 *
 * Flags a request may carry beyond NLM_F_REQUEST are listed per message;
 * any other flag is refused with EINVAL.  Unknown attribute types, attributes
 * a message does not take and unknown message types are refused too
 * (EINVAL, EOPNOTSUPP).
 *
 * The route key is (table, family, destination prefix, metric), as in the
 * kernel's FIB: one prefix may hold a route per metric (a backup behind a
 * preferred route), a lookup takes the lowest metric, and dumps list every
 * metric of a prefix in ascending order.  A change (NEWROUTE) names the
 * metric with RTMGR_A_METRIC, 0 when absent.  A get or a delete without
 * RTMGR_A_METRIC names the prefix's lowest-metric route, so a client that
 * knows nothing of metrics reads and deletes as before, when each prefix
 * has one route.  A prefix never has host bits set: such a request is
 * refused with EINVAL.
 *
 * Messages (nlmsg_type)
 * ---------------------
 * RTMGR_MSG_NEWROUTE  request: create or change a route.  Privileged.
 *     hdr: family (AF_INET | AF_INET6), dst_len, table (0 = RTMGR_TABLE_MAIN),
 *          type (RTMGR_TYPE_UNSPEC = unicast), proto.
 *     attrs: RTMGR_A_DST (required), RTMGR_A_GATEWAY, RTMGR_A_OIF,
 *            RTMGR_A_METRIC, RTMGR_A_MULTIPATH.  A unicast route needs a
 *            gateway, a device or a multipath list (not both forms);
 *            blackhole, unreachable and prohibit routes take none of them.
 *     flags: ACK, ECHO, and exactly one of these forms, as `ip route` uses:
 *        (the key's metric is RTMGR_A_METRIC, or 0)
 *        CREATE|EXCL     add: EEXIST if the key is present
 *        CREATE          the same as CREATE|EXCL
 *        CREATE|REPLACE  replace: create, or overwrite the value
 *        REPLACE         change: overwrite the value, ENOENT if absent
 *        CREATE|APPEND   append: add the next hops to a unicast route (which
 *                        becomes multipath), or create the route; EEXIST if
 *                        a next hop is already there
 *        APPEND          append to an existing route only, ENOENT if absent
 *     Errors: EEXIST, ENOENT, EINVAL (malformed), ENODEV (no such device in
 *     the caller's namespace), ENOSPC (the namespace holds max_routes
 *     routes), E2BIG (more than RTMGR_MAX_NEXTHOPS next hops), EPERM,
 *     ENOMEM (with ECHO: no memory for the echo; nothing changed).
 *     Answer: ACK; with ECHO also the resulting route as RTMGR_MSG_NEWROUTE.
 *     Also the answer to GETROUTE, an element of a dump and a notification.
 *
 * RTMGR_MSG_DELROUTE  request: delete a route.  Privileged.
 *     hdr: family, dst_len, table (0 = main); type and proto, when not 0,
 *          must match the route.
 *     attrs: RTMGR_A_DST (required); RTMGR_A_GATEWAY, RTMGR_A_OIF,
 *            RTMGR_A_METRIC (the key's metric; absent: the prefix's
 *            lowest); RTMGR_A_GATEWAY and RTMGR_A_OIF, when given, must
 *            match (a gateway or device matches when any next hop has it).
 *     flags: ACK, ECHO.
 *     Errors: ESRCH when no route has that key or the route does not match.
 *     Also the notification of a removed route (the route as it was).
 *
 * RTMGR_MSG_GETROUTE  request: read routes.  Unprivileged.
 *     Without NLM_F_DUMP: the route with exactly this key
 *        hdr: family, dst_len, table (0 = main); attrs: RTMGR_A_DST,
 *        RTMGR_A_METRIC (absent: the prefix's lowest-metric route).
 *        Answer: one RTMGR_MSG_NEWROUTE, or ENOENT.
 *     With NLM_F_DUMP: every route passing the filter, as NLM_F_MULTI
 *        RTMGR_MSG_NEWROUTE messages, sorted by (table, family, prefix
 *        address, prefix length, metric), then NLMSG_DONE.  Filter:
 *        hdr.family (AF_UNSPEC: both), hdr.table (0: all tables),
 *        hdr.type, hdr.proto (0: any), RTMGR_A_OIF (not 0) and
 *        RTMGR_A_GATEWAY (a route passes when one of its next hops has
 *        both), RTMGR_A_DST with hdr.dst_len and RTMGR_A_MATCH (the
 *        relation to that prefix; RTMGR_MATCH_EXACT when absent), and
 *        RTMGR_A_METRIC.  A family is needed whenever RTMGR_A_DST or
 *        RTMGR_A_GATEWAY is given.
 *
 * RTMGR_MSG_LOOKUP    request: longest-prefix match.  Unprivileged.
 *     hdr: family (required), table (0 = main).
 *     Single: attrs RTMGR_A_ADDR; answer one RTMGR_MSG_LOOKUP carrying
 *        RTMGR_A_ADDR and the matching route, the lowest metric of the
 *        longest matching prefix (hdr and route attributes as
 *        in NEWROUTE), or ENETUNREACH.
 *     Bulk: NLM_F_DUMP and RTMGR_A_ADDRS (addresses packed back to back,
 *        4 or 16 bytes each, at most RTMGR_MAX_LOOKUP_ADDRS); answer one
 *        NLM_F_MULTI RTMGR_MSG_LOOKUP per address, in request order, then
 *        NLMSG_DONE.  An address with no match is answered with RTMGR_A_ADDR
 *        alone (no RTMGR_A_DST) and hdr.type RTMGR_TYPE_UNSPEC.
 *
 * RTMGR_MSG_FLUSH     request: delete every route passing a filter (the
 *     dump filter above, hdr.family AF_UNSPEC and hdr.table 0 meaning all).
 *     Privileged.  flags: ACK.
 *     Answer: one RTMGR_MSG_FLUSH carrying RTMGR_A_COUNT (routes deleted),
 *     then the ACK if asked.  Notification: one RTMGR_MSG_FLUSH carrying the
 *     filter and RTMGR_A_COUNT, when at least one route went.
 *
 * RTMGR_MSG_GETSTATS  request: counters of the caller's namespace.
 *     Unprivileged.  hdr all zero; no attributes.  flags: ACK, DUMP.
 *     Answer: one RTMGR_MSG_GETSTATS whose RTMGR_A_STATS nest holds the
 *        totals (ROUTES4, ROUTES6, MEMORY, GENERATION, REQUESTS, ERRORS,
 *        MISSES, MAX_ROUTES, TABLES), whatever the number of tables.
 *     With NLM_F_DUMP: that message first, then one NLM_F_MULTI
 *        RTMGR_MSG_GETSTATS per (table, family) holding routes, in table
 *        order, each with an RTMGR_A_STATS nest holding one
 *        RTMGR_A_STATS_TABLE and nothing else; then NLMSG_DONE.  A change
 *        meanwhile sets NLM_F_DUMP_INTR as in route dumps.
 *
 * Notifications
 * -------------
 * Multicast group RTMGR_GRP_ROUTE (bind nl_groups = 1 << (RTMGR_GRP_ROUTE-1)
 * or NETLINK_ADD_MEMBERSHIP); unprivileged sockets may join.  Every
 * successful change is sent once: NEWROUTE (added or changed route, as it is
 * now), DELROUTE (removed route, as it was), FLUSH (filter and count).  The
 * nlmsg_pid and nlmsg_seq of a notification are those of the request that
 * caused it (0 and 0 when the kernel caused it, e.g. a device went away).
 * Failed requests send nothing.  A notification the kernel had no memory
 * for is reported to every listener as ENOBUFS from recv() (unless it set
 * NETLINK_NO_ENOBUFS), as for any overrun: dump the table again.
 *
 * While the module is loading, every request is refused with EAGAIN.
 */
#ifndef _UAPI_LINUX_RTMGR_H
#define _UAPI_LINUX_RTMGR_H

#include <linux/types.h>

#define NETLINK_RTMGR		31	/* netlink protocol number */

#define RTMGR_TABLE_MAIN	254	/* the table used when hdr.table is 0 */
#define RTMGR_MAX_NEXTHOPS	32	/* next hops per route */
#define RTMGR_MAX_LOOKUP_ADDRS	4000	/* addresses per bulk lookup (fits one attribute) */
#define RTMGR_WEIGHT_MAX	256	/* next-hop weight: 1 .. 256 */

enum rtmgr_msg_type {
	RTMGR_MSG_BASE = 16,		/* NLMSG_MIN_TYPE */
	RTMGR_MSG_NEWROUTE = 16,
	RTMGR_MSG_DELROUTE,
	RTMGR_MSG_GETROUTE,
	RTMGR_MSG_LOOKUP,
	RTMGR_MSG_FLUSH,
	RTMGR_MSG_GETSTATS,
	__RTMGR_MSG_MAX
};
#define RTMGR_MSG_MAX (__RTMGR_MSG_MAX - 1)

/* The fixed header after struct nlmsghdr in every message (8 bytes). */
struct rtmgr_hdr {
	__u8	family;		/* AF_INET, AF_INET6; AF_UNSPEC in filters */
	__u8	dst_len;	/* prefix length of RTMGR_A_DST */
	__u8	type;		/* enum rtmgr_route_type */
	__u8	proto;		/* origin protocol (RTPROT_* numbers); 0 unset */
	__u32	table;		/* table id; 0: main, or all tables in filters */
};

enum rtmgr_route_type {
	RTMGR_TYPE_UNSPEC,		/* unicast in requests; no match in lookups */
	RTMGR_TYPE_UNICAST,		/* forward via gateway and/or device */
	RTMGR_TYPE_BLACKHOLE,		/* drop silently */
	RTMGR_TYPE_UNREACHABLE,		/* drop, host unreachable */
	RTMGR_TYPE_PROHIBIT,		/* drop, administratively prohibited */
	__RTMGR_TYPE_MAX
};
#define RTMGR_TYPE_MAX (__RTMGR_TYPE_MAX - 1)

/* Value of RTMGR_A_MATCH: how a filter's prefix P relates to a route R. */
enum rtmgr_match {
	RTMGR_MATCH_EXACT,		/* R is P */
	RTMGR_MATCH_ROOT,		/* R is inside P (P itself included) */
	RTMGR_MATCH_MATCH,		/* R contains P (P itself included) */
	__RTMGR_MATCH_MAX
};
#define RTMGR_MATCH_MAX (__RTMGR_MATCH_MAX - 1)

/*
 * Attributes of every message.  Which message takes which is said above;
 * an attribute a message does not take is refused.
 */
enum rtmgr_attr {
	RTMGR_A_UNSPEC,
	RTMGR_A_DST,		/* binary: 4 (IPv4) or 16 (IPv6) bytes, prefix */
	RTMGR_A_GATEWAY,	/* binary: 4 or 16 bytes, same family as dst */
	RTMGR_A_OIF,		/* u32: output interface index */
	RTMGR_A_METRIC,		/* u32: part of the key; lower wins a lookup; default 0 */
	RTMGR_A_MULTIPATH,	/* nested: RTMGR_A_MP_NEXTHOP, ... (up to
				 * RTMGR_MAX_NEXTHOPS); unicast only.  This
				 * attribute and each RTMGR_A_MP_NEXTHOP in it
				 * must carry NLA_F_NESTED in nla_type, or
				 * the request is refused (EINVAL) */
	RTMGR_A_CREATED,	/* u64: when the route was created,
				 * ns since the Unix epoch (replies only) */
	RTMGR_A_CHANGED,	/* u64: when its value last changed (replies) */
	RTMGR_A_MATCH,		/* u8: enum rtmgr_match (dump/flush filter) */
	RTMGR_A_ADDR,		/* binary: 4 or 16 bytes (lookup) */
	RTMGR_A_ADDRS,		/* binary: packed addresses (bulk lookup) */
	RTMGR_A_COUNT,		/* u32: routes removed (flush answer) */
	RTMGR_A_STATS,		/* nested: RTMGR_A_STATS_* (stats answer) */
	RTMGR_A_PAD,		/* padding for u64 attributes */
	__RTMGR_A_MAX
};
#define RTMGR_A_MAX (__RTMGR_A_MAX - 1)

/*
 * Inside RTMGR_A_MULTIPATH: one RTMGR_A_MP_NEXTHOP per next hop, each
 * (like RTMGR_A_MULTIPATH itself) with NLA_F_NESTED set in its type.
 */
enum rtmgr_multipath_attr {
	RTMGR_A_MP_UNSPEC,
	RTMGR_A_MP_NEXTHOP,	/* nested: RTMGR_A_NH_* */
	__RTMGR_A_MP_MAX
};
#define RTMGR_A_MP_MAX (__RTMGR_A_MP_MAX - 1)

enum rtmgr_nexthop_attr {
	RTMGR_A_NH_UNSPEC,
	RTMGR_A_NH_GATEWAY,	/* binary: 4 or 16 bytes */
	RTMGR_A_NH_OIF,		/* u32: interface index */
	RTMGR_A_NH_WEIGHT,	/* u32: 1 .. RTMGR_WEIGHT_MAX, default 1 */
	__RTMGR_A_NH_MAX
};
#define RTMGR_A_NH_MAX (__RTMGR_A_NH_MAX - 1)

/* Inside RTMGR_A_STATS. */
enum rtmgr_stats_attr {
	RTMGR_A_STATS_UNSPEC,
	RTMGR_A_STATS_ROUTES4,		/* u32: IPv4 routes, all tables */
	RTMGR_A_STATS_ROUTES6,		/* u32: IPv6 routes, all tables */
	RTMGR_A_STATS_TABLE,		/* nested: RTMGR_A_TS_*; alone in
					 * each later message of a dump */
	RTMGR_A_STATS_MEMORY,		/* u64: bytes of route memory */
	RTMGR_A_STATS_GENERATION,	/* u64: bumped by every change */
	RTMGR_A_STATS_REQUESTS,		/* u64: requests handled */
	RTMGR_A_STATS_ERRORS,		/* u64: requests refused (misses
					 * of reads are counted apart) */
	RTMGR_A_STATS_MAX_ROUTES,	/* u32: the max_routes limit */
	RTMGR_A_STATS_PAD,
	RTMGR_A_STATS_MISSES,		/* u64: reads (GETROUTE, LOOKUP) that
					 * found no route; not in ERRORS */
	RTMGR_A_STATS_TABLES,		/* u32: (table, family) pairs holding
					 * routes: the TABLE entries of a dump */
	__RTMGR_A_STATS_MAX
};
#define RTMGR_A_STATS_MAX (__RTMGR_A_STATS_MAX - 1)

enum rtmgr_table_stats_attr {
	RTMGR_A_TS_UNSPEC,
	RTMGR_A_TS_TABLE,		/* u32: table id */
	RTMGR_A_TS_FAMILY,		/* u8: AF_INET or AF_INET6 */
	RTMGR_A_TS_ROUTES,		/* u32: routes */
	__RTMGR_A_TS_MAX
};
#define RTMGR_A_TS_MAX (__RTMGR_A_TS_MAX - 1)

/* Multicast groups. */
enum rtmgr_groups {
	RTMGR_GRP_NONE,
	RTMGR_GRP_ROUTE,		/* every change to any route */
	__RTMGR_GRP_MAX
};
#define RTMGR_GRP_MAX (__RTMGR_GRP_MAX - 1)

#endif /* _UAPI_LINUX_RTMGR_H */
