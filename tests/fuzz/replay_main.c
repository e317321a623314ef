/*
 * replay_main.c - run a libFuzzer harness over files, without libFuzzer.
 *
 * `make check` links each tests/fuzz/fuzz_*.c with this main and replays
 * the committed seed corpus, every crash found so far (tests/fuzz/crashes/)
 * and the bad-input corpus (tests/corpus/), under the sanitizers. A crash
 * or sanitizer report kills the process, which the test runner counts as a
 * failure. Arguments are files or directories (one level deep; missing
 * directories are skipped: a harness may not have crashes yet).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fsutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static int replayed;

static void
replay_file(const char *path)
{
	char *buf, err[256];
	size_t len;

	if (fsutil_read_file(path, 64 * 1024 * 1024, &buf, &len, err,
	    sizeof(err)) != FSREAD_OK) {
		fprintf(stderr, "skip %s\n", err);
		return;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	replayed++;
}

static void
replay(const char *path, int depth)
{
	struct dirent **ents;
	struct stat st;
	char sub[4096];
	int n, i;

	if (lstat(path, &st) == -1)
		return;
	if (S_ISREG(st.st_mode)) {
		replay_file(path);
		return;
	}
	if (!S_ISDIR(st.st_mode) || depth > 1)
		return;
	if ((n = scandir(path, &ents, NULL, alphasort)) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' &&
		    strcmp(ents[i]->d_name, "README") != 0) {
			snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
			replay(sub, depth + 1);
		}
		free(ents[i]);
	}
	free(ents);
}

int
main(int argc, char **argv)
{
	int i;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++)
		replay(argv[i], 0);
	printf("# passed %d failed %d\n", replayed, replayed == 0);
	return replayed == 0;
}
