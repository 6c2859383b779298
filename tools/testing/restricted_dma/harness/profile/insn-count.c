// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin for `make bench-profile` (harness/profile.sh): how many
 * times the guest executed each instruction of the kernel (every address at
 * or above `lo`, by default the arm64 kernel's half) between a start mark
 * and a stop mark, two hints that arm64 executes as nops (`hint #0x7e`,
 * `hint #0x7f`: rdma_test's profile_mark(), around its cost command's timed
 * loop). At exit it writes one line per instruction counted, "ADDRESS COUNT"
 * in hex and decimal, and "# windows N", to `out`.
 *
 * Each instruction's count is an inline add, no callback, so the guest runs
 * at about its speed without the plugin; the marks snapshot the counts, and
 * what was added in between is kept. With one vCPU under -icount nothing
 * else runs in the window (the loop keeps interrupts off), so the counts are
 * exact and the same on every run.
 *
 * QEMU installs no plugin header (Debian's qemu-system-arm 7.2 has none):
 * the few entry points used are declared here as that release's plugin API
 * (version 1) defines them.
 *
 *   qemu-system-aarch64 ... -plugin file=insn-count.so,out=FILE[,lo=HEX]
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int, void *);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t, void *);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, qemu_plugin_vcpu_tb_trans_cb_t);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *, enum qemu_plugin_op,
						void *, uint64_t);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *,
					    qemu_plugin_vcpu_udata_cb_t,
					    enum qemu_plugin_cb_flags, void *);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, qemu_plugin_udata_cb_t, void *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* HINT #imm is 0xd503201f | imm << 5. */
#define MARK_START (0xd503201fu | 0x7eu << 5)
#define MARK_STOP (0xd503201fu | 0x7fu << 5)

/* Open addressing, one entry an instruction address; a kernel's boot and a
 * bench touch well under a million. */
#define SLOTS (1u << 21)
struct entry {
	uint64_t addr; /* 0: empty */
	uint64_t count; /* every execution */
	uint64_t base; /* count at the last start mark */
	uint64_t kept; /* what the windows added */
};
static struct entry *table;
static uint64_t lo = 0xffff000000000000ull;
static const char *out;
static int full, open_window;
static unsigned long windows;

static struct entry *entry_of(uint64_t addr)
{
	uint64_t h = (addr >> 2) * 0x9e3779b97f4a7c15ull;
	unsigned int i = (unsigned int)(h >> 43), n;

	for (n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
		if (table[i].addr == addr)
			return &table[i];
		if (!table[i].addr) {
			table[i].addr = addr;
			return &table[i];
		}
	}
	return NULL;
}

static void mark(unsigned int vcpu, void *start)
{
	unsigned int i;

	(void)vcpu;
	if (!start && !open_window)
		return;
	for (i = 0; i < SLOTS; i++) {
		if (start)
			table[i].base = table[i].count;
		else
			table[i].kept += table[i].count - table[i].base;
	}
	open_window = start != NULL;
	windows += !start;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t addr = qemu_plugin_insn_vaddr(insn);
		struct entry *e;
		uint32_t word;

		if (addr < lo)
			continue;
		if (qemu_plugin_insn_size(insn) == 4) {
			memcpy(&word, qemu_plugin_insn_data(insn), 4);
			if (word == MARK_START || word == MARK_STOP)
				qemu_plugin_register_vcpu_insn_exec_cb(
					insn, mark, QEMU_PLUGIN_CB_NO_REGS,
					word == MARK_START ? (void *)1 : NULL);
		}
		e = entry_of(addr);
		if (!e) {
			full = 1;
			continue;
		}
		qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
							   &e->count, 1);
	}
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
	FILE *f = fopen(out, "w");
	unsigned int i;

	(void)id;
	(void)p;
	if (!f) {
		perror(out);
		return;
	}
	if (full)
		fprintf(f, "# table full: some instructions not counted\n");
	fprintf(f, "# windows %lu\n", windows);
	for (i = 0; i < SLOTS; i++)
		if (table[i].kept)
			fprintf(f, "%" PRIx64 " %" PRIu64 "\n", table[i].addr, table[i].kept);
	fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
							       const struct qemu_info_t *info,
							       int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			out = argv[i] + 4;
		else if (!strncmp(argv[i], "lo=", 3))
			lo = strtoull(argv[i] + 3, NULL, 16);
		else {
			fprintf(stderr, "insn-count: unknown argument %s\n", argv[i]);
			return -1;
		}
	}
	table = calloc(SLOTS, sizeof(*table));
	if (!out || !table) {
		fprintf(stderr, "insn-count: usage: out=FILE[,lo=HEX]\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
