// SPDX-License-Identifier: GPL-2.0
/*
 * O_DIRECT round trips on a block device, so that every byte goes through
 * the device's DMA path (for restricted_dma: through its bounce pool).
 *
 *   odirect roundtrip DEV SIZE MISALIGN OFFSET SEED
 *	write SIZE bytes of a pattern from a user buffer that starts MISALIGN
 *	bytes into a page, at byte OFFSET of DEV; read them back into another
 *	buffer with the same misalignment; compare.
 *   odirect stress DEV SECONDS WORKERS SPAN [MAXSIZE]
 *	WORKERS processes, each owning SPAN bytes of DEV, write and read back
 *	random sizes (512 B to MAXSIZE, default 256 KiB) at random offsets of
 *	their span for SECONDS, verifying every block.
 *   odirect marker read|write DEV SIZE OFFSET
 *	one O_DIRECT transfer of SIZE bytes at OFFSET from or to a buffer full
 *	of the marker "RECEIVE!": a read shows whether the buffer's old
 *	contents reached the device (the host looks for the marker in what it
 *	is given to fill), a write is the control (the marker must reach it).
 *   odirect bench DEV seq|rand read|write BS SECONDS
 *	BS-sized O_DIRECT transfers, one at a time, for SECONDS, over the first
 *	32 MiB of DEV; prints "mbps=... cpu_s_per_mb=..." (make bench). The CPU
 *	time is all CPUs' busy time (user, system, interrupts) from /proc/stat
 *	over the run: the cost of moving the bytes, bouncing included.
 *
 * Exit status: 0 all intact, 1 data mismatch, 2 an I/O error (errno printed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SECTOR 512
#define PAGE 4096

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the seed, no libc state. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
	rng_state = seed | 1;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)rnd();
}

static unsigned char *buffer(size_t size, size_t misalign)
{
	void *p;

	if (posix_memalign(&p, PAGE, size + misalign + PAGE)) {
		perror("posix_memalign");
		exit(2);
	}
	return (unsigned char *)p + misalign;
}

static int io(int fd, unsigned char *buf, size_t size, off_t off, int write)
{
	ssize_t n = write ? pwrite(fd, buf, size, off) : pread(fd, buf, size, off);

	if (n != (ssize_t)size) {
		fprintf(stderr, "%s of %zu at %lld: %s\n", write ? "write" : "read", size,
			(long long)off, n < 0 ? strerror(errno) : "short transfer");
		return 2;
	}
	return 0;
}

static int roundtrip(int fd, size_t size, size_t misalign, off_t off, uint64_t seed)
{
	unsigned char *out = buffer(size, misalign), *in = buffer(size, misalign);
	int ret;

	fill(out, size, seed);
	memset(in, 0xa5, size);
	ret = io(fd, out, size, off, 1);
	if (!ret)
		ret = io(fd, in, size, off, 0);
	if (!ret && memcmp(out, in, size)) {
		for (size_t i = 0; i < size; i++)
			if (out[i] != in[i]) {
				fprintf(stderr, "mismatch at byte %zu of %zu (offset %lld)\n",
					i, size, (long long)off);
				break;
			}
		ret = 1;
	}
	free(out - misalign);
	free(in - misalign);
	return ret;
}

static int stress_worker(const char *dev, int secs, int id, off_t span, size_t maxsize)
{
	int fd = open(dev, O_RDWR | O_DIRECT);
	time_t end = time(NULL) + secs;
	unsigned long rounds = 0;
	int ret = 0;

	if (fd < 0) {
		perror(dev);
		return 2;
	}
	rng_state = 0x9e3779b97f4a7c15ULL * (id + 1);
	while (!ret && time(NULL) < end) {
		uint64_t r = rnd();
		size_t size = SECTOR * (1 + r % (maxsize / SECTOR));
		size_t misalign = SECTOR * ((r >> 20) % 8);	/* 0 .. 3.5 KiB into a page */
		off_t off = (off_t)id * span + SECTOR * ((r >> 32) % ((span - size) / SECTOR));
		uint64_t seed = rnd();

		ret = roundtrip(fd, size, misalign, off, seed);
		rng_state = seed ^ rounds;
		rounds++;
	}
	close(fd);
	printf("worker %d: %lu round trips, %s\n", id, rounds, ret ? "FAILED" : "intact");
	return ret;
}

