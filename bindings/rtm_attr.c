// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtm_attr.c: netlink attributes, put and walked.
 *
 *   <------- NLA_HDRLEN ------> <-- payload --> <-- pad -->
 *  +-------------+-------------+---------------+-----------+---- next ...
 *  | nla_len u16 | nla_type u16|     data      | 0 .. 3    |
 *  +-------------+-------------+---------------+-----------+----
 *  <------------- nla_len ---------------------->
 *  <------------- NLA_ALIGN(nla_len) ------------------------>
 *
 *  nla_type: bit 15 NLA_F_NESTED, bit 14 NLA_F_NET_BYTEORDER, 13..0 type.
 *  A nest is an attribute whose data is more attributes.
 *
 * The walk keeps a signed remaining length: a last attribute whose padding
 * is cut off leaves it at -1 .. -3, and anything the walk refuses (short,
 * zero or overlong nla_len) stops it without reading a byte past the end.
 */
#include <errno.h>
#include <string.h>

#include <sys/socket.h>

#include "rtm.h"

const void *rtm_attr_data(const struct nlattr *attr)
{
	return (const uint8_t *)attr + NLA_HDRLEN;
}

uint16_t rtm_attr_payload_len(const struct nlattr *attr)
{
	return attr->nla_len - NLA_HDRLEN;
}

uint16_t rtm_attr_type(const struct nlattr *attr)
{
	return attr->nla_type & NLA_TYPE_MASK;
}

int rtm_attr_ok(const struct nlattr *attr, int remaining)
{
	if (remaining < (int)sizeof(struct nlattr))
		return 0;
	return attr->nla_len >= sizeof(struct nlattr) &&
	       (int)attr->nla_len <= remaining;
}

const struct nlattr *rtm_attr_next(const struct nlattr *attr, int *remaining)
{
	int step = NLA_ALIGN(attr->nla_len);

	*remaining -= step;
	return (const struct nlattr *)((const uint8_t *)attr + step);
}

int rtm_attr_parse(const void *start, int len, const struct nlattr **tb,
		   unsigned int maxtype, const void **bad)
{
	const struct nlattr *attr;
	int rem = len;

	memset(tb, 0, sizeof(*tb) * (maxtype + 1));
	rtm_attr_for_each(attr, (const struct nlattr *)start, rem) {
		uint16_t type = rtm_attr_type(attr);

		if (type > maxtype) {
			if (bad)
				*bad = attr;
			errno = EOPNOTSUPP;
			return -1;
		}
		tb[type] = attr;
	}
	if (rem > 0) {
		/* a short, zero-length or overlong attribute, or junk */
		if (bad)
			*bad = attr;
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

static struct nlattr *attr_tail(struct nlmsghdr *nlh)
{
	return (struct nlattr *)((uint8_t *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
}

int rtm_attr_put(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
		 size_t len, const void *data)
{
	size_t used = NLMSG_ALIGN(nlh->nlmsg_len);
	size_t need = NLA_ALIGN(NLA_HDRLEN + len);
	struct nlattr *attr;

	if (len > UINT16_MAX - NLA_HDRLEN || used > buflen ||
	    need > buflen - used) {
		errno = EMSGSIZE;
		return -1;
	}
	attr = attr_tail(nlh);
	attr->nla_len = NLA_HDRLEN + len;
	attr->nla_type = type;
	if (len)
		memcpy((uint8_t *)attr + NLA_HDRLEN, data, len);
	memset((uint8_t *)attr + NLA_HDRLEN + len, 0,
	       need - NLA_HDRLEN - len);
	nlh->nlmsg_len = used + need;
	return 0;
}

int rtm_attr_put_u8(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
		    uint8_t value)
{
	return rtm_attr_put(nlh, buflen, type, sizeof(value), &value);
}

int rtm_attr_put_u32(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
		     uint32_t value)
{
	return rtm_attr_put(nlh, buflen, type, sizeof(value), &value);
}

struct nlattr *rtm_attr_nest_start(struct nlmsghdr *nlh, size_t buflen,
				   uint16_t type)
{
	struct nlattr *nest = attr_tail(nlh);

	if (rtm_attr_put(nlh, buflen, type | NLA_F_NESTED, 0, NULL) < 0)
		return NULL;
	return nest;
}

void rtm_attr_nest_end(struct nlmsghdr *nlh, struct nlattr *nest)
{
	nest->nla_len = (uint8_t *)nlh + nlh->nlmsg_len - (uint8_t *)nest;
}

void rtm_attr_nest_cancel(struct nlmsghdr *nlh, struct nlattr *nest)
{
	nlh->nlmsg_len = (uint8_t *)nest - (uint8_t *)nlh;
}

/* Bytes of an address of this family: 4, 16, or 0 for any other family. */
size_t rtm_family_addr_len(uint8_t family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	}
	return 0;
}
