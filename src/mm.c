/*
 * The allocator libevent uses (event_set_mem_functions). A request through
 * evhttp makes about fifty small allocations (header copies, key/value
 * pairs, evbuffer chains) of a few recurring sizes; glibc's per-thread cache
 * holds only seven blocks per size, so most of them take malloc's slower
 * paths. This keeps up to MM_KEEP_BYTES of freed blocks per size class in a
 * per-thread list: a hit is a pop, a free is a push. Blocks come from malloc
 * with a small header naming their class, so a block freed on another
 * thread simply joins that thread's list.
 *
 * Sanitizer builds and CORSD_MM_CACHE=OFF (for valgrind) keep libevent on
 * malloc, so the checker sees every block.
 */
#include "mm.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#if defined(__SANITIZE_ADDRESS__) || defined(CORSD_NO_MM_CACHE)
#define MM_CUSTOM 0
#else
#define MM_CUSTOM 1
#endif

#if MM_CUSTOM
/* Classes of MM_STEP bytes up to MM_MAX; larger blocks go straight to
 * malloc (class 0). */
#define MM_STEP 64
#define MM_MAX 4096
#define MM_CLASSES (MM_MAX / MM_STEP + 1)
/* Bytes kept per class and thread: at most 4 MiB per thread in all, and
 * far less in practice. */
#define MM_KEEP_BYTES (64 * 1024)

/* The header keeps the block's alignment at max_align_t. */
union mm_header {
	size_t cls;
	max_align_t align;
};

struct mm_free {
	struct mm_free *next;
};

struct mm_cache {
	struct mm_free *head[MM_CLASSES];
	unsigned n[MM_CLASSES];
};

static _Thread_local struct mm_cache mm_cache;

static size_t mm_class(size_t size)
{
	return size == 0 ? 1 : size <= MM_MAX ? (size + MM_STEP - 1) / MM_STEP : 0;
}

static void *mm_malloc(size_t size)
{
	size_t cls = mm_class(size);
	union mm_header *h;

	if (cls != 0 && mm_cache.head[cls] != NULL) {
		struct mm_free *f = mm_cache.head[cls];
		mm_cache.head[cls] = f->next;
		mm_cache.n[cls]--;
		h = (union mm_header *)f - 1;
		return h + 1;
	}
	h = malloc(sizeof(*h) + (cls ? cls * MM_STEP : size));
	if (h == NULL)
		return NULL;
	h->cls = cls;
	return h + 1;
}

static void mm_free(void *p)
{
	union mm_header *h;
	size_t cls;

	if (p == NULL)
		return;
	h = (union mm_header *)p - 1;
	cls = h->cls;
	if (cls != 0 && (mm_cache.n[cls] + 1) * cls * MM_STEP <= MM_KEEP_BYTES) {
		struct mm_free *f = p;
		f->next = mm_cache.head[cls];
		mm_cache.head[cls] = f;
		mm_cache.n[cls]++;
		return;
	}
	free(h);
}

static void *mm_realloc(void *p, size_t size)
{
	union mm_header *h;
	size_t have;
	void *q;

	if (p == NULL)
		return mm_malloc(size);
	h = (union mm_header *)p - 1;
	if (h->cls == 0) {
		/* Stays a plain malloc block, even when it shrinks. */
		h = realloc(h, sizeof(*h) + (size ? size : 1));
		return h ? h + 1 : NULL;
	}
	have = h->cls * MM_STEP;
	if (size <= have && mm_class(size) == h->cls)
		return p;
	q = mm_malloc(size);
	if (q == NULL)
		return NULL;
	memcpy(q, p, size < have ? size : have);
	mm_free(p);
	return q;
}

void mm_setup(void)
{
	event_set_mem_functions(mm_malloc, mm_realloc, mm_free);
}

void mm_thread_exit(void)
{
	for (size_t c = 0; c < MM_CLASSES; c++) {
		while (mm_cache.head[c] != NULL) {
			struct mm_free *f = mm_cache.head[c];
			mm_cache.head[c] = f->next;
			free((union mm_header *)f - 1);
		}
		mm_cache.n[c] = 0;
	}
}

void *mm_event_alloc(size_t n)
{
	return mm_malloc(n);
}

void mm_event_free(void *p)
{
	mm_free(p);
}

#else /* sanitizer builds: libevent keeps malloc */

void mm_setup(void)
{
}

void mm_thread_exit(void)
{
}

void *mm_event_alloc(size_t n)
{
	return malloc(n);
}

void mm_event_free(void *p)
{
	free(p);
}

#endif
