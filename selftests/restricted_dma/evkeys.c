// SPDX-License-Identifier: GPL-2.0
/*
 * evkeys: the keys an evdev device reports, as the kernel's input layer
 * delivers them from a virtio-input device's event buffers.
 *
 *   evkeys DEVICE SECONDS
 *
 * Prints one line "CODE VALUE" per EV_KEY event (value 1: down, 0: up)
 * until SECONDS pass with no event; exits 1 if DEVICE cannot be read.
 */
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct input_event ev;
	struct pollfd p;
	int secs;

	if (argc != 3) {
		fprintf(stderr, "usage: evkeys DEVICE SECONDS\n");
		return 2;
	}
	secs = atoi(argv[2]);
	p.fd = open(argv[1], O_RDONLY);
	if (p.fd < 0) {
		perror(argv[1]);
		return 1;
	}
	p.events = POLLIN;
	while (poll(&p, 1, secs * 1000) > 0) {
		if (read(p.fd, &ev, sizeof(ev)) != sizeof(ev)) {
			perror("read");
			return 1;
		}
		if (ev.type == EV_KEY)
			printf("%u %d\n", ev.code, ev.value);
		fflush(stdout);
	}
	return 0;
}
