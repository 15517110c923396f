/* strmap.c - FNV-1a chained hash; grows by doubling at load factor 1. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

uint64_t
strmap_hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;

	while (n-- > 0) {
		h ^= *s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t
strmap_hash(const char *s)
{
	return strmap_hash_bytes(s, strlen(s));
}

int
strmap_init(struct strmap *m, size_t nbuckets)
{
	size_t n = 16;

	while (n < nbuckets)
		n <<= 1;
	m->buckets = calloc(n, sizeof(*m->buckets));
	if (m->buckets == NULL)
		return -ENOMEM;
	m->nbuckets = n;
	m->count = 0;
	return 0;
}

void
strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_entry *e = m->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->count = 0;
}

static void
strmap_grow(struct strmap *m)
{
	size_t n = m->nbuckets * 2;
	struct strmap_entry **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return;		/* stay at the old size; still correct */
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_entry *e = m->buckets[i], *next;
		for (; e != NULL; e = next) {
			size_t b = strmap_hash(e->key) & (n - 1);
			next = e->next;
			e->next = nb[b];
			nb[b] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
}

int
strmap_put(struct strmap *m, const char *key, void *val)
{
	struct strmap_entry *e;
	size_t b;

	if (strmap_get(m, key) != NULL)
		return -EEXIST;
	if (m->count >= m->nbuckets)
		strmap_grow(m);
	if ((e = malloc(sizeof(*e))) == NULL)
		return -ENOMEM;
	if ((e->key = strdup(key)) == NULL) {
		free(e);
		return -ENOMEM;
	}
	e->val = val;
	b = strmap_hash(key) & (m->nbuckets - 1);
	e->next = m->buckets[b];
	m->buckets[b] = e;
	m->count++;
	return 0;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry *e = m->buckets[strmap_hash(key) & (m->nbuckets - 1)];

	for (; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e->val;
	return NULL;
}

void *
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_entry **pp = &m->buckets[strmap_hash(key) & (m->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		struct strmap_entry *e = *pp;
		if (strcmp(e->key, key) == 0) {
			void *val = e->val;
			*pp = e->next;
			free(e->key);
			free(e);
			m->count--;
			return val;
		}
	}
	return NULL;
}
