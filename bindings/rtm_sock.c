// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtm_sock.c: the netlink socket.
 *
 *   user space                                   kernel (rtmgr, portid 0)
 *  +--------------------------+   sendto()      +------------------------+
 *  | struct sockaddr_nl       | --------------> | netlink_rcv_skb()      |
 *  |  nl_family AF_NETLINK    |   one buffer:   |  each request in turn  |
 *  |  nl_pid    our portid    |   [req][req]... |                        |
 *  |  nl_groups bind mask     | <-------------- | replies, ACKs, DONE,   |
 *  +--------------------------+   recvmsg():    | notifications (group)  |
 *                                 one datagram  +------------------------+
 *                                 [msg][msg]...
 *
 * Options set on every socket:
 *   NETLINK_EXT_ACK 1     errors carry the kernel's text and the offset of
 *                         the attribute to blame;
 *   NETLINK_CAP_ACK 1     errors carry only the request's header, not the
 *                         whole request: a batch or a bulk lookup that fails
 *                         must not flood the receive buffer with echoes (the
 *                         caller keeps its requests, and the header's seq
 *                         says which one failed);
 *   NETLINK_NO_ENOBUFS 0  an overrun is reported (ENOBUFS) rather than
 *                         hidden, so the caller knows it lost messages.
 *
 * The receive blocks in poll() here, in C: cffi lets other Python threads
 * run meanwhile.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtm.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

int rtm_sock_set_rcvbuf(struct rtm_sock *sock, int bytes)
{
	/* FORCE goes past net.core.rmem_max, with CAP_NET_ADMIN */
	if (set_int(sock->fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes) == 0)
		return 0;
	return set_int(sock->fd, SOL_SOCKET, SO_RCVBUF, bytes);
}

int rtm_sock_open(struct rtm_sock *sock, int protocol, uint32_t groups,
		  int rcvbuf)
{
	struct sockaddr_nl addr = {
		.nl_family = AF_NETLINK,
		.nl_groups = groups,
	};
	socklen_t addrlen = sizeof(addr);
	int saved;

	sock->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
	sock->portid = 0;
	sock->pending_err = 0;
	if (sock->fd < 0)
		return -1;
	if (set_int(sock->fd, SOL_NETLINK, NETLINK_EXT_ACK, 1) < 0 ||
	    set_int(sock->fd, SOL_NETLINK, NETLINK_CAP_ACK, 1) < 0 ||
	    set_int(sock->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, 0) < 0)
		goto err_close;
	if (rcvbuf > 0 && rtm_sock_set_rcvbuf(sock, rcvbuf) < 0)
		goto err_close;
	if (bind(sock->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto err_close;
	if (getsockname(sock->fd, (struct sockaddr *)&addr, &addrlen) < 0)
		goto err_close;
	sock->portid = addr.nl_pid;
	return 0;

err_close:
	saved = errno;
	close(sock->fd);
	sock->fd = -1;
	errno = saved;
	return -1;
}

int rtm_sock_close(struct rtm_sock *sock)
{
	int fd = sock->fd;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	sock->fd = -1;
	return close(fd);
}

int rtm_sock_join(struct rtm_sock *sock, unsigned int group)
{
	return set_int(sock->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group);
}

ssize_t rtm_sock_send(struct rtm_sock *sock, const void *buf, size_t len)
{
	static const struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	return sendto(sock->fd, buf, len, 0, (const struct sockaddr *)&kernel,
		      sizeof(kernel));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One queued datagram, without waiting: its length; 0 when it came from
 * another port (only the kernel speaks rtmgr: dropped); -1 with EAGAIN
 * when none is queued, EMSGSIZE when it did not fit (it is lost), ENOBUFS
 * when the socket overran.
 */
static ssize_t recv_one(int fd, void *buf, size_t len)
{
	struct sockaddr_nl from;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	if (n < 0) {
		if (errno == EWOULDBLOCK)
			errno = EAGAIN;
		return -1;
	}
	if (mh.msg_flags & MSG_TRUNC) {
		errno = EMSGSIZE;
		return -1;
	}
	if (mh.msg_namelen != sizeof(from) || from.nl_pid != 0)
		return 0;
	return n;
}

ssize_t rtm_sock_recv(struct rtm_sock *sock, void *buf, size_t len,
		      int timeout_ms)
{
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;

	for (;;) {
		struct pollfd pfd = { .fd = sock->fd, .events = POLLIN };
		int wait = -1;
		ssize_t n;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			wait = left > 0 ? (left > 0x7fffffff ? 0x7fffffff : left) : 0;
		}
		n = poll(&pfd, 1, wait);
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EAGAIN;
			return -1;
		}
		n = recv_one(sock->fd, buf, len);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n != 0)
			return n;	/* a datagram, or ENOBUFS: the socket overran */
	}
}

/* The size of the next queued datagram (0: none), -1 on an error. */
static ssize_t next_size(int fd)
{
	ssize_t n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return n;
}

ssize_t rtm_sock_recv_queued(struct rtm_sock *sock, void *buf, size_t len,
			     int timeout_ms)
{
	size_t end, off;
	ssize_t n;

	if (sock->pending_err) {
		errno = sock->pending_err;
		sock->pending_err = 0;
		return -1;
	}
	n = rtm_sock_recv(sock, buf, len, timeout_ms);
	if (n < 0)
		return n;
	end = n;
	/* messages are NLMSG_ALIGNed, and so is each datagram placed here */
	for (off = NLMSG_ALIGN(end); off + NLMSG_HDRLEN <= len; off = NLMSG_ALIGN(end)) {
		n = next_size(sock->fd);
		if (n == 0 || (n > 0 && (size_t)n > len - off))
			break;		/* none queued, or the next call takes it */
		if (n > 0)	/* it fits: it was peeked */
			n = recv_one(sock->fd, (uint8_t *)buf + off, len - off);
		if (n < 0) {
			/* ENOBUFS (an overrun): the next call reports it */
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				sock->pending_err = errno;
			break;
		}
		if (n > 0) {
			memset((uint8_t *)buf + end, 0, off - end);
			end = off + n;
		}
	}
	return end;
}
