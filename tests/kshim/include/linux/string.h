/* SPDX-License-Identifier: GPL-2.0 */
/* kshim: memcpy, memcmp and friends are the C library's. */
#ifndef _KSHIM_LINUX_STRING_H
#define _KSHIM_LINUX_STRING_H

#include <string.h>

#endif
