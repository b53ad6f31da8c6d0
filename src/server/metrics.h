/* metrics.h - request counters and the Prometheus text of GET /metrics.
 *
 * metrics_count is called once per response with its HTTP status (atomic,
 * any thread). metrics_render reads those counters and the engine's
 * statistics (deepc_engine_get_stats) into Prometheus text format 0.0.4.
 */
#ifndef DC_SERVER_METRICS_H
#define DC_SERVER_METRICS_H

#include <stddef.h>

#include "srv.h"

void metrics_count(unsigned status);
/* The exposition text, malloc'ed (caller frees), or NULL when out of memory.
 * Needs s->ready. */
char *metrics_render(srv_state *s, size_t *len);

#endif
