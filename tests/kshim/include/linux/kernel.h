/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: the handful of linux/kernel.h, compiler.h, minmax.h, build_bug.h,
 * bitops.h, limits.h and bug.h helpers table.c, trie.c and dump.c use.
 */
#ifndef _KSHIM_LINUX_KERNEL_H
#define _KSHIM_LINUX_KERNEL_H

#include <errno.h>
#include <limits.h>
#include <linux/types.h>
#include <linux/string.h>	/* the kernel's headers pull it in everywhere */

/* kshim.c: report a broken kernel rule and stop (never returns) */
void kshim_bug(const char *file, int line, const char *what)
	__attribute__((noreturn));

#define U32_MAX		((u32)~0U)

#define container_of(ptr, type, member)					\
	((type *)((char *)(ptr) - offsetof(type, member)))

#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b);	\
		     _a < _b ? _a : _b; })

#define READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) do { *(volatile __typeof__(x) *)&(x) = (v); } while (0)

#define __static_assert(expr, msg, ...) _Static_assert(expr, msg)
#define static_assert(expr, ...) __static_assert(expr, ##__VA_ARGS__, #expr)

#define sizeof_field(TYPE, MEMBER) sizeof((((TYPE *)0)->MEMBER))

/* index of the most significant set bit; w must not be 0 */
static inline unsigned long __fls(unsigned long w)
{
	if (!w)
		kshim_bug(__FILE__, __LINE__, "__fls(0) is undefined");
	return sizeof(w) * 8 - 1 - __builtin_clzl(w);
}

/* a WARN is a bug the module itself says cannot happen: stop there */
#define WARN_ON_ONCE(cond) ({						\
	int __c = !!(cond);						\
	if (__c)							\
		kshim_bug(__FILE__, __LINE__, "WARN_ON_ONCE(" #cond ")");\
	__c; })

#endif
