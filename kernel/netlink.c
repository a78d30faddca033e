// SPDX-License-Identifier: GPL-2.0
/*
 * Request dispatch: the message table, the attribute policies and the
 * handlers of every request that is not a dump (dumps are in dump.c).
 *
 *   nlmsghdr | rtmgr_hdr (8 bytes) | attributes ...
 *
 * rtmgr_rcv_msg() checks, in this order and before any handler runs: the
 * message type, the header length, the flags the message accepts, the
 * caller's CAP_NET_ADMIN for changes, and every attribute against the
 * message's policy (strict: unknown or unexpected attributes are refused).
 * Every refusal says why in the extended ACK, naming the attribute to blame
 * where there is one.
 */
#include <linux/netdevice.h>
#include <linux/ktime.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "rtmgr.h"
#include "trie.h"

/* ---- policies ---------------------------------------------------------- */

#define ADDR_POLICY	{ .type = NLA_BINARY, .len = RTMGR_ADDR_MAX }

static const struct nla_policy nh_policy[RTMGR_A_NH_MAX + 1] = {
	[RTMGR_A_NH_GATEWAY]	= ADDR_POLICY,
	[RTMGR_A_NH_OIF]	= { .type = NLA_U32 },
	[RTMGR_A_NH_WEIGHT]	= NLA_POLICY_RANGE(NLA_U32, 1, RTMGR_WEIGHT_MAX),
};

static const struct nla_policy mp_policy[RTMGR_A_MP_MAX + 1] = {
	[RTMGR_A_MP_NEXTHOP]	= NLA_POLICY_NESTED(nh_policy),
};

static const struct nla_policy new_policy[RTMGR_A_MAX + 1] = {
	[RTMGR_A_DST]		= ADDR_POLICY,
	[RTMGR_A_GATEWAY]	= ADDR_POLICY,
	[RTMGR_A_OIF]		= { .type = NLA_U32 },
	[RTMGR_A_METRIC]	= { .type = NLA_U32 },
	[RTMGR_A_MULTIPATH]	= NLA_POLICY_NESTED(mp_policy),
};

static const struct nla_policy del_policy[RTMGR_A_MAX + 1] = {
	[RTMGR_A_DST]		= ADDR_POLICY,
	[RTMGR_A_GATEWAY]	= ADDR_POLICY,
	[RTMGR_A_OIF]		= { .type = NLA_U32 },
	[RTMGR_A_METRIC]	= { .type = NLA_U32 },
};

static const struct nla_policy get_policy[RTMGR_A_MAX + 1] = {
	[RTMGR_A_DST]		= ADDR_POLICY,
	[RTMGR_A_METRIC]	= { .type = NLA_U32 },
};

static const struct nla_policy filter_policy[RTMGR_A_MAX + 1] = {
	[RTMGR_A_DST]		= ADDR_POLICY,
	[RTMGR_A_GATEWAY]	= ADDR_POLICY,
	[RTMGR_A_OIF]		= { .type = NLA_U32 },
	[RTMGR_A_METRIC]	= { .type = NLA_U32 },
	[RTMGR_A_MATCH]		= NLA_POLICY_MAX(NLA_U8, RTMGR_MATCH_MAX),
};

static const struct nla_policy lookup_policy[RTMGR_A_MAX + 1] = {
	[RTMGR_A_ADDR]		= ADDR_POLICY,
};

static const struct nla_policy bulk_lookup_policy[RTMGR_A_MAX + 1] = {
	[RTMGR_A_ADDRS]		= NLA_POLICY_MIN_LEN(4),
};

static const struct nla_policy no_policy[RTMGR_A_MAX + 1] = {};

/* ---- parsing helpers ----------------------------------------------------- */

static int get_addr(const struct nlattr *nla, int fam, u8 *out,
		    struct netlink_ext_ack *extack)
{
	unsigned int len = rtmgr_addr_len(fam);

	if (nla_len(nla) != len) {
		if (fam == RTMGR_FAM6)
			NL_SET_ERR_MSG_ATTR(extack, nla,
					    "address must be 16 bytes for AF_INET6");
		else
			NL_SET_ERR_MSG_ATTR(extack, nla,
					    "address must be 4 bytes for AF_INET");
		return -EINVAL;
	}
	memset(out, 0, RTMGR_ADDR_MAX);
	memcpy(out, nla_data(nla), len);
	return 0;
}

