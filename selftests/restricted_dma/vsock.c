// SPDX-License-Identifier: GPL-2.0
/*
 * vsock: one AF_VSOCK stream between the guest and the host.
 *
 *   vsock send CID PORT
 *
 * Connects to CID (2: the host) on PORT, sends stdin, then reads the peer's
 * answer, one line, writes it to stdout and closes.
 *
 *   vsock recv PORT SIZE
 *
 * Listens on PORT (any CID), says "vsock: listening on PORT" on stderr once
 * it does, accepts one connection, writes the SIZE bytes it receives to
 * stdout and closes.
 *
 * Either way the guest closes first, once it has what it expects: the
 * sizes are known up front, since vhost-device-vsock does not pass a
 * half-close on, and its own close of a stream races with the last packets
 * (the guest may see a reset before the end of the data).
 *
 *   vsock cid
 *
 * Prints this guest's own context id (/dev/vsock).
 *
 * Exit 0: done; 1: the connection failed or ended early (why, and how many
 * bytes came, on stderr); 2: usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static char buf[65536];

/*
 * What one write() to the socket sends at most, so that every packet of
 * ours lies in one buffer. The kernel sends a write as packets of up to
 * 64 KiB, and one whose payload exceeds 32 KiB less the skb's overhead in
 * page fragments (6.12.117's virtio_vsock_alloc_skb), one descriptor each:
 * vhost-device-vsock 0.3.0 takes a payload from one descriptor only, and
 * drops such a packet (DescriptorLengthTooSmall, logged at debug level).
 */
#define SOCK_CHUNK 16384

/* write_all FD MAX: all of LEN bytes of buf, at most MAX bytes a write(), or -1. */
static int write_all(int fd, size_t len, size_t max)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off < max ? len - off : max);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += n;
	}
	return 0;
}

/* Sends stdin on S, then copies the answer, one line, to stdout. */
static int send_stdin(int s)
{
	size_t sent = 0, got = 0;
	ssize_t n;
	char c;

	while ((n = read(0, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("read stdin");
			return 1;
		}
		if (write_all(s, n, SOCK_CHUNK)) {
			fprintf(stderr, "vsock: send failed after %zu bytes: %s\n", sent, strerror(errno));
			return 1;
		}
		sent += n;
	}
	/* The answer: byte by byte, it is short. */
	for (;;) {
		n = read(s, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "vsock: answer ended after %zu bytes: %s\n", got,
				n ? strerror(errno) : "closed");
			return 1;
		}
		got++;
		putchar(c);
		if (c == '\n')
			return 0;
	}
}

/* Copies SIZE bytes of S to stdout. */
static int recv_size(int s, unsigned long long size)
{
	unsigned long long got = 0;

	while (got < size) {
		size_t want = size - got < sizeof(buf) ? size - got : sizeof(buf);
		ssize_t n = read(s, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "vsock: stream ended after %llu of %llu bytes: %s\n", got, size,
				n ? strerror(errno) : "closed");
			return 1;
		}
		if (write_all(1, n, sizeof(buf))) {
			perror("write stdout");
			return 1;
		}
		got += n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK };
	int s, c, rc;

	/* A peer gone shows as an error of write(), not as a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && !strcmp(argv[1], "cid")) {
		unsigned int cid;
		int fd = open("/dev/vsock", O_RDONLY);

		if (fd < 0 || ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0) {
			perror("/dev/vsock");
			return 1;
		}
		printf("%u\n", cid);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "send")) {
		a.svm_cid = strtoul(argv[2], NULL, 0);
		a.svm_port = strtoul(argv[3], NULL, 0);
		s = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("connect");
			return 1;
		}
		rc = send_stdin(s);
		close(s);
		return rc;
	}
	if (argc == 4 && !strcmp(argv[1], "recv")) {
		a.svm_cid = VMADDR_CID_ANY;
		a.svm_port = strtoul(argv[2], NULL, 0);
		s = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0) {
			perror("listen");
			return 1;
		}
		fprintf(stderr, "vsock: listening on %u\n", a.svm_port);
		c = accept(s, NULL, NULL);
		if (c < 0) {
			perror("accept");
			return 1;
		}
		close(s);
		rc = recv_size(c, strtoull(argv[3], NULL, 0));
		close(c);
		return rc;
	}
	fprintf(stderr, "usage: vsock send CID PORT | vsock recv PORT SIZE | vsock cid\n");
	return 2;
}
