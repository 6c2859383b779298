// SPDX-License-Identifier: GPL-2.0
/*
 * Raw Ethernet frames from one network interface to another, checked byte
 * for byte (AF_PACKET: no IP stack needed):
 *
 *   rawframe OUT IN SIZE COUNT SEED
 *
 * Brings both interfaces up, raises their MTU to fit SIZE-byte frames
 * (header included), then sends COUNT frames of SIZE bytes from OUT to IN's
 * address, one at a time, and reads each on IN and compares it with what
 * was sent. Exit 0: all arrived intact; 1: a frame arrived wrong; 2: a frame
 * did not arrive within 2 s, or the setup failed.
 *
 *   rawframe flood OUT IN SIZE SECONDS
 *
 * Throughput (make bench): the same setup, then a child process sends
 * SIZE-byte frames from OUT to IN as fast as it can for SECONDS, while this
 * one receives them on IN until they stop coming. A frame counts only if it
 * arrives intact: its length, its header, a sequence number not seen before,
 * and a payload pattern of that number checked word by word. (Frames may
 * come out of order: under TCG, once queues fill, later frames have been
 * seen to pass earlier ones by up to a thousand.)
 * Prints "fps=... mbps=... cpu_s_per_mb=... sent=... received=... lost=...
 * bad=... reordered=... seconds=...": intact frames (and their bytes, header
 * included) per second from the first send to the last intact arrival; the
 * CPU time of all CPUs over the run (as odirect's bench) per MB received;
 * frames lost on the way (dropped by a full queue: the sender is not
 * paced); frames that arrived wrong; intact frames that came after a later
 * one. Exit 0: frames arrived and all intact; 1: a frame arrived wrong (the
 * first few described on stderr); 2: none arrived, or the setup failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* IEEE's "local experimental" EtherType: nothing else in the guest uses it. */
#define ETH_P_RDMA_TEST 0x88b5
#define MAX_FRAME 9018

struct iface {
	const char *name;
	int index;
	unsigned char mac[ETH_ALEN];
};

static int setup(int ctl, struct iface *i, int mtu)
{
	struct ifreq r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", i->name);
	if (ioctl(ctl, SIOCGIFINDEX, &r) < 0)
		return perror(i->name), -1;
	i->index = r.ifr_ifindex;
	if (ioctl(ctl, SIOCGIFHWADDR, &r) < 0)
		return perror("SIOCGIFHWADDR"), -1;
	memcpy(i->mac, r.ifr_hwaddr.sa_data, ETH_ALEN);
	r.ifr_mtu = mtu;
	if (ioctl(ctl, SIOCSIFMTU, &r) < 0)
		return fprintf(stderr, "%s: MTU %d: %s\n", i->name, mtu, strerror(errno)), -1;
	if (ioctl(ctl, SIOCGIFFLAGS, &r) < 0)
		return perror("SIOCGIFFLAGS"), -1;
	r.ifr_flags |= IFF_UP;
	if (ioctl(ctl, SIOCSIFFLAGS, &r) < 0)
		return perror("SIOCSIFFLAGS"), -1;
	return 0;
}

static int bound_socket(const struct iface *i)
{
	struct sockaddr_ll a = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_RDMA_TEST),
		.sll_ifindex = i->index,
	};
	struct timeval tv = { .tv_sec = 2 };
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_RDMA_TEST));

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return perror("AF_PACKET socket"), -1;
	return s;
}

/* Frame n's bytes after the header: its number, then a pattern of it and SEED. */
static void fill(unsigned char *p, size_t len, uint32_t seed, uint32_t n)
{
	uint32_t x = seed * 2654435761u ^ n * 40503u ^ 0x9e3779b9u;
	size_t k;

	memcpy(p, &n, sizeof(n));
	for (k = sizeof(n); k < len; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[k] = (unsigned char)x;
	}
}

/*
 * flood: frame n's payload (after the 14-byte header) is 64-bit words: n,
 * then the words of a fixed pseudo-random pattern each XORed with a mix of
 * n, the last word cut to the frame's length. The buffers start 2 bytes into
 * 8-byte words, so that the payload is aligned.
 */
#define BATCH 16
#define WORDS ((MAX_FRAME - ETH_HLEN) / 8 + 2)
/* Frame numbers a run can tell apart (each seen once): far more than a run
 * of seconds sends under TCG. */