static bool host_bits_set(const u8 *addr, unsigned int plen, int fam)
{
	unsigned int i, bits = rtmgr_addr_len(fam) * 8;

	for (i = plen; i < bits; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

static int check_family(u8 family, bool unspec_ok,
			struct netlink_ext_ack *extack)
{
	if (family == AF_INET || family == AF_INET6 ||
	    (unspec_ok && family == AF_UNSPEC))
		return 0;
	if (unspec_ok)
		NL_SET_ERR_MSG(extack,
			       "family must be AF_INET, AF_INET6 or AF_UNSPEC");
	else
		NL_SET_ERR_MSG(extack, "family must be AF_INET or AF_INET6");
	return -EAFNOSUPPORT;
}

/* A prefix: dst attribute plus dst_len, host bits zero. */
static int parse_prefix(struct nlattr *dst, u8 plen, int fam, u8 *addr,
			struct netlink_ext_ack *extack)
{
	int err = get_addr(dst, fam, addr, extack);

	if (err)
		return err;
	if (plen > rtmgr_addr_len(fam) * 8) {
		NL_SET_ERR_MSG_ATTR(extack, dst, "prefix length out of range");
		return -EINVAL;
	}
	if (host_bits_set(addr, plen, fam)) {
		rtmgr_err_fmt(extack, dst, "prefix has host bits set",
			      "prefix has host bits set for length /%u", plen);
		return -EINVAL;
	}
	return 0;
}

static int parse_key(const struct nlmsghdr *nlh, struct nlattr **tb,
		     struct rtmgr_key *k, struct netlink_ext_ack *extack)
{
	const struct rtmgr_hdr *hdr = nlmsg_data(nlh);
	int err = check_family(hdr->family, false, extack);

	if (err)
		return err;
	if (!tb[RTMGR_A_DST]) {
		NL_SET_ERR_ATTR_MISS(extack, NULL, RTMGR_A_DST);
		NL_SET_ERR_MSG(extack, "destination prefix (RTMGR_A_DST) missing");
		return -EINVAL;
	}
	k->fam = rtmgr_fam_index(hdr->family);
	k->plen = hdr->dst_len;
	k->table = hdr->table ?: RTMGR_TABLE_MAIN;
	/* without a metric: 0 for a change, the lowest for get and delete */
	k->metric = tb[RTMGR_A_METRIC] ? nla_get_u32(tb[RTMGR_A_METRIC]) : 0;
	k->any_metric = !tb[RTMGR_A_METRIC];
	return parse_prefix(tb[RTMGR_A_DST], k->plen, k->fam, k->addr, extack);
}

static bool addr_is_zero(const u8 *a, unsigned int len)
{
	return !memchr_inv(a, 0, len);
}

static int check_gateway(const struct nlattr *nla, int fam, const u8 *gw,
			 u32 oif, struct netlink_ext_ack *extack)
{
	if (addr_is_zero(gw, rtmgr_addr_len(fam))) {
		NL_SET_ERR_MSG_ATTR(extack, nla, "gateway is the unspecified address");
		return -EINVAL;
	}
	if ((fam == RTMGR_FAM4 && (gw[0] & 0xf0) == 0xe0) ||
	    (fam == RTMGR_FAM6 && gw[0] == 0xff)) {
		NL_SET_ERR_MSG_ATTR(extack, nla, "gateway is a multicast address");
		return -EINVAL;
	}
	if (fam == RTMGR_FAM6 && gw[0] == 0xfe && (gw[1] & 0xc0) == 0x80 &&
	    !oif) {
		NL_SET_ERR_MSG_ATTR(extack, nla,
				    "a link-local gateway needs a device");
		return -EINVAL;
	}
	return 0;
}

/* Next hops of a request, in one form whether single or multipath. */
struct nh_spec {
	unsigned int count;
	struct rtmgr_nh nh[RTMGR_MAX_NEXTHOPS];
	const struct nlattr *oif_attr[RTMGR_MAX_NEXTHOPS];
};

static bool nh_equal(const struct rtmgr_nh *a, const struct rtmgr_nh *b)
{
	return a->oif == b->oif && a->has_gw == b->has_gw &&
	       (!a->has_gw || !memcmp(a->gw, b->gw, RTMGR_ADDR_MAX));
}

static int parse_one_nh(struct nlattr *gw, struct nlattr *oif,
			struct nlattr *weight, struct nlattr *where, int fam,
			struct nh_spec *s, struct netlink_ext_ack *extack)
{
	struct rtmgr_nh *nh = &s->nh[s->count];
	unsigned int i;
	int err;

	memset(nh, 0, sizeof(*nh));
	nh->weight = weight ? nla_get_u32(weight) : 1;
	nh->oif = oif ? nla_get_u32(oif) : 0;
	s->oif_attr[s->count] = oif;
	if (oif && !nh->oif) {
		NL_SET_ERR_MSG_ATTR(extack, oif, "device index 0 is not a device");
		return -EINVAL;
	}
	if (gw) {
		err = get_addr(gw, fam, nh->gw, extack);
		if (!err)
			err = check_gateway(gw, fam, nh->gw, nh->oif, extack);
		if (err)
			return err;
		nh->has_gw = 1;
	}
	if (!gw && !oif) {
		NL_SET_ERR_MSG_ATTR(extack, where,
				    "a next hop needs a gateway or a device");
		return -EINVAL;
	}
	for (i = 0; i < s->count; i++) {
		if (nh_equal(&s->nh[i], nh)) {
			NL_SET_ERR_MSG_ATTR(extack, where, "duplicate next hop");
			return -EINVAL;
		}
	}
	s->count++;
	return 0;
}

static int parse_nexthops(struct nlattr **tb, int fam, struct nh_spec *s,
			  struct netlink_ext_ack *extack)
{
	struct nlattr *ntb[RTMGR_A_NH_MAX + 1];
	struct nlattr *mp = tb[RTMGR_A_MULTIPATH], *nha;
	int rem, err;

	s->count = 0;
	if (!mp) {
		if (!tb[RTMGR_A_GATEWAY] && !tb[RTMGR_A_OIF])
			return 0;
		return parse_one_nh(tb[RTMGR_A_GATEWAY], tb[RTMGR_A_OIF], NULL,
				    tb[RTMGR_A_GATEWAY] ?: tb[RTMGR_A_OIF],
				    fam, s, extack);
	}
	if (tb[RTMGR_A_GATEWAY] || tb[RTMGR_A_OIF]) {
		NL_SET_ERR_MSG_ATTR(extack, mp,
				    "give a gateway/device or a multipath list, not both");
		return -EINVAL;
	}
	nla_for_each_nested(nha, mp, rem) {
		if (s->count == RTMGR_MAX_NEXTHOPS) {
			NL_SET_ERR_MSG_ATTR(extack, nha, "too many next hops");
			return -E2BIG;
		}
		/* validated by the policy already; this only splits it */
		err = nla_parse_nested(ntb, RTMGR_A_NH_MAX, nha, nh_policy,
				       extack);
		if (err)
			return err;
		err = parse_one_nh(ntb[RTMGR_A_NH_GATEWAY], ntb[RTMGR_A_NH_OIF],
				   ntb[RTMGR_A_NH_WEIGHT], nha, fam, s, extack);
		if (err)
			return err;
	}
	if (!s->count) {
		NL_SET_ERR_MSG_ATTR(extack, mp, "multipath list is empty");
		return -EINVAL;
	}
	if (s->count == 1)
		s->nh[0].weight = 1;	/* a weight means nothing alone */
	return 0;
}

/* Devices are looked up in the namespace of the socket that asked. */
static int check_devices(struct rtmgr_net *rn, const struct nh_spec *s,
			 struct netlink_ext_ack *extack)
{
	unsigned int i;
	int err = 0;

	rcu_read_lock();
	for (i = 0; i < s->count && !err; i++) {
		if (s->nh[i].oif &&
		    !dev_get_by_index_rcu(rn->net, s->nh[i].oif)) {
			rtmgr_err_fmt(extack, s->oif_attr[i],
				      "no such device in this network namespace",
				      "no device with index %u in this network namespace",
				      s->nh[i].oif);
			err = -ENODEV;
		}
	}
	rcu_read_unlock();
	return err;
}

static bool over_limit(struct rtmgr_net *rn, struct netlink_ext_ack *extack)
{
	unsigned int max = READ_ONCE(rtmgr_max_routes);

	if (!max || rn->routes[RTMGR_FAM4] + rn->routes[RTMGR_FAM6] < max)
		return false;
	rtmgr_err_fmt(extack, NULL,
		      "route limit of this namespace reached (max_routes)",
		      "route limit of this namespace reached (max_routes=%u)",
		      max);
	return true;
}

/* ---- NEWROUTE ------------------------------------------------------------ */

enum new_mode { NEW_ADD, NEW_REPLACE, NEW_CHANGE, NEW_APPEND };

static int new_mode(u16 flags, enum new_mode *mode,
		    struct netlink_ext_ack *extack)
{
	bool create = flags & NLM_F_CREATE, excl = flags & NLM_F_EXCL;
	bool replace = flags & NLM_F_REPLACE, append = flags & NLM_F_APPEND;

	if (replace + append + excl > 1) {
		NL_SET_ERR_MSG(extack,
			       "NLM_F_EXCL, NLM_F_REPLACE and NLM_F_APPEND exclude each other");
		return -EINVAL;
	}
	if (append)
		*mode = NEW_APPEND;
	else if (replace)
		*mode = create ? NEW_REPLACE : NEW_CHANGE;
	else if (create)
		*mode = NEW_ADD;
	else {
		NL_SET_ERR_MSG(extack,
			       "NEWROUTE needs NLM_F_CREATE, NLM_F_REPLACE or NLM_F_APPEND");
		return -EINVAL;
	}
	return 0;
}

/* A NEWROUTE request, parsed and checked before the lock is taken. */
struct new_req {
	struct rtmgr_key	k;
	enum new_mode		mode;
	u8			type;
	struct nh_spec		*s;	/* allocated: too big for the stack */
};

/* A route's type says whether it takes next hops; an append adds some. */
static int check_type_hops(const struct new_req *req,
			   struct netlink_ext_ack *extack)
{
	if (req->type == RTMGR_TYPE_UNICAST && !req->s->count) {
		NL_SET_ERR_MSG(extack,
			       "a unicast route needs a gateway, a device or next hops");
		return -EINVAL;
	}
	if (req->type != RTMGR_TYPE_UNICAST && req->s->count) {
		NL_SET_ERR_MSG(extack,
			       "blackhole, unreachable and prohibit routes take no gateway or device");
		return -EINVAL;
	}
	if (req->mode == NEW_APPEND && req->type != RTMGR_TYPE_UNICAST) {
		NL_SET_ERR_MSG(extack, "only unicast routes take more next hops");
		return -EINVAL;
	}
	return 0;
}

/*
 * All that the request alone can tell: flags, key, type and next hops.  On
 * success req->s is the caller's to free.
 */
static int parse_new_req(const struct nlmsghdr *nlh, struct nlattr **tb,
			 struct new_req *req, struct netlink_ext_ack *extack)
{
	const struct rtmgr_hdr *hdr = nlmsg_data(nlh);
	int err;

	err = new_mode(nlh->nlmsg_flags, &req->mode, extack);
	if (!err)
		err = parse_key(nlh, tb, &req->k, extack);
	if (err)
		return err;
	req->k.any_metric = 0;	/* a change names its metric, 0 when not given */
	req->type = hdr->type ?: RTMGR_TYPE_UNICAST;
	if (req->type > RTMGR_TYPE_MAX) {
		NL_SET_ERR_MSG(extack, "unknown route type");
		return -EINVAL;
	}
	req->s = rtmgr_alloc(kmalloc(sizeof(*req->s), GFP_KERNEL));
	if (!req->s)
		return -ENOMEM;
	err = parse_nexthops(tb, req->k.fam, req->s, extack);
	if (!err)
		err = check_type_hops(req, extack);
	if (err)
		kfree(req->s);
	return err;
}

/*
 * With the lock held, so that nothing changes between these checks and the
 * change (a device that goes after check_devices() takes the new route
 * with it: the device notifier waits for the lock).  *old: the route of
 * the key now, or NULL.
 */
static int check_existing(struct rtmgr_net *rn, const struct nlmsghdr *nlh,
			  const struct new_req *req, struct rtmgr_route **old,
			  struct netlink_ext_ack *extack)
{
	int err = check_devices(rn, req->s, extack);

	if (err)
		return err;
	*old = rtmgr_route_find(rn, &req->k);
	if (*old && req->mode == NEW_ADD) {
		NL_SET_ERR_MSG(extack, "route exists");
		return -EEXIST;
	}
	if (!*old && (req->mode == NEW_CHANGE ||
		      (req->mode == NEW_APPEND && !(nlh->nlmsg_flags & NLM_F_CREATE)))) {
		NL_SET_ERR_MSG(extack, "no route with this prefix and metric in this table");
		return -ENOENT;
	}
	if (!*old && over_limit(rn, extack))
		return -ENOSPC;
	return 0;
}

/* Next hops appended to old must be new to it, and fit. */
static int check_append(const struct rtmgr_route *old, const struct nh_spec *s,
			struct netlink_ext_ack *extack)
{
	unsigned int i, j;

	if (old->type != RTMGR_TYPE_UNICAST) {
		NL_SET_ERR_MSG(extack,
			       "the route is not unicast: it takes no next hops");
		return -EINVAL;
	}
	for (i = 0; i < s->count; i++) {
		for (j = 0; j < old->nh_count; j++) {
			if (nh_equal(&old->nh[j], &s->nh[i])) {
				NL_SET_ERR_MSG(extack,
					       "next hop already present");
				return -EEXIST;
			}
		}
	}
	if (old->nh_count + s->count > RTMGR_MAX_NEXTHOPS) {
		NL_SET_ERR_MSG(extack, "too many next hops");
		return -E2BIG;
	}
	return 0;
}

/*
 * The route the request makes, not yet published: old's next hops and the
 * new ones for an append to old, else what the request says; a replaced
 * route's creation time stays.  *nflags: the notification's flags.
 */
static struct rtmgr_route *build_route(const struct rtmgr_hdr *hdr,
				       const struct new_req *req,
				       const struct rtmgr_route *old,
				       u16 *nflags)
{
	bool append = old && req->mode == NEW_APPEND;
	const struct nh_spec *s = req->s;
	struct rtmgr_route *r;
	u64 now;

	r = rtmgr_route_alloc(s->count + (append ? old->nh_count : 0));
	if (!r)
		return NULL;
	now = ktime_get_real_ns();
	r->changed = now;
	r->created = old ? old->created : now;
	if (append) {
		r->type = old->type;
		r->proto = old->proto;
		r->metric = old->metric;
		memcpy(r->nh, old->nh, old->nh_count * sizeof(r->nh[0]));
		memcpy(r->nh + old->nh_count, s->nh, s->count * sizeof(r->nh[0]));
		*nflags = NLM_F_APPEND;
	} else {
		r->type = req->type;
		r->proto = hdr->proto;
		r->metric = req->k.metric;
		memcpy(r->nh, s->nh, s->count * sizeof(r->nh[0]));
		*nflags = old ? NLM_F_REPLACE : NLM_F_CREATE | NLM_F_EXCL;
	}
	return r;
}

/*
 * Put r in the table under key k and notify it.  The notification is
 * allocated first: a request with NLM_F_ECHO and no memory for its reply
 * changes nothing.  On failure r is freed.
 */
static int publish_route(struct rtmgr_net *rn, struct sk_buff *skb,
			 const struct nlmsghdr *nlh, const struct rtmgr_key *k,
			 struct rtmgr_route *r, u16 nflags,
			 struct netlink_ext_ack *extack)
{
	struct rtmgr_route *old;
	struct rtmgr_event ev;
	int err;

	err = rtmgr_event_prepare(&ev, skb->sk, rtmgr_route_msg_size(r),
				  NETLINK_CB(skb).portid, nlh, extack);
	if (err)
		goto free_route;
	err = rtmgr_route_set(rn, k, r, &old);
	if (err) {
		rtmgr_event_cancel(&ev);
		goto free_route;
	}
	rtmgr_event_route(&ev, RTMGR_MSG_NEWROUTE, nflags, k, r);
	if (old)
		rtmgr_route_retire(rn, old);
	return 0;
free_route:
	rtmgr_route_free(r);
	return err;
}

/* Add, replace, change or append: parse, check, build, publish. */
static int new_route(struct rtmgr_net *rn, struct sk_buff *skb,
		     const struct nlmsghdr *nlh, struct nlattr **tb,
		     struct netlink_ext_ack *extack)
{
	struct rtmgr_route *old = NULL, *r;
	struct new_req req;
	u16 nflags;
	int err;

	err = parse_new_req(nlh, tb, &req, extack);
	if (err)
		return err;
	mutex_lock(&rn->lock);
	err = check_existing(rn, nlh, &req, &old, extack);
	if (!err && old && req.mode == NEW_APPEND)
		err = check_append(old, req.s, extack);
	if (err)
		goto out_unlock;
	r = build_route(nlmsg_data(nlh), &req, old, &nflags);
	if (!r) {
		err = -ENOMEM;
		goto out_unlock;
	}
	err = publish_route(rn, skb, nlh, &req.k, r, nflags, extack);
out_unlock:
	mutex_unlock(&rn->lock);
	kfree(req.s);
	return err;
}

/* ---- DELROUTE ------------------------------------------------------------ */

static bool any_nh(const struct rtmgr_route *r, const u8 *gw, u32 oif,
		   unsigned int alen)
{
	unsigned int i;

	for (i = 0; i < r->nh_count; i++) {
		if (gw && (!r->nh[i].has_gw || memcmp(r->nh[i].gw, gw, alen)))
			continue;
		if (oif && r->nh[i].oif != oif)
			continue;
		return true;
	}
	return false;
}

static int del_route(struct rtmgr_net *rn, struct sk_buff *skb,
		     const struct nlmsghdr *nlh, struct nlattr **tb,
		     struct netlink_ext_ack *extack)
{
	const struct rtmgr_hdr *hdr = nlmsg_data(nlh);
	u8 gw[RTMGR_ADDR_MAX];
	struct rtmgr_event ev;
	struct rtmgr_route *r;
	struct rtmgr_key k;
	u32 oif = 0;
	int err;

	err = parse_key(nlh, tb, &k, extack);
	if (err)
		return err;
	if (hdr->type > RTMGR_TYPE_MAX) {
		NL_SET_ERR_MSG(extack, "unknown route type");
		return -EINVAL;
	}
	if (tb[RTMGR_A_GATEWAY]) {
		err = get_addr(tb[RTMGR_A_GATEWAY], k.fam, gw, extack);
		if (err)
			return err;
	}
	if (tb[RTMGR_A_OIF])
		oif = nla_get_u32(tb[RTMGR_A_OIF]);

	mutex_lock(&rn->lock);
	r = rtmgr_route_find(rn, &k);
	err = -ESRCH;
	if (!r) {
		if (k.any_metric)
			NL_SET_ERR_MSG(extack, "no route with this prefix in this table");
		else
			NL_SET_ERR_MSG(extack, "no route with this prefix and metric in this table");
		goto out;
	}
	if ((hdr->type && hdr->type != r->type) ||
	    (hdr->proto && hdr->proto != r->proto) ||
	    ((tb[RTMGR_A_GATEWAY] || oif) &&
	     !any_nh(r, tb[RTMGR_A_GATEWAY] ? gw : NULL, oif,
		     rtmgr_addr_len(k.fam)))) {
		NL_SET_ERR_MSG(extack,
			       "the route does not match the given gateway, device, type or protocol");
		goto out;
	}
	k.metric = r->metric;	/* the lowest, when no metric was given */
	k.any_metric = 0;
	err = rtmgr_event_prepare(&ev, skb->sk, rtmgr_route_msg_size(r),
				  NETLINK_CB(skb).portid, nlh, extack);
	if (err)
		goto out;
	r = rtmgr_route_remove(rn, &k);
	rtmgr_event_route(&ev, RTMGR_MSG_DELROUTE, 0, &k, r);
	rtmgr_route_retire(rn, r);
out:
	mutex_unlock(&rn->lock);
	return err;
}

/* ---- GETROUTE (exact) and LOOKUP (single) -------------------------------- */

/* Answer on the kernel socket the request came in on. */
static int unicast_reply(struct sk_buff *reply, const struct sk_buff *skb)
{
	return nlmsg_unicast(skb->sk, reply, NETLINK_CB(skb).portid);
}

static int get_route(struct rtmgr_net *rn, struct sk_buff *skb,
		     const struct nlmsghdr *nlh, struct nlattr **tb,
		     struct netlink_ext_ack *extack)
{
	const struct rtmgr_hdr *hdr = nlmsg_data(nlh);
	const struct rtmgr_route *r;
	struct sk_buff *reply;
	struct rtmgr_key k;
	int err;

	if (hdr->type || hdr->proto) {
		NL_SET_ERR_MSG(extack, "a route is got by its key only: type and proto must be 0");
		return -EINVAL;
	}
	err = parse_key(nlh, tb, &k, extack);
	if (err)
		return err;
	reply = rtmgr_alloc(nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL));
	if (!reply)
		return -ENOMEM;
	rcu_read_lock();
	r = rtmgr_route_find(rn, &k);
	if (r)
		err = rtmgr_fill_route(reply, RTMGR_MSG_NEWROUTE,
				       NETLINK_CB(skb).portid, nlh->nlmsg_seq,
				       0, k.table, k.fam, k.addr, k.plen, r,
				       NULL);
	rcu_read_unlock();
	if (!r) {
		if (k.any_metric)
			NL_SET_ERR_MSG(extack, "no route with this prefix in this table");
		else
			NL_SET_ERR_MSG(extack, "no route with this prefix and metric in this table");
		err = -ENOENT;
	}
	if (err) {
		kfree_skb(reply);
		return err;
	}
	return unicast_reply(reply, skb);
}

static int lookup_one(struct rtmgr_net *rn, struct sk_buff *skb,
		      const struct nlmsghdr *nlh, struct nlattr **tb,
		      struct netlink_ext_ack *extack)
{
	const struct rtmgr_hdr *hdr = nlmsg_data(nlh);
	const struct rtmgr_node *node = NULL;
	const struct rtmgr_route *r = NULL;
	u8 addr[RTMGR_ADDR_MAX];
	struct rtmgr_table *t;
	struct sk_buff *reply;
	u32 table;
	int fam, err;

	err = check_family(hdr->family, false, extack);
	if (err)
		return err;
	if (hdr->dst_len || hdr->type || hdr->proto) {
		NL_SET_ERR_MSG(extack, "a lookup takes family and table only: dst_len, type and proto must be 0");
		return -EINVAL;
	}
	if (!tb[RTMGR_A_ADDR]) {
		NL_SET_ERR_ATTR_MISS(extack, NULL, RTMGR_A_ADDR);
		NL_SET_ERR_MSG(extack, "address to look up (RTMGR_A_ADDR) missing");
		return -EINVAL;
	}
	fam = rtmgr_fam_index(hdr->family);
	err = get_addr(tb[RTMGR_A_ADDR], fam, addr, extack);
	if (err)
		return err;
	table = hdr->table ?: RTMGR_TABLE_MAIN;
	reply = rtmgr_alloc(nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL));
	if (!reply)
		return -ENOMEM;
	rcu_read_lock();
	t = rtmgr_table_get(rn, table);
	if (t)
		node = rtmgr_trie_lookup(rn, rtmgr_trie_root(rn, t, fam), fam,
					 addr, &r);
	if (node)
		err = rtmgr_fill_route(reply, RTMGR_MSG_LOOKUP,
				       NETLINK_CB(skb).portid, nlh->nlmsg_seq,
				       0, table, fam, node->key, node->plen, r,
				       addr);
	rcu_read_unlock();
	if (!node) {
		NL_SET_ERR_MSG(extack, "no route matches the address");
		err = -ENETUNREACH;
	}
	if (err) {
		kfree_skb(reply);
		return err;
	}
	return unicast_reply(reply, skb);
}

