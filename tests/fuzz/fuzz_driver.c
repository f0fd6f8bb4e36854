/*
 * Runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer:
 * how the regression inputs in tests/data/fuzz/ run in the normal suite
 * (gcc, ASan, valgrind). Usage: fuzz_x_regress FILE_OR_DIR...
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data;
	long n;

	if (f == NULL)
		return -1;
	(void)fseek(f, 0, SEEK_END);
	n = ftell(f);
	(void)fseek(f, 0, SEEK_SET);
	data = malloc(n > 0 ? (size_t)n : 1);
	if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		(void)fclose(f);
		return -1;
	}
	(void)fclose(f);
	(void)LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	return 0;
}

int
main(int argc, char **argv)
{
	int ran = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(argv[i]) == 0)
				ran++;
			continue;
		}
		d = opendir(argv[i]);
		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			char p[4096];

			if (de->d_name[0] == '.')
				continue;
			(void)snprintf(
			    p, sizeof(p), "%s/%s", argv[i], de->d_name);
			if (run_file(p) == 0)
				ran++;
		}
		(void)closedir(d);
	}
	printf("%d inputs ran\n", ran);
	return ran > 0 ? 0 : 1;
}
