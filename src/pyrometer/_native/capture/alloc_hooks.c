/* alloc_hooks.c — GOT patching and the allocator hooks. See alloc_hooks.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "capture/alloc_hooks.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/alloc_tracker.h"
#include "format/capture_format.h"

__thread int alloc_guard __attribute__((tls_model("initial-exec")));

/* ---- libc's functions, found once with dlsym(RTLD_NEXT) ---- */

static struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    void *(*dlopen)(const char *, int);
    void (*exit_)(int);
} real;

void *alloc_real_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
    return real.mmap ? real.mmap(addr, len, prot, flags, fd, off) : mmap(addr, len, prot, flags, fd, off);
}

int alloc_real_munmap(void *addr, size_t len)
{
    return real.munmap ? real.munmap(addr, len) : munmap(addr, len);
}

#define ON() (__builtin_expect(alloc_tracker_on, 0) && !alloc_guard)
#define RECORD(kind, addr, size)                                     \
    do {                                                             \
        alloc_guard = 1;                                             \
        alloc_tracker_record((kind), (uintptr_t)(addr), (size));     \
        alloc_guard = 0;                                             \
    } while (0)

static void *hook_malloc(size_t n)
{
    void *p = real.malloc(n);
    if (p && ON())
        RECORD(CAPTURE_MALLOC, p, n);
    return p;
}

static void *hook_calloc(size_t n, size_t size)
{
    void *p = real.calloc(n, size);
    if (p && ON())
        RECORD(CAPTURE_CALLOC, p, (uint64_t)n * size);
    return p;
}

static void *hook_realloc(void *old, size_t n)
{
    if (!ON())
        return real.realloc(old, n);
    if (old)
        RECORD(CAPTURE_FREE, old, 0);
    void *p = real.realloc(old, n);
    if (p)
        RECORD(CAPTURE_REALLOC, p, n);
    else if (old && n)
        RECORD(CAPTURE_REALLOC, old, 0);   /* failed: the old block lives on, size unknown */
    return p;
}

static void *hook_reallocarray(void *old, size_t n, size_t size)
{
    if (!ON())
        return real.reallocarray(old, n, size);
    if (old)
        RECORD(CAPTURE_FREE, old, 0);
    void *p = real.reallocarray(old, n, size);
    if (p)
        RECORD(CAPTURE_REALLOC, p, (uint64_t)n * size);
    return p;
}

static void hook_free(void *p)
{
    if (p && ON())
        RECORD(CAPTURE_FREE, p, 0);
    real.free(p);
}

static int hook_posix_memalign(void **out, size_t align, size_t n)
{
    int rc = real.posix_memalign(out, align, n);
    if (rc == 0 && ON())
        RECORD(CAPTURE_POSIX_MEMALIGN, *out, n);
    return rc;
}

static void *hook_aligned_alloc(size_t align, size_t n)
{
    void *p = real.aligned_alloc(align, n);
    if (p && ON())
        RECORD(CAPTURE_ALIGNED_ALLOC, p, n);
    return p;
}

static void *hook_memalign(size_t align, size_t n)
{
    void *p = real.memalign(align, n);
    if (p && ON())
        RECORD(CAPTURE_MEMALIGN, p, n);
    return p;
}

static void *hook_valloc(size_t n)
{
    void *p = real.valloc(n);
    if (p && ON())
        RECORD(CAPTURE_VALLOC, p, n);
    return p;
}

static void *hook_pvalloc(size_t n)
{
    void *p = real.pvalloc(n);
    if (p && ON()) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        RECORD(CAPTURE_PVALLOC, p, (n + page - 1) / page * page);
    }
    return p;
}

static void *hook_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *p = real.mmap(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED && ON())
        RECORD(CAPTURE_MMAP, p, len);
    return p;
}

static int hook_munmap(void *addr, size_t len)
{
    if (ON())
        RECORD(CAPTURE_MUNMAP, addr, len);
    return real.munmap(addr, len);
}

static void patch_all(void);
static pthread_mutex_t patch_mutex = PTHREAD_MUTEX_INITIALIZER;
static int installed;