/* ---- filters (dump, flush) ----------------------------------------------- */

static int parse_filter(const struct nlmsghdr *nlh, struct nlattr **tb,
			struct rtmgr_filter *f, struct netlink_ext_ack *extack)
{
	const struct rtmgr_hdr *hdr = nlmsg_data(nlh);
	int fam, err;

	memset(f, 0, sizeof(*f));
	err = check_family(hdr->family, true, extack);
	if (err)
		return err;
	if (hdr->type > RTMGR_TYPE_MAX) {
		NL_SET_ERR_MSG(extack, "unknown route type");
		return -EINVAL;
	}
	f->family = hdr->family;
	f->table = hdr->table;
	f->type = hdr->type;
	f->proto = hdr->proto;
	fam = rtmgr_fam_index(hdr->family);
	if ((tb[RTMGR_A_DST] || tb[RTMGR_A_GATEWAY]) && !f->family) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RTMGR_A_DST] ?: tb[RTMGR_A_GATEWAY],
				    "an address in a filter needs a family");
		return -EINVAL;
	}
	if (tb[RTMGR_A_MATCH] && !tb[RTMGR_A_DST]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RTMGR_A_MATCH],
				    "RTMGR_A_MATCH needs RTMGR_A_DST");
		return -EINVAL;
	}
	if (!tb[RTMGR_A_DST] && hdr->dst_len) {
		NL_SET_ERR_MSG(extack, "dst_len without RTMGR_A_DST");
		return -EINVAL;
	}
	if (tb[RTMGR_A_DST]) {
		err = parse_prefix(tb[RTMGR_A_DST], hdr->dst_len, fam, f->dst,
				   extack);
		if (err)
			return err;
		f->has_dst = 1;
		f->dst_len = hdr->dst_len;
		f->match = tb[RTMGR_A_MATCH] ? nla_get_u8(tb[RTMGR_A_MATCH]) :
					       RTMGR_MATCH_EXACT;
	}
	if (tb[RTMGR_A_GATEWAY]) {
		err = get_addr(tb[RTMGR_A_GATEWAY], fam, f->gw, extack);
		if (err)
			return err;
		f->has_gw = 1;
	}
	if (tb[RTMGR_A_OIF]) {
		f->has_oif = 1;
		f->oif = nla_get_u32(tb[RTMGR_A_OIF]);
		if (!f->oif) {	/* no route has it: a filter on it would match hops without one */
			NL_SET_ERR_MSG_ATTR(extack, tb[RTMGR_A_OIF], "device index 0 is not a device");
			return -EINVAL;
		}
	}
	if (tb[RTMGR_A_METRIC]) {
		f->has_metric = 1;
		f->metric = nla_get_u32(tb[RTMGR_A_METRIC]);
	}
	return 0;
}

