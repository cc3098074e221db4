/* dynecho copies stdin to stdout with stdio, prefixed: a dynamically linked program,
   which runs only if the sandbox provides the loader and libc. */
#include <stdio.h>

int main(void) {
	char buf[4096];
	size_t n;
	fputs("dynecho:", stdout);
	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
		fwrite(buf, 1, n, stdout);
	}
	return ferror(stdin) ? 1 : 0;
}
