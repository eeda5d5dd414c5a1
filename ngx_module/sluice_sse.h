/*
 * sluice_sse: an incremental Server-Sent Events splitter.  Pure C, no
 * nginx types, never blocks; memory is malloc'd, bounded, and owned by
 * the splitter until sluice_sse_free().
 */

#ifndef SLUICE_SSE_H
#define SLUICE_SSE_H

#include <stddef.h>
#include <stdint.h>

#define SLUICE_SSE_OK        0
#define SLUICE_SSE_ERROR    -1      /* out of memory or handler said stop */
#define SLUICE_SSE_TOO_BIG  -2      /* one event held more than max bytes */

/*
 * One complete event, valid only during the handler call.  A "block"
 * is every byte from the end of the previous blank line to the end of
 * this event's blank line (comments included); start and end are stream
 * offsets (bytes fed since init or reset), so a caller can drop the
 * event's raw bytes from its output.  When a CRLF is split between two
 * feeds exactly after the CR, the event is dispatched at the CR (s->cr
 * is set during the handler call): end then excludes the LF, which the
 * next feed skips and which belongs to no block.
 */
typedef struct {
    const uint8_t       *name;      /* "event:" value; "" when absent */
    size_t               name_len;
    const uint8_t       *data;      /* "data:" values joined by LF */
    size_t               data_len;
    uint64_t             start;
    uint64_t             end;
} sluice_sse_event_t;

/* returns 0 to go on, anything else to make feed fail with ERROR */
typedef int (*sluice_sse_handler_pt)(void *data,
    const sluice_sse_event_t *ev);

typedef struct {
    uint8_t             *p;
    size_t               len;
    size_t               cap;
} sluice_sse_str_t;

typedef struct {
    sluice_sse_handler_pt  handler;
    void                  *data;
    size_t                 max;     /* bytes held for one event */

    sluice_sse_str_t       line;    /* partial line carried across feeds */
    sluice_sse_str_t       name;
    sluice_sse_str_t       value;   /* data lines, each followed by LF */

    /*
     * The event's only data line so far, not copied: it lies in the
     * buffer being fed, and is copied into value before feed returns
     * or when a second data line comes.
     */
    const uint8_t         *direct;
    size_t                 direct_len;

    uint64_t               offset;  /* bytes fed so far */
    uint64_t               block;   /* where the current block began */

    int                    error;   /* 0, or the code that stopped it */
    unsigned               cr:1;    /* the last line ended with a CR */
    unsigned               lines:1; /* line by line only: no fast path */
} sluice_sse_t;

/* No allocation happens here; max 0 means 1 MiB. */
void sluice_sse_init(sluice_sse_t *s, size_t max,
    sluice_sse_handler_pt handler, void *data);

/*
 * Feeds len bytes; calls the handler once per complete event, in order.
 * Returns SLUICE_SSE_OK, SLUICE_SSE_ERROR or SLUICE_SSE_TOO_BIG; after
 * a failure every feed fails the same way until sluice_sse_reset().
 * Events of the usual shapes ("data: ...\n\n", "event: ...\ndata:
 * ...\n\n", no CR) that lie whole in the bytes fed are found with
 * memchr and handed over without a copy; anything else goes line by
 * line.  Both give the same events; setting s->lines after init keeps
 * to the line parser (the tests compare the two).
 */
int sluice_sse_feed(sluice_sse_t *s, const uint8_t *p, size_t len);

/*
 * How many of the len bytes at p are whole events (blank line included)
 * that end by p + before, so that a caller with no use for those events
 * may pass them by with sluice_sse_skip() instead of feeding them: only
 * when nothing is held (the splitter is at a line start between events,
 * not failed); else 0.
 */
size_t sluice_sse_skippable(const sluice_sse_t *s, const uint8_t *p,
    size_t len, size_t before);

/*
 * Where the last LF that follows another LF in the n bytes at p ends (0:
 * none): in bytes fed from a line start between events, the end of the
 * last whole event there, whatever the line ends (an LF after an LF
 * ends a line and then a blank one).
 */
size_t sluice_sse_last_blank(const uint8_t *p, size_t n);

/* Counts n skippable bytes as fed, no event dispatched for them. */
void sluice_sse_skip(sluice_sse_t *s, size_t n);

/* Forgets any partial event and the offsets; keeps the memory. */
void sluice_sse_reset(sluice_sse_t *s);

/* Frees the buffers; the splitter may be initialised again. */
void sluice_sse_free(sluice_sse_t *s);

#endif
