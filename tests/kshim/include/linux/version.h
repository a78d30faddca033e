/* SPDX-License-Identifier: GPL-2.0 */
/* kshim: the version of the system's kernel headers picks compat.h's branch. */
#ifndef _KSHIM_LINUX_VERSION_H
#define _KSHIM_LINUX_VERSION_H

#include_next <linux/version.h>

#endif
