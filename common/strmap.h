/* strmap.h - string-keyed hash map of borrowed pointers (chained). */
#ifndef TLSTRUNK_STRMAP_H
#define TLSTRUNK_STRMAP_H

#include <stddef.h>

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

int strmap_init(struct strmap *m, size_t nbuckets);
void strmap_free(struct strmap *m);
/* Returns 0, -EEXIST when key is present, -ENOMEM. The key is copied. */
int strmap_put(struct strmap *m, const char *key, void *val);
void *strmap_get(const struct strmap *m, const char *key);
/* Returns the removed value or NULL. */
void *strmap_del(struct strmap *m, const char *key);

#endif
