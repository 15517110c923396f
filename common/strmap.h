/* strmap.h - string-keyed hash map of borrowed pointers (chained). */
#ifndef TLSTRUNK_STRMAP_H
#define TLSTRUNK_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_entry {
	struct strmap_entry *next;
	char *key;
	void *val;
};

struct strmap {
	struct strmap_entry **buckets;
	size_t nbuckets;	/* power of two */
	size_t count;
};

/* FNV-1a over n bytes: the map's hash, also for callers' own keys. */
uint64_t strmap_hash_bytes(const void *p, size_t n);

int strmap_init(struct strmap *m, size_t nbuckets);
void strmap_free(struct strmap *m);
/* Returns 0, -EEXIST when key is present, -ENOMEM. The key is copied. */
int strmap_put(struct strmap *m, const char *key, void *val);
void *strmap_get(const struct strmap *m, const char *key);
/* Returns the removed value or NULL. */
void *strmap_del(struct strmap *m, const char *key);

#endif