#define MAX_FRAMES (1u << 24)

static uint64_t pattern[WORDS];

struct frame {
	uint64_t w[WORDS + 2];
};

static unsigned char *frame_bytes(struct frame *f)
{
	return (unsigned char *)f->w + 8 - ETH_HLEN % 8;
}

static uint64_t mix(uint64_t n)
{
	return (n + 1) * 0x9e3779b97f4a7c15ull;
}

static void flood_fill(struct frame *f, size_t size, uint64_t n)
{
	uint64_t *p = f->w + 2, m = mix(n);
	size_t k, words = (size - ETH_HLEN + 7) / 8;

	p[0] = n;
	for (k = 1; k < words; k++)
		p[k] = pattern[k] ^ m;
}

/* Whether frame f of `got` bytes is frame n of SIZE bytes, intact. */
static int flood_intact(const struct frame *f, ssize_t got, size_t size,
			const unsigned char *header, uint64_t n)
{
	const uint64_t *p = f->w + 2;
	uint64_t m = mix(n), last;
	size_t k, full = (size - ETH_HLEN) / 8, tail = (size - ETH_HLEN) % 8;

	if (got != (ssize_t)size || memcmp(frame_bytes((struct frame *)f), header, ETH_HLEN))
		return 0;
	for (k = 1; k < full; k++)
		if (p[k] != (pattern[k] ^ m))
			return 0;
	last = pattern[full] ^ m;
	return !tail || !memcmp(&p[full], &last, tail);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* All CPUs' busy time so far (user, system, interrupts), as odirect.c's. */
static double busy_seconds(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int ok;

	if (!f)
		return 0;
	ok = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		    &v[3], &v[4], &v[5], &v[6], &v[7]) == 8;
	fclose(f);
	/* user nice system idle iowait irq softirq steal: all but idle and iowait */
	return ok ? (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / sysconf(_SC_CLK_TCK) : 0;
}

/* The sender: frames 0, 1, ... for SECS seconds; writes how many it sent to fd. */
static int flood_send(int tx, int fd, size_t size, const unsigned char *header, double secs)
{
	static struct frame f[BATCH];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	uint64_t sent = 0;
	double end = now() + secs;
	int k, n;

	for (k = 0; k < BATCH; k++) {
		memcpy(frame_bytes(&f[k]), header, ETH_HLEN);
		iov[k].iov_base = frame_bytes(&f[k]);
		iov[k].iov_len = size;
		memset(&msg[k], 0, sizeof(msg[k]));
		msg[k].msg_hdr.msg_iov = &iov[k];
		msg[k].msg_hdr.msg_iovlen = 1;
	}
	while (now() < end) {
		for (k = 0; k < BATCH; k++)
			flood_fill(&f[k], size, sent + k);
		n = sendmmsg(tx, msg, BATCH, 0);
		if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			return perror("sendmmsg"), 2;
		/* Frames not taken (a full queue) go again with the same
		 * numbers, after a pause: a sender that spins takes a host CPU
		 * from QEMU, which is what empties the queue. */
		if (n > 0)
			sent += n;
		if (n < BATCH)
			usleep(100);
	}
	return write(fd, &sent, sizeof(sent)) == sizeof(sent) ? 0 : 2;
}

static int flood(const char *out_name, const char *in_name, size_t size, double secs)
{
	static struct frame f[BATCH];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	unsigned char header[ETH_HLEN];
	struct ethhdr *h = (struct ethhdr *)header;
	struct timeval tv = { .tv_usec = 200000 }, stv = { .tv_sec = 1 };
	uint64_t x = 0x2545f4914f6cdd1dull, sent = 0, good = 0, bad = 0, next = 0, late = 0;
	unsigned char *seen = calloc(MAX_FRAMES / 8, 1);
	double t0, last, cpu0, cpu1, elapsed, mb;
	struct iface o = { .name = out_name }, i = { .name = in_name };
	int ctl, tx, rx, mtu, k, n, pipefd[2], status, done = 0, buf = 4 << 20;
	pid_t child;

	if (size < ETH_ZLEN || size > MAX_FRAME - 4)
		return fprintf(stderr, "SIZE must be %d..%d\n", ETH_ZLEN, MAX_FRAME - 4), 2;
	for (k = 0; k < WORDS; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pattern[k] = x;
	}
	mtu = size - ETH_HLEN > ETH_DATA_LEN ? (int)(size - ETH_HLEN) : ETH_DATA_LEN;
	ctl = socket(AF_PACKET, SOCK_DGRAM, 0);
	if (ctl < 0 || setup(ctl, &o, mtu) || setup(ctl, &i, mtu))
		return 2;
	tx = bound_socket(&o);
	rx = bound_socket(&i);
	if (tx < 0 || rx < 0 || !seen || pipe(pipefd))
		return 2;
	/* Room for a burst on the receiving socket; on the sending one, for
	 * about as many frames in flight as the NIC's ring holds (256: each
	 * frame's buffer counts 4 KiB and more), so that the sender sleeps
	 * until the NIC is done with some, rather than finding the device's
	 * queue full (best effort); and a short timeout: the end of the run is
	 * 200 ms without a frame. */
	setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	buf = 1 << 20;
	setsockopt(tx, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	/* A sender that blocks (no room to send) wakes up each second, to see
	 * whether its time is up. */
	if (setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(tx, SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof(stv)) < 0)
		return perror("SO_RCVTIMEO"), 2;
	memcpy(h->h_dest, i.mac, ETH_ALEN);
	memcpy(h->h_source, o.mac, ETH_ALEN);
	h->h_proto = htons(ETH_P_RDMA_TEST);
	for (k = 0; k < BATCH; k++) {
		iov[k].iov_base = frame_bytes(&f[k]);
		iov[k].iov_len = MAX_FRAME;
		memset(&msg[k], 0, sizeof(msg[k]));
		msg[k].msg_hdr.msg_iov = &iov[k];
		msg[k].msg_hdr.msg_iovlen = 1;
	}
	usleep(200000);

	cpu0 = busy_seconds();
	t0 = last = now();
	child = fork();
	if (child < 0)
		return perror("fork"), 2;
	if (child == 0) {
		close(pipefd[0]);
		_exit(flood_send(tx, pipefd[1], size, header, secs));
	}
	close(pipefd[1]);
	/* Receive until the sender is done and no frame came for 200 ms (or,
	 * should frames never stop, for long past the run's end). */
	while (now() < t0 + secs + 30) {
		n = recvmmsg(rx, msg, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return perror("recvmmsg"), 2;
			if (done || waitpid(child, &status, WNOHANG) == child)
				if (done++)
					break;
			continue;
		}
		for (k = 0; k < n; k++) {
			const uint64_t seq = f[k].w[2];

			/* Each number once, intact. */
			if (seq < MAX_FRAMES && !(seen[seq / 8] & 1 << seq % 8) &&
			    flood_intact(&f[k], msg[k].msg_len, size, header, seq)) {
				seen[seq / 8] |= 1 << seq % 8;
				good++;
				if (seq < next)
					late++;
				else
					next = seq + 1;
				last = now();
			} else if (bad++ < 3) {
				/* The first few, to tell a mix-up from damage. */
				static struct frame e;
				const unsigned char *b = frame_bytes(&f[k]);
				unsigned int at;

				memcpy(frame_bytes(&e), header, ETH_HLEN);
				flood_fill(&e, size, seq);
				for (at = 0; at < msg[k].msg_len && at < size; at++)
					if (b[at] != frame_bytes(&e)[at])
						break;
				fprintf(stderr, "wrong frame: %u bytes, number %llu (%s; next in order %llu), "
					"first differing byte %u\n", msg[k].msg_len, (unsigned long long)seq,
					seq < MAX_FRAMES && seen[seq / 8] & 1 << seq % 8 ? "seen before" : "new",
					(unsigned long long)next, at);
			}
		}
	}
	cpu1 = busy_seconds();
	if (!done) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		return fprintf(stderr, "frames still came %.0f s after the end, or the sender hung\n",
			       now() - t0 - secs), 2;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) ||
	    read(pipefd[0], &sent, sizeof(sent)) != sizeof(sent))
		return fprintf(stderr, "the sender failed\n"), 2;
	elapsed = last - t0;
	mb = good * (double)size / 1e6;
	printf("fps=%.0f mbps=%.2f cpu_s_per_mb=%.5f sent=%llu received=%llu lost=%llu bad=%llu "
	       "reordered=%llu seconds=%.2f\n",
	       good / elapsed, mb / elapsed, good ? (cpu1 - cpu0) / mb : 0.0,
	       (unsigned long long)sent, (unsigned long long)good,
	       (unsigned long long)(sent > good + bad ? sent - good - bad : 0),
	       (unsigned long long)bad, (unsigned long long)late, elapsed);
	if (bad)
		fprintf(stderr, "%llu frames of %zu bytes arrived on %s wrong\n",
			(unsigned long long)bad, size, i.name);
	return bad ? 1 : good ? 0 : 2;
}