static double busy_seconds(void)
{
	unsigned long long v[10] = { 0 }, busy;
	FILE *f = fopen("/proc/stat", "r");

	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			 &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	/* user nice system idle iowait irq softirq steal: all but idle and iowait */
	busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return (double)busy / sysconf(_SC_CLK_TCK);
}

static int bench(const char *dev, int random, int write, size_t bs, int secs)
{
	const off_t span = 32 << 20;
	unsigned char *buf = buffer(bs, 0);
	int fd = open(dev, O_RDWR | O_DIRECT);
	struct timespec t0, t1;
	double cpu0, cpu1, elapsed, mb;
	unsigned long long bytes = 0;
	off_t off = 0;
	time_t end;

	if (fd < 0) {
		perror(dev);
		return 2;
	}
	fill(buf, bs, 1);
	rng_state = 12345;
	cpu0 = busy_seconds();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		if (random)
			off = (off_t)bs * (rnd() % (span / bs));
		else if ((off += bs) + (off_t)bs > span)
			off = 0;
		if (io(fd, buf, bs, off, write))
			return 2;
		bytes += bs;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cpu1 = busy_seconds();
	close(fd);
	elapsed = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	mb = bytes / 1e6;
	printf("mbps=%.2f cpu_s_per_mb=%.5f bytes=%llu seconds=%.2f\n", mb / elapsed,
	       (cpu1 - cpu0) / mb, bytes, elapsed);
	return 0;
}

#define MARKER "RECEIVE!"

static int marker(const char *dev, int write, size_t size, off_t off)
{
	int fd = open(dev, O_RDWR | O_DIRECT), ret;
	unsigned char *buf = buffer(size, 0);

	if (fd < 0) {
		perror(dev);
		return 2;
	}
	for (size_t i = 0; i < size; i++)
		buf[i] = MARKER[i % (sizeof(MARKER) - 1)];
	ret = io(fd, buf, size, off, write);
	close(fd);
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "marker"))
		return marker(argv[3], !strcmp(argv[2], "write"), strtoul(argv[4], NULL, 0),
			      strtoll(argv[5], NULL, 0));
	if (argc == 7 && !strcmp(argv[1], "bench"))
		return bench(argv[2], !strcmp(argv[3], "rand"), !strcmp(argv[4], "write"),
			     strtoul(argv[5], NULL, 0), atoi(argv[6]));
	if (argc == 7 && !strcmp(argv[1], "roundtrip")) {
		int fd = open(argv[2], O_RDWR | O_DIRECT), ret;

		if (fd < 0) {
			perror(argv[2]);
			return 2;
		}
		ret = roundtrip(fd, strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0),
				strtoll(argv[5], NULL, 0), strtoull(argv[6], NULL, 0));
		close(fd);
		return ret;
	}
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "stress")) {
		int secs = atoi(argv[3]), workers = atoi(argv[4]), ret = 0, status;
		off_t span = strtoll(argv[5], NULL, 0);
		size_t maxsize = argc == 7 ? strtoul(argv[6], NULL, 0) : 262144;

		if (maxsize < SECTOR || (off_t)maxsize >= span) {
			fprintf(stderr, "MAXSIZE must be at least %d and below SPAN\n", SECTOR);
			return 2;
		}

		for (int i = 0; i < workers; i++)
			if (fork() == 0)
				exit(stress_worker(argv[2], secs, i, span, maxsize));
		while (wait(&status) > 0)
			if (!WIFEXITED(status) || WEXITSTATUS(status) > ret)
				ret = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
		return ret;
	}
	fprintf(stderr, "usage: %s roundtrip DEV SIZE MISALIGN OFFSET SEED\n"
			"       %s stress DEV SECONDS WORKERS SPAN [MAXSIZE]\n"
			"       %s marker read|write DEV SIZE OFFSET\n"
			"       %s bench DEV seq|rand read|write BS SECONDS\n", argv[0], argv[0], argv[0], argv[0]);
	return 2;
}