static int flush(struct rtmgr_net *rn, struct sk_buff *skb,
		 const struct nlmsghdr *nlh, struct nlattr **tb,
		 struct netlink_ext_ack *extack)
{
	struct rtmgr_filter f;
	struct rtmgr_event ev;
	struct sk_buff *reply;
	struct nlmsghdr *rnlh;
	unsigned int count;
	int err;

	err = parse_filter(nlh, tb, &f, extack);
	if (err)
		return err;
	reply = rtmgr_alloc(nlmsg_new(NLMSG_ALIGN(sizeof(struct rtmgr_hdr)) +
				      nla_total_size(4), GFP_KERNEL));
	if (!reply)
		return -ENOMEM;
	mutex_lock(&rn->lock);
	/* flush takes no NLM_F_ECHO: this cannot fail */
	rtmgr_event_prepare(&ev, skb->sk, rtmgr_flush_msg_size(),
			    NETLINK_CB(skb).portid, nlh, extack);
	count = rtmgr_flush(rn, &f);
	rtmgr_event_flush(&ev, &f, count);
	mutex_unlock(&rn->lock);

	rnlh = nlmsg_put(reply, NETLINK_CB(skb).portid, nlh->nlmsg_seq,
			 RTMGR_MSG_FLUSH, sizeof(struct rtmgr_hdr), 0);
	if (WARN_ON_ONCE(!rnlh || nla_put_u32(reply, RTMGR_A_COUNT, count))) {
		kfree_skb(reply);
		return -EMSGSIZE;
	}
	memcpy(nlmsg_data(rnlh), nlmsg_data(nlh), sizeof(struct rtmgr_hdr));
	nlmsg_end(reply, rnlh);
	return unicast_reply(reply, skb);
}