static void *hook_dlopen(const char *file, int flags)
{
    void *h = real.dlopen(file, flags);
    if (h && installed) {
        int g = alloc_guard;
        alloc_guard = 1;
        pthread_mutex_lock(&patch_mutex);
        if (installed)
            patch_all();
        pthread_mutex_unlock(&patch_mutex);
        alloc_guard = g;
    }
    return h;
}

static void hook__exit(int status)
{
    if (alloc_tracker_on) {
        alloc_guard = 1;
        alloc_tracker_process_exit();
    }
    real.exit_(status);
    for (;;)
        ;
}

/* ---- the hook table ---- */

typedef struct hook {
    const char *name;
    void *hook;
    void **real;
} hook;

static const hook hooks[] = {
    {"malloc", (void *)hook_malloc, (void **)&real.malloc},
    {"calloc", (void *)hook_calloc, (void **)&real.calloc},
    {"realloc", (void *)hook_realloc, (void **)&real.realloc},
    {"reallocarray", (void *)hook_reallocarray, (void **)&real.reallocarray},
    {"free", (void *)hook_free, (void **)&real.free},
    {"posix_memalign", (void *)hook_posix_memalign, (void **)&real.posix_memalign},
    {"aligned_alloc", (void *)hook_aligned_alloc, (void **)&real.aligned_alloc},
    {"memalign", (void *)hook_memalign, (void **)&real.memalign},
    {"valloc", (void *)hook_valloc, (void **)&real.valloc},
    {"pvalloc", (void *)hook_pvalloc, (void **)&real.pvalloc},
    {"mmap", (void *)hook_mmap, (void **)&real.mmap},
    {"mmap64", (void *)hook_mmap, (void **)&real.mmap},
    {"munmap", (void *)hook_munmap, (void **)&real.munmap},
    {"dlopen", (void *)hook_dlopen, (void **)&real.dlopen},
    {"_exit", (void *)hook__exit, (void **)&real.exit_},
};
#define NHOOKS (sizeof hooks / sizeof *hooks)

static const hook *find_hook(const char *name)
{
    if (name[0] == '\0')
        return NULL;
    /* Called for every relocation of every object at each dlopen: the first
     * character rules out nearly all of them without a strcmp call. */
    for (size_t i = 0; i < NHOOKS; i++)
        if (hooks[i].name[0] == name[0] && strcmp(hooks[i].name, name) == 0)
            return &hooks[i];
    return NULL;
}

/* Slots we changed, to put back on uninstall. */
typedef struct patched_slot {
    void **slot;
    void *old;
} patched_slot;

static patched_slot *patched;
static size_t patched_count, patched_cap;
static uintptr_t self_base;

static void *saved_old(void **slot)
{
    for (size_t i = 0; i < patched_count; i++)
        if (patched[i].slot == slot)
            return patched[i].old;
    return NULL;
}

static int remember(void **slot, void *old)
{
    if (saved_old(slot))
        return 0;
    if (patched_count == patched_cap) {
        size_t ncap = patched_cap ? patched_cap * 2 : 256;
        patched_slot *n = realloc(patched, ncap * sizeof *n);
        if (n == NULL)
            return -1;
        patched = n;
        patched_cap = ncap;
    }
    patched[patched_count++] = (patched_slot){slot, old};
    return 0;
}

static int skip_object(const struct dl_phdr_info *info)
{
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (info->dlpi_addr == self_base && self_base != 0)
        return 1;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    return strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "libc.so", 7) == 0 ||
           strncmp(base, "linux-vdso", 10) == 0 || strncmp(base, "libunwind", 9) == 0;
}

static void set_slot(void **slot, void *value)
{
    if (*slot == value)
        return;
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)slot & ~(uintptr_t)(page - 1);
    /* RELRO pages are read-only after relocation; GOT pages are never executable. */
    mprotect((void *)start, (size_t)page * (((uintptr_t)slot + sizeof(void *) > start + (uintptr_t)page) ? 2 : 1),
             PROT_READ | PROT_WRITE);
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
}

typedef struct walk {
    int restore;
} walk;

