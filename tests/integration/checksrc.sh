#!/bin/sh
# check: once
# checksrc.sh - source rules that a compiler does not enforce (anchors A.6):
# banned functions, no floating point in the fiscal core, a design note at
# the top of every C file, file opening only in lib/util.
. tests/integration/testlib
files=$(ls lib/*/*.c lib/*/*.h spoold/*.c spoold/*.h 2>/dev/null)
# Code without comments and string literals, as FILE:LINE:TEXT.
strip() {
	for f in "$@"; do
		awk -v F="$f" '{
			line = $0; out = ""
			while (length(line) > 0) {
				if (inc) {
					i = index(line, "*/")
					if (i == 0) { line = ""; break }
					line = substr(line, i + 2); inc = 0
				} else {
					i = index(line, "/*")
					if (i == 0) { out = out line; line = "" }
					else { out = out substr(line, 1, i - 1)
					       line = substr(line, i + 2); inc = 1 }
				}
			}
			gsub(/"([^"\\]|\\.)*"/, "\"\"", out)
			print F ":" NR ":" out
		}' "$f"
	done
}
CODE=$(strip $files)

# Banned calls (unbounded copies, locale/number traps, shell-outs).
for fn in strcpy strcat sprintf vsprintf gets strtok atoi atol atof system \
    popen tmpnam setlocale; do
	hits=$(echo "$CODE" | grep -E "(^|[^_a-zA-Z0-9.>])$fn[[:space:]]*\(" || true)
	if [ -n "$hits" ]; then fail "banned $fn(): $hits"; else ok; fi
done

# Money is never binary floating point: no float/double in lib/fiscal.
hits=$(strip lib/fiscal/*.c lib/fiscal/*.h | grep -wE 'float|double' || true)
if [ -n "$hits" ]; then fail "floating point in lib/fiscal: $hits"; else ok; fi

# Every C file starts with a design note comment.
for f in $files; do
	if head -n 1 "$f" | grep -q '^/\*'; then ok; else fail "$f: no design note"; fi
done

# Raw open()/rename() only in lib/util (the safe file layer) and log.c.
hits=$(strip lib/fiscal/*.c lib/io/*.c spoold/*.c |
    grep -E '(^|[^_a-zA-Z.>])(open|rename|renameat|unlink)[[:space:]]*\(' || true)
if [ -n "$hits" ]; then fail "raw file calls outside lib/util: $hits"; else ok; fi
finish
