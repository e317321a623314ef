/*
 * receipt_tree.h - a parsed document tree (cJSON, from jsonrx or xmlrx)
 * into the receipt model.
 *
 * Accepts the bare receipt object or the wrapper {"receipt": {...},
 * "deviceID": N, "previousReceiptHash": "..."} (interface.md §1 inspect, §4).
 * Every number is taken from its source literal (jsonrx_number_text) or from
 * a decimal string, at the field's exact scale; a number node without a
 * literal is refused rather than read through double.
 */
#ifndef IO_RECEIPT_TREE_H
#define IO_RECEIPT_TREE_H

#include <cJSON.h>

struct receipt;
struct findings;

#define RECEIPT_ARENA_LIMIT	(4 * 1024 * 1024)

/* NULL with findings (code PARSE, path of the field) when unusable. */
struct receipt	*receipt_from_tree(const cJSON *root, struct findings *f);

#endif