int main(int argc, char **argv)
{
	static unsigned char out[MAX_FRAME], in[MAX_FRAME];
	struct iface o, i;
	size_t size;
	long count, n;
	uint32_t seed;
	int ctl, tx, rx, mtu;

	if (argc == 6 && !strcmp(argv[1], "flood"))
		return flood(argv[2], argv[3], strtoul(argv[4], NULL, 0), strtod(argv[5], NULL));
	if (argc != 6) {
		fprintf(stderr, "usage: %s OUT IN SIZE COUNT SEED\n"
				"       %s flood OUT IN SIZE SECONDS\n", argv[0], argv[0]);
		return 2;
	}
	o.name = argv[1];
	i.name = argv[2];
	size = strtoul(argv[3], NULL, 0);
	count = strtol(argv[4], NULL, 0);
	seed = strtoul(argv[5], NULL, 0);
	if (size < ETH_ZLEN || size > MAX_FRAME - 4)
		return fprintf(stderr, "SIZE must be %d..%d\n", ETH_ZLEN, MAX_FRAME - 4), 2;
	mtu = size - ETH_HLEN > ETH_DATA_LEN ? (int)(size - ETH_HLEN) : ETH_DATA_LEN;
	ctl = socket(AF_PACKET, SOCK_DGRAM, 0);
	if (ctl < 0 || setup(ctl, &o, mtu) || setup(ctl, &i, mtu))
		return 2;
	tx = bound_socket(&o);
	rx = bound_socket(&i);
	if (tx < 0 || rx < 0)
		return 2;
	/* The links come up at once (virtio-net has no carrier delay); be sure. */
	usleep(200000);
	/* A NIC on a hub that was down until now gets what the hub held for it
	 * as it comes up: every frame flooded to it meanwhile. Drop those
	 * before sending, or they fill the socket and ours is lost behind. */
	while (recv(rx, in, sizeof(in), MSG_DONTWAIT) >= 0)
		;
	for (n = 0; n < count; n++) {
		struct ethhdr *h = (struct ethhdr *)out;
		ssize_t got;

		memcpy(h->h_dest, i.mac, ETH_ALEN);
		memcpy(h->h_source, o.mac, ETH_ALEN);
		h->h_proto = htons(ETH_P_RDMA_TEST);
		fill(out + ETH_HLEN, size - ETH_HLEN, seed, n);
		if (send(tx, out, size, 0) != (ssize_t)size)
			return perror("send"), 2;
		for (;;) {
			got = recv(rx, in, sizeof(in), 0);
			if (got < 0)
				return fprintf(stderr, "frame %ld of %zu bytes did not arrive on %s: %s\n",
					       n, size, i.name, strerror(errno)), 2;
			/* A frame for another NIC on the hub, which floods every
			 * frame to every port (QEMU holds them for a NIC that is
			 * not up yet, and hands them over once it is)? A frame
			 * of ours with a damaged header never arrives: then the
			 * wait above runs out. */
			if (got >= ETH_HLEN && (memcmp(in, i.mac, ETH_ALEN) ||
						memcmp(in + ETH_ALEN, o.mac, ETH_ALEN)))
				continue;
			/* Another frame of ours, late (a retry of an earlier round)? */
			if (got >= ETH_HLEN + 4 && memcmp(in + ETH_HLEN, &n, 4))
				continue;
			break;
		}
		if ((size_t)got != size || memcmp(in, out, size)) {
			fprintf(stderr, "frame %ld: %zd bytes arrived on %s, %zu sent, or different bytes\n",
				n, got, i.name, size);
			return 1;
		}
	}
	printf("%ld frames of %zu bytes from %s to %s intact\n", count, size, o.name, i.name);
	return 0;
}
