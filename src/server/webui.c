/* webui.c - serves the embedded web chat page (see webui.h).
 *
 * The page is self-contained and talks only to this server, so the content
 * security policy allows nothing but the page's own origin, its inline
 * styles and scripts, and data: images.
 */
#include "webui.h"

struct MHD_Response *webui_response(void) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(dc_webui_html_len, (void *)dc_webui_html, MHD_RESPMEM_PERSISTENT);
    if (!r) return NULL;
    MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
                            "connect-src 'self'; img-src 'self' data:");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    return r;
}