/* ---- dumps --------------------------------------------------------------- */

static int start_dump(struct sk_buff *skb, const struct nlmsghdr *nlh,
		      int (*start)(struct netlink_callback *),
		      int (*dump)(struct sk_buff *, struct netlink_callback *),
		      struct rtmgr_dump_arg *arg, struct netlink_ext_ack *extack)
{
	struct netlink_dump_control c = {
		.start = start,
		.dump = dump,
		.done = rtmgr_dump_done,
		.data = arg,
		.module = THIS_MODULE,
	};
	int err;

	if (arg)
		arg->extack = extack;	/* ->start says why it failed here */
	err = netlink_dump_start(skb->sk, skb, nlh, &c);
	if (err == -EBUSY)
		NL_SET_ERR_MSG(extack,
			       "a dump is already running on this socket; read it to its end first");
	else if ((err == -ENOMEM || err == -ENOBUFS) && !extack->_msg)
		NL_SET_ERR_MSG(extack, "no memory to start the dump");
	return err;
}

/* ---- GETSTATS ------------------------------------------------------------ */

/*
 * The totals: one small message whatever the number of tables.  The routes
 * per (table, family) come one per message in GETSTATS | NLM_F_DUMP, so no
 * nest and no skb grows with the number of tables.
 */
static int fill_totals(struct rtmgr_net *rn, struct sk_buff *skb, u32 portid,
		       u32 seq, u16 flags)
{
	u32 pairs = 0;
	struct rtmgr_table *t;
	struct nlattr *stats;
	struct nlmsghdr *nlh;
	unsigned long id;

	rcu_read_lock();
	xa_for_each(&rn->tables, id, t)
		pairs += !!READ_ONCE(t->count[RTMGR_FAM4]) +
			 !!READ_ONCE(t->count[RTMGR_FAM6]);
	rcu_read_unlock();

	nlh = nlmsg_put(skb, portid, seq, RTMGR_MSG_GETSTATS,
			sizeof(struct rtmgr_hdr), flags);
	if (!nlh)
		return -EMSGSIZE;
	memset(nlmsg_data(nlh), 0, sizeof(struct rtmgr_hdr));
	stats = nla_nest_start(skb, RTMGR_A_STATS);
	if (!stats ||
	    nla_put_u32(skb, RTMGR_A_STATS_ROUTES4,
			READ_ONCE(rn->routes[RTMGR_FAM4])) ||
	    nla_put_u32(skb, RTMGR_A_STATS_ROUTES6,
			READ_ONCE(rn->routes[RTMGR_FAM6])) ||
	    nla_put_u64_64bit(skb, RTMGR_A_STATS_MEMORY, READ_ONCE(rn->memory),
			      RTMGR_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, RTMGR_A_STATS_GENERATION,
			      READ_ONCE(rn->generation), RTMGR_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, RTMGR_A_STATS_REQUESTS,
			      atomic64_read(&rn->requests), RTMGR_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, RTMGR_A_STATS_ERRORS,
			      atomic64_read(&rn->errors), RTMGR_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, RTMGR_A_STATS_MISSES,
			      atomic64_read(&rn->misses), RTMGR_A_STATS_PAD) ||
	    nla_put_u32(skb, RTMGR_A_STATS_MAX_ROUTES,
			READ_ONCE(rtmgr_max_routes)) ||
	    nla_put_u32(skb, RTMGR_A_STATS_TABLES, pairs)) {
		nlmsg_cancel(skb, nlh);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, stats);
	nlmsg_end(skb, nlh);
	return 0;
}

