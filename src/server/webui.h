/* webui.h - GET /: the web chat page.
 *
 * The page is src/server/webui.html, embedded at build time: CMake
 * (cmake/embed.cmake) turns it into the byte array dc_webui_html in the
 * generated webui_html.c, regenerated whenever the HTML changes.
 */
#ifndef DC_SERVER_WEBUI_H
#define DC_SERVER_WEBUI_H

#include <stddef.h>

#include <microhttpd.h>

extern const unsigned char dc_webui_html[];
extern const size_t dc_webui_html_len;

/* The page with its content type and content security policy; the response
 * references the embedded bytes (no copy). NULL when out of memory. */
struct MHD_Response *webui_response(void);

#endif
