/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where rtmgr compares kernel versions.  Everything else is
 * written against the newest API and gets older kernels' equivalents here.
 *
 * Tested lines: 6.1 (Debian 12) and 6.12 (Debian 12 backports / Debian 13).
 */
#ifndef _RTMGR_COMPAT_H
#define _RTMGR_COMPAT_H

#include <linux/version.h>
#include <linux/netlink.h>

/*
 * Formatted extended-ACK messages (NL_SET_ERR_MSG_FMT, NL_SET_ERR_MSG_ATTR_FMT)
 * came in 6.2 with the _msg_buf in struct netlink_ext_ack.  Before that only
 * static strings can be reported, so the caller also gives the static text
 * that says the same without the details.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define rtmgr_err_fmt(extack, attr, plain, fmt, args...)		\
	NL_SET_ERR_MSG_ATTR_FMT(extack, attr, fmt, ##args)
#else
#define rtmgr_err_fmt(extack, attr, plain, fmt, args...)		\
	NL_SET_ERR_MSG_ATTR(extack, attr, plain)
#endif

#endif /* _RTMGR_COMPAT_H */