static int check_stats_hdr(const struct nlmsghdr *nlh,
			   struct netlink_ext_ack *extack)
{
	if (memchr_inv(nlmsg_data(nlh), 0, sizeof(struct rtmgr_hdr))) {
		NL_SET_ERR_MSG(extack, "GETSTATS takes an all-zero header");
		return -EINVAL;
	}
	return 0;
}

static int get_stats(struct rtmgr_net *rn, struct sk_buff *skb,
		     const struct nlmsghdr *nlh, struct nlattr **tb,
		     struct netlink_ext_ack *extack)
{
	struct sk_buff *reply;
	int err = check_stats_hdr(nlh, extack);

	if (err)
		return err;
	reply = rtmgr_alloc(nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL));
	if (!reply)
		return -ENOMEM;
	err = fill_totals(rn, reply, NETLINK_CB(skb).portid, nlh->nlmsg_seq, 0);
	if (WARN_ON_ONCE(err)) {
		kfree_skb(reply);
		return err;
	}
	return unicast_reply(reply, skb);
}

/* The cursor of a stats dump: totals first, then (table, family) pairs. */
struct stats_dump {
	u32	table;
	u8	fam;
	u8	totals_sent;
	u8	done;
};

static_assert(sizeof(struct stats_dump) <= sizeof_field(struct netlink_callback, ctx));

