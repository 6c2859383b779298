// SPDX-License-Identifier: GPL-2.0
/*
 * afalg DRIVER TFMS SIZE CHUNK: AES-128-CBC through the kernel's AF_ALG
 * socket interface, on the skcipher driver DRIVER (like
 * virtio_crypto_aes_cbc).
 *
 * Opens TFMS transforms of DRIVER at once and keys each before the next:
 * virtio_crypto gives a new transform the device with the fewest users, so
 * two transforms of two devices run on one each. On each transform:
 *   1. the CBC-AES128 known answer of NIST SP 800-38A (F.2.1 and F.2.2);
 *   2. SIZE bytes of a pattern in requests of CHUNK bytes (at most 64 KiB),
 *      encrypted by DRIVER and by cbc(aes-generic), which must agree, then
 *      decrypted by DRIVER back to the pattern. The buffers are page
 *      aligned: a CHUNK of one page is one scatterlist entry each way.
 * Prints what differs and exits 1; exits 0 when all holds.
 */
#include <linux/if_alg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t key[16] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
};
static const uint8_t iv[16] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};
static const uint8_t plain[64] = {
	0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a,
	0xae, 0x2d, 0x8a, 0x57, 0x1e, 0x03, 0xac, 0x9c, 0x9e, 0xb7, 0x6f, 0xac, 0x45, 0xaf, 0x8e, 0x51,
	0x30, 0xc8, 0x1c, 0x46, 0xa3, 0x5c, 0xe4, 0x11, 0xe5, 0xfb, 0xc1, 0x19, 0x1a, 0x0a, 0x52, 0xef,
	0xf6, 0x9f, 0x24, 0x45, 0xdf, 0x4f, 0x9b, 0x17, 0xad, 0x2b, 0x41, 0x7b, 0xe6, 0x6c, 0x37, 0x10,
};
static const uint8_t cipher[64] = {
	0x76, 0x49, 0xab, 0xac, 0x81, 0x19, 0xb2, 0x46, 0xce, 0xe9, 0x8e, 0x9b, 0x12, 0xe9, 0x19, 0x7d,
	0x50, 0x86, 0xcb, 0x9b, 0x50, 0x72, 0x19, 0xee, 0x95, 0xdb, 0x11, 0x3a, 0x91, 0x76, 0x78, 0xb2,
	0x73, 0xbe, 0xd6, 0xb8, 0xe3, 0xc1, 0x74, 0x3b, 0x71, 0x16, 0xe6, 0x9e, 0x22, 0x22, 0x95, 0x16,
	0x3f, 0xf1, 0xca, 0xa1, 0x68, 0x1f, 0xac, 0x09, 0x12, 0x0e, 0xca, 0x30, 0x75, 0x86, 0xe1, 0xa7,
};

/* A keyed transform of @driver (its socket), or -1. */
static int tfm_open(const char *driver)
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG, .salg_type = "skcipher" };
	int fd = socket(AF_ALG, SOCK_SEQPACKET, 0);

	strncpy((char *)sa.salg_name, driver, sizeof(sa.salg_name) - 1);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, SOL_ALG, ALG_SET_KEY, key, sizeof(key))) {
		perror(driver);
		return -1;
	}
	return fd;
}

/* One request on transform @tfm: @len bytes of @in to @out. */
static int run(int tfm, int op, const uint8_t *in, uint8_t *out, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct af_alg_iv) + 16)] = { 0 };
	struct iovec io = { .iov_base = (void *)in, .iov_len = len };
	struct msghdr msg = {
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf), .msg_iov = &io, .msg_iovlen = 1,
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	struct af_alg_iv *aiv;
	int opfd = accept(tfm, NULL, 0);
	size_t got = 0;
	ssize_t n;

	if (opfd < 0)
		return -1;
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_OP;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	*(int *)CMSG_DATA(c) = op;
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_IV;
	c->cmsg_len = CMSG_LEN(sizeof(struct af_alg_iv) + 16);
	aiv = (struct af_alg_iv *)CMSG_DATA(c);
	aiv->ivlen = 16;
	memcpy(aiv->iv, iv, 16);
	if (sendmsg(opfd, &msg, 0) != (ssize_t)len) {
		close(opfd);
		return -1;
	}
	while (got < len && (n = read(opfd, out + got, len - got)) > 0)
		got += n;
	close(opfd);
	return got == len ? 0 : -1;
}

int main(int argc, char **argv)
{
	int tfms, generic, fd[8], k, bad = 0;
	size_t size, chunk, off;
	uint8_t *pat, *enc, *ref, *dec, out[64];

	if (argc != 5 || (tfms = atoi(argv[2])) < 1 || tfms > 8) {
		fprintf(stderr, "usage: %s DRIVER TFMS SIZE CHUNK\n", argv[0]);
		return 2;
	}
	size = strtoul(argv[3], NULL, 0) & ~(size_t)15;
	chunk = strtoul(argv[4], NULL, 0) & ~(size_t)15;
	if (!chunk || chunk > 65536 || posix_memalign((void **)&pat, 4096, size + 16) ||
	    posix_memalign((void **)&enc, 4096, size + 16) ||
	    posix_memalign((void **)&ref, 4096, size + 16) ||
	    posix_memalign((void **)&dec, 4096, size + 16))
		return 2;
	for (off = 0; off < size; off++)
		pat[off] = (uint8_t)(off * 31 + (off >> 8) * 7);
	for (k = 0; k < tfms; k++)
		if ((fd[k] = tfm_open(argv[1])) < 0)
			return 1;
	generic = tfm_open("cbc(aes-generic)");
	if (generic < 0)
		return 1;
	for (k = 0; k < tfms; k++) {
		if (run(fd[k], ALG_OP_ENCRYPT, plain, out, 64) || memcmp(out, cipher, 64)) {
			printf("transform %d: SP 800-38A F.2.1 encryption differs\n", k);
			bad = 1;
		}
		if (run(fd[k], ALG_OP_DECRYPT, cipher, out, 64) || memcmp(out, plain, 64)) {
			printf("transform %d: SP 800-38A F.2.2 decryption differs\n", k);
			bad = 1;
		}
		for (off = 0; off < size; off += chunk) {
			size_t len = size - off < chunk ? size - off : chunk;

			if (run(fd[k], ALG_OP_ENCRYPT, pat + off, enc + off, len) ||
			    run(generic, ALG_OP_ENCRYPT, pat + off, ref + off, len) ||
			    run(fd[k], ALG_OP_DECRYPT, enc + off, dec + off, len)) {
				printf("transform %d: a request at %zu failed\n", k, off);
				return 1;
			}
		}
		if (memcmp(enc, ref, size)) {
			printf("transform %d: %zu bytes encrypted differ from cbc(aes-generic)'s\n", k, size);
			bad = 1;
		}
		if (memcmp(dec, pat, size)) {
			printf("transform %d: %zu bytes do not decrypt back\n", k, size);
			bad = 1;
		}
	}
	if (!bad)
		printf("%d transform(s) of %s: known answers and %zu bytes in %zu-byte requests agree with cbc(aes-generic)\n",
		       tfms, argv[1], size, chunk);
	return bad;
}
