/* SPDX-License-Identifier: GPL-2.0 */
/* kshim: AF_INET and AF_INET6 as the C library has them (the kernel's). */
#ifndef _KSHIM_LINUX_IN6_H
#define _KSHIM_LINUX_IN6_H

#include <sys/socket.h>

#endif
