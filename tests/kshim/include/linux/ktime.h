/* SPDX-License-Identifier: GPL-2.0 */
/* kshim: a clock that only moves forward, by one microsecond a call. */
#ifndef _KSHIM_LINUX_KTIME_H
#define _KSHIM_LINUX_KTIME_H

#include <linux/types.h>

u64 ktime_get_real_ns(void);

#endif
