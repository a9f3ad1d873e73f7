/* alloc_symbols.c — see alloc_symbols.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "capture/alloc_symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/alloc_hooks.h"

#define MAX_OBJECTS 1024
#define MAX_SYMBOLS (1u << 22)

typedef struct sym {
    uint64_t start, end;   /* link-time addresses */
    const char *name;      /* into the mapped file */
} sym;

typedef struct object_syms {
    char *path;
    const uint8_t *map;
    size_t map_len;
    sym *syms;
    size_t count;
} object_syms;

static object_syms objects[MAX_OBJECTS];
static size_t object_count;

static int sym_cmp(const void *x, const void *y)
{
    const sym *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Reads the function symbols of an ELF file's .symtab. */
static void load_symtab(object_syms *o)
{
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(ElfW(Ehdr))) {
        close(fd);
        return;
    }
    size_t len = (size_t)st.st_size;
    const uint8_t *map = alloc_real_mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff == 0 || eh->e_shentsize != sizeof(ElfW(Shdr)) ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr)) > len) {
        alloc_real_munmap((void *)map, len);
        return;
    }
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(map + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const ElfW(Shdr) *strs = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > len || strs->sh_offset + strs->sh_size > len)
            break;
        const ElfW(Sym) *syms = (const ElfW(Sym) *)(map + sh[i].sh_offset);
        size_t n = sh[i].sh_size / sizeof(ElfW(Sym));
        if (n > MAX_SYMBOLS)
            n = MAX_SYMBOLS;
        o->syms = malloc((n ? n : 1) * sizeof *o->syms);
        if (o->syms == NULL)
            break;
        for (size_t k = 0; k < n; k++) {
            if (ELF64_ST_TYPE(syms[k].st_info) != STT_FUNC || syms[k].st_value == 0 ||
                syms[k].st_name >= strs->sh_size)
                continue;
            const char *name = (const char *)map + strs->sh_offset + syms[k].st_name;
            o->syms[o->count++] = (sym){syms[k].st_value, syms[k].st_value + (syms[k].st_size ? syms[k].st_size : 1),
                                        name};
        }
        if (o->count > 1)
            qsort(o->syms, o->count, sizeof *o->syms, sym_cmp);
        break;
    }
    if (o->count == 0) {
        alloc_real_munmap((void *)map, len);
        return;
    }
    o->map = map;
    o->map_len = len;
}

static object_syms *object_for(const char *path)
{
    for (size_t i = 0; i < object_count; i++)
        if (strcmp(objects[i].path, path) == 0)
            return &objects[i];
    if (object_count == MAX_OBJECTS)
        return NULL;
    object_syms *o = &objects[object_count];
    memset(o, 0, sizeof *o);
    o->path = strdup(path);
    if (o->path == NULL)
        return NULL;
    object_count++;
    load_symtab(o);
    return o;
}

void alloc_symbolize(uintptr_t ip, char *name, size_t namelen, const char **file)
{
    Dl_info info;
    struct link_map *lm = NULL;
    *file = "";
    if (!dladdr1((void *)ip, &info, (void **)&lm, RTLD_DL_LINKMAP) || lm == NULL) {
        snprintf(name, namelen, "0x%lx", (unsigned long)ip);
        return;
    }
    *file = info.dli_fname ? info.dli_fname : "";
    const char *path = info.dli_fname;
    if (path == NULL || path[0] == '\0')
        path = "/proc/self/exe";
    object_syms *o = object_for(path);
    uint64_t rel = ip - lm->l_addr;   /* link-time address */
    if (o && o->count) {
        size_t lo = 0, hi = o->count;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (o->syms[mid].start <= rel)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && rel < o->syms[lo - 1].end) {
            snprintf(name, namelen, "%s", o->syms[lo - 1].name);
            return;
        }
    }
    if (info.dli_sname) {
        snprintf(name, namelen, "%s", info.dli_sname);
        return;
    }
    snprintf(name, namelen, "0x%lx", (unsigned long)rel);
}

void alloc_symbols_reset(void)
{
    for (size_t i = 0; i < object_count; i++) {
        free(objects[i].path);
        free(objects[i].syms);
        if (objects[i].map)
            alloc_real_munmap((void *)objects[i].map, objects[i].map_len);
    }
    object_count = 0;
}
