/* alloc_symbols.h — names for native instruction addresses (--native).
 *
 * dladdr only knows exported symbols; most functions of an extension
 * module are static. So each object's own symbol table (.symtab, read from
 * its file once and cached) is searched first, and dladdr is the fallback
 * for stripped files. Used by the writer thread only (not thread-safe). */
#ifndef PYROMETER_ALLOC_SYMBOLS_H
#define PYROMETER_ALLOC_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

/* Writes the function name for ip into name (a "0x<offset>" when unknown)
 * and sets *file to the object's path ("" when unknown; valid while the
 * object stays loaded). */
void alloc_symbolize(uintptr_t ip, char *name, size_t namelen, const char **file);

/* Drops the cached tables (the next tracker starts clean). */
void alloc_symbols_reset(void);

#endif