static int fill_table_stats(struct sk_buff *skb, struct netlink_callback *cb,
			    u32 table, int fam, u32 routes)
{
	struct nlattr *stats, *ts;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			RTMGR_MSG_GETSTATS, sizeof(struct rtmgr_hdr),
			NLM_F_MULTI);
	if (!nlh)
		return -EMSGSIZE;
	memset(nlmsg_data(nlh), 0, sizeof(struct rtmgr_hdr));
	stats = nla_nest_start(skb, RTMGR_A_STATS);
	if (!stats)
		goto cancel;
	ts = nla_nest_start(skb, RTMGR_A_STATS_TABLE);
	if (!ts ||
	    nla_put_u32(skb, RTMGR_A_TS_TABLE, table) ||
	    nla_put_u8(skb, RTMGR_A_TS_FAMILY, rtmgr_fam_af(fam)) ||
	    nla_put_u32(skb, RTMGR_A_TS_ROUTES, routes))
		goto cancel;
	nla_nest_end(skb, ts);
	nla_nest_end(skb, stats);
	nlmsg_end(skb, nlh);
	nl_dump_check_consistent(cb, nlh);
	return 0;
cancel:
	nlmsg_cancel(skb, nlh);
	return -EMSGSIZE;
}

static int rtmgr_dump_stats(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct rtmgr_net *rn = rtmgr_net(sock_net(skb->sk));
	struct stats_dump *d = (struct stats_dump *)cb->ctx;
	struct rtmgr_table *t;
	unsigned long id;
	int err = 0;

	if (d->done)
		return 0;
	if (!d->totals_sent) {
		err = fill_totals(rn, skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (err)
			return err;
		d->totals_sent = 1;
	}
	rcu_read_lock();
	cb->seq = READ_ONCE(rn->generation);
	id = d->table;
	xa_for_each_start(&rn->tables, id, t, d->table) {
		if (id != d->table) {
			d->table = id;
			d->fam = 0;
		}
		for (; d->fam < RTMGR_NFAM; d->fam++) {
			u32 n = READ_ONCE(t->count[d->fam]);

			if (!n)
				continue;
			err = fill_table_stats(skb, cb, id, d->fam, n);
			if (err)
				goto out;
		}
		if (id == U32_MAX)
			break;
		d->table = id + 1;
		d->fam = 0;
	}
	d->done = 1;
out:
	rcu_read_unlock();
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err;
}

static int dump_stats(struct rtmgr_net *rn, struct sk_buff *skb,
		      const struct nlmsghdr *nlh, struct nlattr **tb,
		      struct netlink_ext_ack *extack)
{
	int err = check_stats_hdr(nlh, extack);

	if (err)
		return err;
	return start_dump(skb, nlh, NULL, rtmgr_dump_stats, NULL, extack);
}

/* ---- route dumps and bulk lookups ------------------------------------------ */

static int dump_routes(struct rtmgr_net *rn, struct sk_buff *skb,
		       const struct nlmsghdr *nlh, struct nlattr **tb,
		       struct netlink_ext_ack *extack)
{
	struct rtmgr_dump_arg arg = {};
	int err = parse_filter(nlh, tb, &arg.filter, extack);

	if (err)
		return err;
	return start_dump(skb, nlh, rtmgr_dump_routes_start, rtmgr_dump_routes,
			  &arg, extack);
}

static int lookup_bulk(struct rtmgr_net *rn, struct sk_buff *skb,
		       const struct nlmsghdr *nlh, struct nlattr **tb,
		       struct netlink_ext_ack *extack)
{
	const struct rtmgr_hdr *hdr = nlmsg_data(nlh);
	struct rtmgr_dump_arg arg = {};
	struct nlattr *a = tb[RTMGR_A_ADDRS];
	unsigned int alen;
	int err;

	err = check_family(hdr->family, false, extack);
	if (err)
		return err;
	if (hdr->dst_len || hdr->type || hdr->proto) {
		NL_SET_ERR_MSG(extack, "a lookup takes family and table only: dst_len, type and proto must be 0");
		return -EINVAL;
	}
	if (!a) {
		NL_SET_ERR_ATTR_MISS(extack, NULL, RTMGR_A_ADDRS);
		NL_SET_ERR_MSG(extack, "addresses to look up (RTMGR_A_ADDRS) missing");
		return -EINVAL;
	}
	alen = rtmgr_addr_len(rtmgr_fam_index(hdr->family));
	if (nla_len(a) % alen) {
		NL_SET_ERR_MSG_ATTR(extack, a, "RTMGR_A_ADDRS is not a whole number of addresses of this family");
		return -EINVAL;
	}
	if (nla_len(a) / alen > RTMGR_MAX_LOOKUP_ADDRS) {
		NL_SET_ERR_MSG_ATTR(extack, a, "more than RTMGR_MAX_LOOKUP_ADDRS addresses");
		return -E2BIG;
	}
	arg.filter.family = hdr->family;
	arg.filter.table = hdr->table ?: RTMGR_TABLE_MAIN;
	arg.addrs = nla_data(a);	/* cb->skb keeps the request alive */
	arg.naddrs = nla_len(a) / alen;
	return start_dump(skb, nlh, rtmgr_dump_lookup_start, rtmgr_dump_lookup,
			  &arg, extack);
}

/* ---- dispatch ------------------------------------------------------------ */

typedef int (*rtmgr_doit_t)(struct rtmgr_net *rn, struct sk_buff *skb,
			    const struct nlmsghdr *nlh, struct nlattr **tb,
			    struct netlink_ext_ack *extack);

struct rtmgr_link {
	rtmgr_doit_t			doit;		/* without NLM_F_DUMP */
	rtmgr_doit_t			dumpit;		/* with NLM_F_DUMP */
	const struct nla_policy		*policy;
	const struct nla_policy		*dump_policy;
	u16				flags;	/* accepted besides REQUEST, ACK */
	bool				admin;	/* needs CAP_NET_ADMIN */
};

#define MSG(type) [(type) - RTMGR_MSG_BASE]

static const struct rtmgr_link rtmgr_links[RTMGR_MSG_MAX - RTMGR_MSG_BASE + 1] = {
	MSG(RTMGR_MSG_NEWROUTE) = {
		.doit = new_route, .policy = new_policy, .admin = true,
		.flags = NLM_F_ECHO | NLM_F_CREATE | NLM_F_EXCL |
			 NLM_F_REPLACE | NLM_F_APPEND,
	},
	MSG(RTMGR_MSG_DELROUTE) = {
		.doit = del_route, .policy = del_policy, .admin = true,
		.flags = NLM_F_ECHO,
	},
	MSG(RTMGR_MSG_GETROUTE) = {
		.doit = get_route, .policy = get_policy,
		.dumpit = dump_routes, .dump_policy = filter_policy,
		.flags = NLM_F_DUMP,
	},
	MSG(RTMGR_MSG_LOOKUP) = {
		.doit = lookup_one, .policy = lookup_policy,
		.dumpit = lookup_bulk, .dump_policy = bulk_lookup_policy,
		.flags = NLM_F_DUMP,
	},
	MSG(RTMGR_MSG_FLUSH) = {
		.doit = flush, .policy = filter_policy, .admin = true,
	},
	MSG(RTMGR_MSG_GETSTATS) = {
		.doit = get_stats, .policy = no_policy,
		.dumpit = dump_stats, .dump_policy = no_policy,
		.flags = NLM_F_DUMP,
	},
};

static int rcv_msg(struct rtmgr_net *rn, struct sk_buff *skb,
		   struct nlmsghdr *nlh, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[RTMGR_A_MAX + 1];
	const struct rtmgr_link *link;
	u16 flags = nlh->nlmsg_flags;
	bool dump;
	int err;

	if (nlh->nlmsg_type < RTMGR_MSG_BASE ||
	    nlh->nlmsg_type > RTMGR_MSG_MAX) {
		NL_SET_ERR_MSG(extack, "unknown message type");
		return -EOPNOTSUPP;
	}
	link = &rtmgr_links[nlh->nlmsg_type - RTMGR_MSG_BASE];
	if (nlmsg_len(nlh) < (int)sizeof(struct rtmgr_hdr)) {
		NL_SET_ERR_MSG(extack, "message too short for struct rtmgr_hdr");
		return -EINVAL;
	}
	if (flags & ~(NLM_F_REQUEST | NLM_F_ACK | link->flags)) {
		rtmgr_err_fmt(extack, NULL, "flags this message does not take",
			      "flags 0x%x are not taken by this message",
			      flags & ~(NLM_F_REQUEST | NLM_F_ACK | link->flags));
		return -EINVAL;
	}
	dump = link->dumpit && (flags & NLM_F_DUMP);
	if (link->dumpit && (flags & NLM_F_DUMP) &&
	    (flags & NLM_F_DUMP) != NLM_F_DUMP) {
		NL_SET_ERR_MSG(extack, "NLM_F_ROOT and NLM_F_MATCH go together as NLM_F_DUMP");
		return -EINVAL;
	}
	if (link->admin && !netlink_net_capable(skb, CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG(extack, "changing routes needs CAP_NET_ADMIN");
		return -EPERM;
	}
	err = nlmsg_parse(nlh, sizeof(struct rtmgr_hdr), tb, RTMGR_A_MAX,
			  dump ? link->dump_policy : link->policy, extack);
	if (err)
		return err;
	return (dump ? link->dumpit : link->doit)(rn, skb, nlh, tb, extack);
}

/* A read that found no route was answered, not refused. */
static bool is_miss(const struct nlmsghdr *nlh, int err)
{
	return (nlh->nlmsg_type == RTMGR_MSG_GETROUTE && err == -ENOENT) ||
	       (nlh->nlmsg_type == RTMGR_MSG_LOOKUP && err == -ENETUNREACH);
}

static int rtmgr_rcv_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
			 struct netlink_ext_ack *extack)
{
	struct rtmgr_net *rn = rtmgr_net(sock_net(skb->sk));
	int err;

	if (!rtmgr_is_ready()) {
		NL_SET_ERR_MSG(extack, "rtmgr is still loading; try again");
		return -EAGAIN;
	}
	atomic64_inc(&rn->requests);
	err = rcv_msg(rn, skb, nlh, extack);
	if (err == -ENOMEM && !extack->_msg)
		NL_SET_ERR_MSG(extack, "out of memory; nothing changed");
	if (is_miss(nlh, err))
		atomic64_inc(&rn->misses);
	else if (err && err != -EINTR)	/* -EINTR: a dump started */
		atomic64_inc(&rn->errors);
	return err;
}

void rtmgr_rcv(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, rtmgr_rcv_msg);
}