/* Visits each JUMP_SLOT / GLOB_DAT relocation of a hooked symbol in one object. */
static void visit_relocs(const struct dl_phdr_info *info, const ElfW(Rela) *rel, size_t bytes,
                         const ElfW(Sym) *symtab, const char *strtab, int restore)
{
    for (size_t i = 0; i < bytes / sizeof *rel; i++) {
        unsigned type = ELF64_R_TYPE(rel[i].r_info);
        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
            continue;
        const ElfW(Sym) *sym = &symtab[ELF64_R_SYM(rel[i].r_info)];
        const hook *h = find_hook(strtab + sym->st_name);
        if (h == NULL)
            continue;
        void **slot = (void **)(info->dlpi_addr + rel[i].r_offset);
        if (restore) {
            void *old = saved_old(slot);
            if (old && *slot == h->hook)
                set_slot(slot, old);
        } else if (*slot != h->hook) {
            if (remember(slot, *slot) == 0)
                set_slot(slot, h->hook);
        }
    }
}

static int visit_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    const walk *w = data;
    if (skip_object(info))
        return 0;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (dyn == NULL)
        return 0;
    uintptr_t symtab = 0, strtab = 0, jmprel = 0, rela = 0;
    size_t pltrelsz = 0, relasz = 0;
    long pltrel = 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = dyn->d_un.d_ptr; break;
        case DT_STRTAB: strtab = dyn->d_un.d_ptr; break;
        case DT_JMPREL: jmprel = dyn->d_un.d_ptr; break;
        case DT_PLTRELSZ: pltrelsz = dyn->d_un.d_val; break;
        case DT_PLTREL: pltrel = (long)dyn->d_un.d_val; break;
        case DT_RELA: rela = dyn->d_un.d_ptr; break;
        case DT_RELASZ: relasz = dyn->d_un.d_val; break;
        }
    }
    if (!symtab || !strtab)
        return 0;
    /* glibc relocates these entries in place for loaded objects; an
     * unrelocated one is still an offset from the load address. */
#define ADJ(p) ((p) < info->dlpi_addr ? (p) + info->dlpi_addr : (p))
    symtab = ADJ(symtab);
    strtab = ADJ(strtab);
    if (jmprel && pltrel == DT_RELA)
        visit_relocs(info, (const ElfW(Rela) *)ADJ(jmprel), pltrelsz, (const ElfW(Sym) *)symtab,
                     (const char *)strtab, w->restore);
    if (rela)
        visit_relocs(info, (const ElfW(Rela) *)ADJ(rela), relasz, (const ElfW(Sym) *)symtab, (const char *)strtab,
                     w->restore);
#undef ADJ
    return 0;
}

static void patch_all(void)
{
    walk w = {0};
    dl_iterate_phdr(visit_object, &w);
}

int alloc_hooks_install(char *err, size_t errlen)
{
    for (size_t i = 0; i < NHOOKS; i++) {
        if (*hooks[i].real == NULL)
            *hooks[i].real = dlsym(RTLD_NEXT, hooks[i].name);
        if (*hooks[i].real == NULL) {
            snprintf(err, errlen, "cannot find libc's %s", hooks[i].name);
            return -1;
        }
    }
    /* Our hooks call libc's functions (RTLD_NEXT from here). An allocator
     * interposed before libc (LD_PRELOAD of jemalloc, tcmalloc...) would
     * then be bypassed and blocks would cross allocators: refuse. */
    Dl_info def;
    void *first = dlsym(RTLD_DEFAULT, "malloc");
    if (first != NULL && first != (void *)real.malloc && dladdr(first, &def) && def.dli_fname != NULL &&
        def.dli_fbase != NULL) {
        Dl_info libc;
        if (dladdr((void *)real.malloc, &libc) && libc.dli_fbase != def.dli_fbase &&
            strstr(def.dli_fname, ".so") != NULL) {
            snprintf(err, errlen, "malloc is interposed by %s (LD_PRELOAD?): allocation tracking needs libc's malloc",
                     def.dli_fname);
            return -1;
        }
    }
    Dl_info self;
    if (dladdr((void *)alloc_hooks_install, &self))
        self_base = (uintptr_t)self.dli_fbase;
    /* dl_iterate_phdr's dlpi_addr is the load bias; dli_fbase the mapped
     * start. For a shared object they are equal (first PT_LOAD at 0). */
    int g = alloc_guard;
    alloc_guard = 1;
    pthread_mutex_lock(&patch_mutex);
    installed = 1;
    patch_all();
    pthread_mutex_unlock(&patch_mutex);
    alloc_guard = g;
    return 0;
}

