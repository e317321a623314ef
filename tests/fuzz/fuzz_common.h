/*
 * fuzz_common.h - shared set-up for the libFuzzer harnesses: the schemas
 * are loaded once from the repository (run harnesses from its top).
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "io/document.h"

static struct doc_schemas fuzz_schemas;

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const unsigned char *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	if (doc_schemas_load(&fuzz_schemas, doc_schema_dir(), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "fuzz: %s\n", err);
		exit(1);
	}
	return 0;
}

#endif
