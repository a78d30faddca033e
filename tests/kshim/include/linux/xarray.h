/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: an xarray as a sorted array of (index, entry), with the kernel's
 * entry encoding (value entries, error entries) and iteration semantics:
 * xa_for_each_start() finds the next present index after the last one, so
 * erasing during a walk is allowed, as in the kernel.  Storing at an index
 * that holds nothing is where the kernel may allocate, so only there can
 * the fault injector make xa_store() return XA_ERROR(-ENOMEM); replacing
 * an entry and erasing never fail.
 */
#ifndef _KSHIM_LINUX_XARRAY_H
#define _KSHIM_LINUX_XARRAY_H

#include <linux/kernel.h>

struct xarray {
	unsigned long	*index;
	void		**entry;
	unsigned int	n, cap;
};

#define XA_PRESENT	0	/* the only filter the shim has */

static inline void *xa_mk_value(unsigned long v)
{
	return (void *)((v << 1) | 1);
}

static inline unsigned long xa_to_value(const void *entry)
{
	return (unsigned long)entry >> 1;
}

static inline bool xa_is_value(const void *entry)
{
	return (unsigned long)entry & 1;
}

#define XA_ERROR(errno)	((void *)(((unsigned long)(errno) << 2) | 2UL))

static inline bool xa_is_err(const void *entry)
{
	return ((unsigned long)entry & 3) == 2 &&
	       (unsigned long)entry >= (unsigned long)XA_ERROR(-4095L);
}

static inline int xa_err(void *entry)
{
	return xa_is_err(entry) ? (long)entry >> 2 : 0;
}

void xa_init(struct xarray *xa);
void *xa_load(struct xarray *xa, unsigned long index);
void *xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);
void *xa_erase(struct xarray *xa, unsigned long index);
bool xa_empty(const struct xarray *xa);
void xa_destroy(struct xarray *xa);
void *xa_find(struct xarray *xa, unsigned long *index, unsigned long max,
	      int filter);
void *xa_find_after(struct xarray *xa, unsigned long *index,
		    unsigned long max, int filter);

#define xa_for_each_start(xa, index, entry, start)			\
	for (index = start,						\
	     entry = xa_find(xa, &index, ULONG_MAX, XA_PRESENT);	\
	     entry;							\
	     entry = xa_find_after(xa, &index, ULONG_MAX, XA_PRESENT))
#define xa_for_each(xa, index, entry) xa_for_each_start(xa, index, entry, 0)

#endif