void alloc_hooks_uninstall(void)
{
    int g = alloc_guard;
    alloc_guard = 1;
    pthread_mutex_lock(&patch_mutex);
    installed = 0;
    walk w = {1};
    dl_iterate_phdr(visit_object, &w);
    pthread_mutex_unlock(&patch_mutex);
    alloc_guard = g;
}

/* ---- PyMem domains ---- */

static PyMemAllocatorEx pymem_orig[3];
static int pymem_installed;
static const PyMemAllocatorDomain domains[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};

/* RAW is malloc underneath: recorded with malloc's kinds. MEM and OBJ are
 * pymalloc. The underlying calls run inside the guard, so a block is
 * recorded once. */
static int pm_kind(intptr_t d, int raw_kind, int py_kind)
{
    return d == 0 ? raw_kind : py_kind;
}

static void *pm_malloc(void *ctx, size_t n)
{
    intptr_t d = (intptr_t)ctx;
    if (!ON())
        return pymem_orig[d].malloc(pymem_orig[d].ctx, n);
    alloc_guard = 1;
    void *p = pymem_orig[d].malloc(pymem_orig[d].ctx, n);
    if (p)
        alloc_tracker_record(pm_kind(d, CAPTURE_MALLOC, CAPTURE_PYMALLOC_MALLOC), (uintptr_t)p, n);
    alloc_guard = 0;
    return p;
}

static void *pm_calloc(void *ctx, size_t n, size_t size)
{
    intptr_t d = (intptr_t)ctx;
    if (!ON())
        return pymem_orig[d].calloc(pymem_orig[d].ctx, n, size);
    alloc_guard = 1;
    void *p = pymem_orig[d].calloc(pymem_orig[d].ctx, n, size);
    if (p)
        alloc_tracker_record(pm_kind(d, CAPTURE_CALLOC, CAPTURE_PYMALLOC_CALLOC), (uintptr_t)p, (uint64_t)n * size);
    alloc_guard = 0;
    return p;
}

static void *pm_realloc(void *ctx, void *old, size_t n)
{
    intptr_t d = (intptr_t)ctx;
    if (!ON())
        return pymem_orig[d].realloc(pymem_orig[d].ctx, old, n);
    alloc_guard = 1;
    if (old)
        alloc_tracker_record(pm_kind(d, CAPTURE_FREE, CAPTURE_PYMALLOC_FREE), (uintptr_t)old, 0);
    void *p = pymem_orig[d].realloc(pymem_orig[d].ctx, old, n);
    if (p)
        alloc_tracker_record(pm_kind(d, CAPTURE_REALLOC, CAPTURE_PYMALLOC_REALLOC), (uintptr_t)p, n);
    alloc_guard = 0;
    return p;
}

static void pm_free(void *ctx, void *p)
{
    intptr_t d = (intptr_t)ctx;
    if (!ON() || p == NULL) {
        pymem_orig[d].free(pymem_orig[d].ctx, p);
        return;
    }
    alloc_guard = 1;
    alloc_tracker_record(pm_kind(d, CAPTURE_FREE, CAPTURE_PYMALLOC_FREE), (uintptr_t)p, 0);
    pymem_orig[d].free(pymem_orig[d].ctx, p);
    alloc_guard = 0;
}

void alloc_hooks_pymem_install(void)
{
    if (pymem_installed)
        return;
    for (intptr_t d = 0; d < 3; d++) {
        PyMem_GetAllocator(domains[d], &pymem_orig[d]);
        PyMemAllocatorEx a = {(void *)d, pm_malloc, pm_calloc, pm_realloc, pm_free};
        PyMem_SetAllocator(domains[d], &a);
    }
    pymem_installed = 1;
}

void alloc_hooks_pymem_uninstall(void)
{
    if (!pymem_installed)
        return;
    for (int d = 0; d < 3; d++)
        PyMem_SetAllocator(domains[d], &pymem_orig[d]);
    pymem_installed = 0;
}
