/*
 * controld/table_write.h: the policy table's one writer (LMDB, format in
 * docs/CONTRACTS.md).  One write transaction at a time; every commit bumps
 * m:generation.  Calls may block on the file system (tmpfs: microseconds)
 * and on LMDB's writer lock if another process writes the same table.
 */

#ifndef CTLD_TABLE_WRITE_H
#define CTLD_TABLE_WRITE_H

#include <stddef.h>
#include <stdint.h>


typedef struct ctld_table_s  ctld_table_t;

/* 1: leave the entry whose key this is (ctld_table_del_range()) */
typedef int (*ctld_table_keep_pt)(const void *key, size_t len, void *arg);

/* a key to keep in ctld_table_sweep(); data is not owned */
typedef struct {
    const void         *data;
    size_t              len;
} ctld_table_key_t;


/*
 * Creates the directory (0755) and the environment if missing; data.mdb
 * is made 0644 and lock.mdb 0666 so nginx workers running as another user
 * can register as readers.
 */
ctld_table_t *ctld_table_open(const char *path, size_t mapsize);
void ctld_table_close(ctld_table_t *t);

int ctld_table_begin(ctld_table_t *t);

/* CTLD_OK written, CTLD_AGAIN the same bytes were there already */
int ctld_table_put(ctld_table_t *t, const void *key, size_t klen,
    const void *val, size_t vlen);

/* CTLD_OK deleted, CTLD_AGAIN was not there */
int ctld_table_del(ctld_table_t *t, const void *key, size_t klen);

/*
 * Deletes every entry whose key starts with prefix and is not in keep[];
 * sorts keep[] in place.  Returns the number deleted, or -1.
 */
long ctld_table_sweep(ctld_table_t *t, char prefix, ctld_table_key_t *keep,
    size_t n);

/*
 * Deletes the entries that start with prefix and sort strictly between
 * lo and hi (lo NULL: from the first, hi NULL: to the last), except those
 * keep() (may be NULL) says to leave.  Made for a merge against input in
 * the table's order.  Returns the number deleted, or -1.
 */
long ctld_table_del_range(ctld_table_t *t, char prefix, const void *lo,
    size_t lolen, const void *hi, size_t hilen, ctld_table_keep_pt keep,
    void *arg);

/* bumps m:generation and commits; *generation gets the new number */
int ctld_table_commit(ctld_table_t *t, uint64_t *generation);
void ctld_table_abort(ctld_table_t *t);

/* frees reader slots left by dead processes (crashed nginx workers) */
void ctld_table_reader_check(ctld_table_t *t);

#endif
