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
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
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

int main(int argc, char **argv)
{
	static unsigned char out[MAX_FRAME], in[MAX_FRAME];
	struct iface o, i;
	size_t size;
	long count, n;
	uint32_t seed;
	int ctl, tx, rx, mtu;

	if (argc != 6) {
		fprintf(stderr, "usage: %s OUT IN SIZE COUNT SEED\n", argv[0]);
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
