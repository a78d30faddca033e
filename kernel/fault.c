// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only knobs: module parameters that only root can read or write,
 * used by the kernel tier to reach paths a healthy machine never takes.
 * The Debian kernels have no fault injection (no CONFIG_FAULT_INJECTION,
 * no CONFIG_FUNCTION_ERROR_INJECTION), so the module carries its own.
 *
 *   fail_notify    the next N notification allocations fail (-1: all);
 *                  listeners must then see ENOBUFS
 *   fail_alloc     the Nth of the module's allocations from now fails,
 *                  once, whatever it allocates (as the kernel's fail-nth;
 *                  0: none); reads back what is left of the count, so 0
 *                  after a request means the Nth allocation was reached
 *   load_delay_ms  at load, sleep this long after the sockets exist and
 *                  before devices are watched (widens the load window)
 *   purge_visited  routes the last device removal visited (read only)
 */
#include <linux/module.h>
#include <linux/atomic.h>
#include <linux/delay.h>

#include "rtmgr.h"

static atomic_t fail_notify = ATOMIC_INIT(0);

static int fail_set(const char *val, const struct kernel_param *kp)
{
	int n, err = kstrtoint(val, 0, &n);

	if (err)
		return err;
	if (n < -1)
		return -EINVAL;
	atomic_set(&fail_notify, n);
	return 0;
}

static int fail_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&fail_notify));
}

static const struct kernel_param_ops fail_ops = {
	.set = fail_set,
	.get = fail_get,
};
module_param_cb(fail_notify, &fail_ops, NULL, 0600);
MODULE_PARM_DESC(fail_notify,
		 "test only: fail the next N notification allocations (-1: all)");

static atomic_t fail_alloc = ATOMIC_INIT(0);

static int fail_alloc_set(const char *val, const struct kernel_param *kp)
{
	int n, err = kstrtoint(val, 0, &n);

	if (err)
		return err;
	if (n < 0)
		return -EINVAL;
	atomic_set(&fail_alloc, n);
	return 0;
}

static int fail_alloc_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&fail_alloc));
}

static const struct kernel_param_ops fail_alloc_ops = {
	.set = fail_alloc_set,
	.get = fail_alloc_get,
};
module_param_cb(fail_alloc, &fail_alloc_ops, NULL, 0600);
MODULE_PARM_DESC(fail_alloc,
		 "test only: fail the Nth allocation of the module from now, once (0: none)");

bool rtmgr_fail_alloc(void)
{
	int n = atomic_read(&fail_alloc);

	while (n > 0) {
		if (atomic_try_cmpxchg(&fail_alloc, &n, n - 1))
			return n == 1;
	}
	return false;
}

static unsigned int load_delay_ms;
module_param(load_delay_ms, uint, 0400);
MODULE_PARM_DESC(load_delay_ms,
		 "test only: sleep at load between the sockets and the device notifier");

static unsigned int purge_visited;
module_param(purge_visited, uint, 0400);
MODULE_PARM_DESC(purge_visited,
		 "test only: routes the last device removal visited");

bool rtmgr_fail_notify(void)
{
	int n = atomic_read(&fail_notify);

	while (n) {
		if (n < 0)
			return true;
		if (atomic_try_cmpxchg(&fail_notify, &n, n - 1))
			return true;
	}
	return false;
}

void rtmgr_load_delay(void)
{
	if (load_delay_ms)
		msleep(load_delay_ms);
}

void rtmgr_note_purge(unsigned int visited)
{
	WRITE_ONCE(purge_visited, visited);
}
