// SPDX-License-Identifier: GPL-2.0
/*
 * fbdraw FB SEED: draws the test pattern of SEED on framebuffer device FB
 * (32 bits a pixel), whole, as a program that draws on fbdev does: it sets
 * the mode, maps the framebuffer and writes it. The DRM fbdev emulation's
 * deferred I/O then flushes the pages written, a few jiffies later: for
 * virtio-gpu, a transfer to the host of the framebuffer, its pages synced
 * for the device first, and a flush. The host computes the same pattern
 * from SEED and compares QEMU's screendump (check.sh). Pixel (x, y) is red
 * (7x + SEED), green (13y + 3 SEED), blue (x ^ y ^ SEED), each mod 256.
 * Prints the mode it drew on.
 */
#include <fcntl.h>
#include <linux/fb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct fb_var_screeninfo var;
	struct fb_fix_screeninfo fix;
	unsigned int seed, x, y;
	uint8_t *fb;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FB SEED\n", argv[0]);
		return 2;
	}
	seed = strtoul(argv[2], NULL, 0);
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || ioctl(fd, FBIOGET_VSCREENINFO, &var) || ioctl(fd, FBIOGET_FSCREENINFO, &fix)) {
		perror(argv[1]);
		return 1;
	}
	if (var.bits_per_pixel != 32) {
		fprintf(stderr, "%s: %u bits a pixel, not 32\n", argv[1], var.bits_per_pixel);
		return 1;
	}
	/* Set the mode (no console has): the display scans out this framebuffer. */
	var.activate = FB_ACTIVATE_NOW | FB_ACTIVATE_FORCE;
	if (ioctl(fd, FBIOPUT_VSCREENINFO, &var)) {
		perror("FBIOPUT_VSCREENINFO");
		return 1;
	}
	fb = mmap(NULL, fix.smem_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fb == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (y = 0; y < var.yres; y++) {
		uint32_t *row = (uint32_t *)(fb + (size_t)y * fix.line_length);

		for (x = 0; x < var.xres; x++)
			row[x] = ((x * 7 + seed) & 255) << var.red.offset |
				 ((y * 13 + seed * 3) & 255) << var.green.offset |
				 ((x ^ y ^ seed) & 255) << var.blue.offset;
	}
	printf("%s: drew %ux%u (line %u bytes) with seed %u\n", argv[1], var.xres, var.yres,
	       fix.line_length, seed);
	munmap(fb, fix.smem_len);
	close(fd);
	return 0;
}
