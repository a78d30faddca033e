/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: kmalloc and slab caches, backed by malloc (so ASan sees every
 * object) and by kshim.c's fault injector, which can make any of them
 * return NULL.
 */
#ifndef _KSHIM_LINUX_SLAB_H
#define _KSHIM_LINUX_SLAB_H

#include <linux/kernel.h>

#define GFP_KERNEL		0x0cc0u
#define GFP_KERNEL_ACCOUNT	(GFP_KERNEL | 0x400000u)
#define SLAB_ACCOUNT		0x04000000u

struct kmem_cache;

void *kmalloc(size_t size, gfp_t gfp);
void *kzalloc(size_t size, gfp_t gfp);
void kfree(const void *p);
size_t kmalloc_size_roundup(size_t size);

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
				     unsigned int align, slab_flags_t flags,
				     void (*ctor)(void *));
void kmem_cache_destroy(struct kmem_cache *c);
void *kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp);
void *kmem_cache_zalloc(struct kmem_cache *c, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *c, void *p);
unsigned int kmem_cache_size(struct kmem_cache *c);

/* linux/overflow.h, without the saturation (sizes here are small) */
#define struct_size(p, member, count)					\
	(sizeof(*(p)) + sizeof((p)->member[0]) * (size_t)(count))

#endif
