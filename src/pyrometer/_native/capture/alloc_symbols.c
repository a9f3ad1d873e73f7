/* alloc_symbols.c — see alloc_symbols.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "capture/alloc_symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
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

/* ---- which loaded object an address is in ----
 * dladdr answers that too, but searches the object's dynamic symbols on
 * every call (~50k instructions): too slow for the writer, which names
 * every new return address. The load ranges are listed once instead, and
 * listed again when the loader's counts of objects added and removed move. */

#define MAX_LOADED 4096

typedef struct loaded_object {
    uintptr_t start, end;   /* from the lowest to the end of the highest PT_LOAD segment */
    uintptr_t base;         /* load bias: link-time address = ip - base */
    char *name;             /* dladdr's dli_fname for it; NULL until first needed */
} loaded_object;

static loaded_object *loaded;
static size_t loaded_count;
static unsigned long long loaded_adds, loaded_subs;
static int loaded_listed;

static int read_counts(struct dl_phdr_info *info, size_t size, void *data)
{
    unsigned long long *c = data;
    if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        return 1;   /* an old loader without the counts: c stays 0, never listed again */
    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
    return 1;       /* the counts are the same in every entry: one is enough */
}

static int list_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (loaded_count == MAX_LOADED)
        return 1;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + ph->p_memsz > hi)
            hi = a + ph->p_memsz;
    }
    if (lo < hi)
        loaded[loaded_count++] = (loaded_object){lo, hi, info->dlpi_addr, NULL};
    return 0;
}

static int loaded_cmp(const void *x, const void *y)
{
    const loaded_object *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

static void list_loaded(void)
{
    for (size_t i = 0; i < loaded_count; i++)
        free(loaded[i].name);
    loaded_count = 0;
    if (loaded == NULL && (loaded = malloc(MAX_LOADED * sizeof *loaded)) == NULL)
        return;
    unsigned long long counts[2] = {0, 0};
    dl_iterate_phdr(read_counts, counts);
    loaded_adds = counts[0];
    loaded_subs = counts[1];
    dl_iterate_phdr(list_object, NULL);
    if (loaded_count > 1)
        qsort(loaded, loaded_count, sizeof *loaded, loaded_cmp);
    loaded_listed = 1;
}

static loaded_object *find_loaded(uintptr_t ip)
{
    size_t lo = 0, hi = loaded_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (loaded[mid].start <= ip)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && ip < loaded[lo - 1].end ? &loaded[lo - 1] : NULL;
}

/* The object holding ip, the list refreshed when objects came or went. */
static loaded_object *object_at(uintptr_t ip)
{
    unsigned long long counts[2] = {0, 0};
    dl_iterate_phdr(read_counts, counts);
    if (!loaded_listed || counts[0] != loaded_adds || counts[1] != loaded_subs)
        list_loaded();
    return loaded ? find_loaded(ip) : NULL;
}

void alloc_symbolize(uintptr_t ip, char *name, size_t namelen, const char **file)
{
    *file = "";
    loaded_object *lo = object_at(ip);
    Dl_info info;
    if (lo == NULL) {
        snprintf(name, namelen, "0x%lx", (unsigned long)ip);
        return;
    }
    if (lo->name == NULL) {
        /* the same file name dladdr gives (the main program's included) */
        const char *fname = dladdr((void *)ip, &info) && info.dli_fname ? info.dli_fname : "";
        lo->name = strdup(fname);
        if (lo->name == NULL) {
            snprintf(name, namelen, "0x%lx", (unsigned long)(ip - lo->base));
            return;
        }
    }
    *file = lo->name;
    object_syms *o = object_for(lo->name[0] ? lo->name : "/proc/self/exe");
    uint64_t rel = ip - lo->base;   /* link-time address */
    if (o && o->count) {
        size_t a = 0, b = o->count;
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if (o->syms[mid].start <= rel)
                a = mid + 1;
            else
                b = mid;
        }
        if (a > 0 && rel < o->syms[a - 1].end) {
            snprintf(name, namelen, "%s", o->syms[a - 1].name);
            return;
        }
    }
    /* stripped, or outside every function of .symtab: the dynamic symbols */
    if (dladdr((void *)ip, &info) && info.dli_sname) {
        snprintf(name, namelen, "%s", info.dli_sname);
        return;
    }
    snprintf(name, namelen, "0x%lx", (unsigned long)rel);
}

void alloc_symbols_reset(void)
{
    for (size_t i = 0; i < loaded_count; i++)
        free(loaded[i].name);
    loaded_count = 0;
    loaded_listed = 0;
    for (size_t i = 0; i < object_count; i++) {
        free(objects[i].path);
        free(objects[i].syms);
        if (objects[i].map)
            alloc_real_munmap((void *)objects[i].map, objects[i].map_len);
    }
    object_count = 0;
}
