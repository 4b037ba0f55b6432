/*
 * chronicle_plugin.h - the C ABI of chronicle export plugins, versions 1 and 2.
 *
 * An export plugin is a shared library that chronicle loads at run time to
 * render a view of the chronology (a JSON "view document", schema
 * "chronicle.views/1") into a format: Markdown, CSV, HTML...
 *
 * A plugin exports exactly these two symbols:
 *
 *   uint32_t chronicle_plugin_abi_version(void);
 *       Returns CHRONICLE_PLUGIN_ABI_VERSION. Its shape never changes, in
 *       any version: the host calls it first and goes on only if it
 *       supports the version returned.
 *
 *   const chronicle_plugin_declaration_v1 *chronicle_plugin_declare_v1(void);
 *   const chronicle_plugin_declaration_v2 *chronicle_plugin_declare_v2(void);
 *       Return a pointer to a declaration that stays valid and unchanged
 *       as long as the library is loaded (a static). Version 1: the whole
 *       document in one buffer, the whole output in one buffer. Version 2:
 *       the document one incident at a time, the output written as it is
 *       made (streamed; memory that does not grow with the chronology). A
 *       plugin exports one or both; a host takes the newest it knows.
 *
 * chronicle_plugin_abi_version returns a version the host must know: the
 * oldest declaration the plugin exports (1 for a plugin that exports both,
 * so that a host from before version 2 loads its version 1), or
 * CHRONICLE_PLUGIN_ABI_VERSION.
 *
 * The declaration carries its own size (struct_size) and only ever grows at
 * the end: a host reads the fields it knows and ignores what follows; it
 * refuses a struct_size smaller than sizeof(chronicle_plugin_declaration_v1).
 *
 * Memory: every buffer crosses the boundary as (pointer, length). Input is
 * owned by the host and valid only during the call. Output (exported bytes
 * or an error message) is allocated by the plugin; the host copies it and
 * then passes it back to the plugin's `free` function, whatever the status.
 * The host never frees plugin memory with its own allocator.
 *
 * Libraries are never unloaded: a plugin may keep global state, but should
 * not need to.
 *
 * The document's fields: the JSON Schema docs/chronicle.views-1.schema.json
 * (`chronicle plugins schema` prints it; `chronicle plugins sample` prints the
 * document `chronicle plugins check` runs a plugin on). A template plugin in C
 * that reads the document with cJSON: plugins/c-template/.
 *
 * See docs/plugin-abi.md in the chronicle repository for the full rules, and
 * plugins/README.md for a guide (with a section on debugging a plugin).
 */
#ifndef CHRONICLE_PLUGIN_H
#define CHRONICLE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The newest ABI version described by this header. */
#define CHRONICLE_PLUGIN_ABI_VERSION 2u

/* Status codes returned by the export function. */
#define CHRONICLE_STATUS_OK 0    /* out holds the exported bytes */
#define CHRONICLE_STATUS_ERROR 1 /* out holds a UTF-8 error message */
#define CHRONICLE_STATUS_PANIC 2 /* out holds a UTF-8 message: the plugin
                                    crashed internally and recovered */
#define CHRONICLE_STATUS_USAGE 3 /* out holds a UTF-8 message: the user's
                                    input (an --option) is refused;
                                    chronicle exits with 2 */
/* The set of statuses may grow within ABI version 1 (STATUS_USAGE was added
 * so): a new status always comes with a UTF-8 message in out, and a host that
 * does not know it reports it as an error with that message. A plugin that
 * returns only 0, 1 and 2 works with every host. */

/* The largest output a host accepts in one buffer (version 1: 256 MiB).
 * Larger output is an error. A version-2 plugin's output is never held; the
 * host bounds it with its own limit (chronicle: --plugin-output, 16 GiB). */
#define CHRONICLE_MAX_OUTPUT_BYTES (256u * 1024u * 1024u)

/* The most passes over the incidents a version-2 plugin may declare. */
#define CHRONICLE_MAX_PASSES 4u

/* Error messages longer than this (64 KiB) are cut by the host. */
#define CHRONICLE_MAX_MESSAGE_BYTES (64u * 1024u)

/* Longest format name and extension, in bytes. */
#define CHRONICLE_MAX_NAME_BYTES 64u
#define CHRONICLE_MAX_EXTENSION_BYTES 32u

/* Values of chronicle_plugin_declaration_v1.text. */
#define CHRONICLE_OUTPUT_BINARY 0u
#define CHRONICLE_OUTPUT_TEXT 1u /* the host checks the output is UTF-8 */

/* A byte buffer allocated by the plugin. `data` may be NULL only when
 * `len` is 0. */
typedef struct chronicle_buffer {
    uint8_t *data;
    size_t len;
} chronicle_buffer;

/*
 * Render a view document.
 *
 *   doc, doc_len          the view document: UTF-8 JSON, schema
 *                         "chronicle.views/1" (not NUL-terminated)
 *   options, options_len  the user's options: a UTF-8 JSON object whose
 *                         values are strings, e.g. {"layout":"acled"}
 *                         (not NUL-terminated; "{}" when none)
 *   out                   where to write the result; the host sets it to
 *                         {NULL, 0} before the call
 *
 * Returns CHRONICLE_STATUS_OK with the exported bytes in *out, or
 * CHRONICLE_STATUS_ERROR / CHRONICLE_STATUS_PANIC / CHRONICLE_STATUS_USAGE
 * with a UTF-8 message in *out. Any other value is treated by the host as an
 * error. Whatever the status, a non-NULL out->data is handed back to `free`.
 *
 * Must not unwind or longjmp across the boundary. May be called from
 * several threads at once. The same input must give the same bytes.
 */
typedef int32_t (*chronicle_export_fn)(const uint8_t *doc, size_t doc_len,
                                       const uint8_t *options,
                                       size_t options_len,
                                       chronicle_buffer *out);

/* Free a buffer returned by the export function (data and len as
 * returned). */
typedef void (*chronicle_free_fn)(uint8_t *data, size_t len);

/*
 * What a plugin declares about itself. Strings are NUL-terminated UTF-8 and
 * must stay valid as long as the library is loaded. No field may be NULL.
 *
 * Offsets on LP64 platforms (Linux, macOS on 64-bit): struct_size 0,
 * text 4, name 8, version 16, extension 24, description 32, export_fn 40,
 * free_fn 48; sizeof 56.
 */
typedef struct chronicle_plugin_declaration_v1 {
    /* sizeof(chronicle_plugin_declaration_v1) as the plugin was compiled. */
    uint32_t struct_size;
    /* CHRONICLE_OUTPUT_TEXT or CHRONICLE_OUTPUT_BINARY. */
    uint32_t text;
    /* The format name: [a-z0-9][a-z0-9_-]*, at most 64 bytes. */
    const char *name;
    /* The plugin's version, e.g. "0.1.0". */
    const char *version;
    /* File extension of the output without the dot, e.g. "md":
     * [A-Za-z0-9][A-Za-z0-9._-]*, at most 32 bytes. */
    const char *extension;
    /* One line describing the format. */
    const char *description;
    chronicle_export_fn export_fn;
    chronicle_free_fn free_fn;
    /* Later revisions append fields here and raise struct_size. */
} chronicle_plugin_declaration_v1;

/* ------------------------------------------------------------------------
 * Version 2: streamed exports.
 *
 * For one export the host calls, on one thread, one call at a time:
 *   begin(head, options)            once; on success the plugin's state
 *   n = passes_fn(state)            when not NULL (revision 2.1), else
 *                                   n = passes; 1 <= n <= passes
 *   for pass in 0 .. n-1:
 *     start_pass(state, pass, out)
 *     incident(state, pass, json, out)   for every incident, in document
 *                                        order (the same in every pass)
 *   finish(state, out)
 *   drop_state(state)               always, once begin succeeded (also
 *                                   after an error in between)
 * Any status other than CHRONICLE_STATUS_OK ends the export (then only
 * drop_state follows); its message goes in *message, which the host set to
 * {NULL, 0} and hands back to free_fn when not NULL.
 *
 * The head is the document without its incidents: a UTF-8 JSON object with
 * "schema", "provenance", "totals" (over all the incidents, known before the
 * first) and "incident_count". Each incident is one object of the document's
 * "incidents" (not NUL-terminated). Input is valid only during the call.
 *
 * Output goes through `out`, valid only during the call it is passed to:
 * out->write(out->ctx, data, len) hands bytes to the host at once (the host
 * writes them to a temporary file; nothing accumulates). It returns 0, or
 * non-zero when the host takes no more (its output limit, or the write came
 * outside a call): stop and return CHRONICLE_STATUS_ERROR; the host reports
 * its own reason. Declare 2 passes to gather aggregates (a date span, a list
 * of sources) in pass 0 before writing in pass 1. When some options need no
 * gathering pass, set passes_fn to say how many passes an export needs once
 * begin has seen its options; a host older than revision 2.1 does not call
 * it and runs all `passes`, so give it the passes you skip as no-ops.
 * ------------------------------------------------------------------------ */

/* Where a version-2 plugin writes its output. */
typedef struct chronicle_sink {
    void *ctx;
    int32_t (*write)(void *ctx, const uint8_t *data, size_t len);
} chronicle_sink;

typedef int32_t (*chronicle_begin_fn)(const uint8_t *head, size_t head_len,
                                      const uint8_t *options,
                                      size_t options_len, void **state,
                                      chronicle_buffer *message);
typedef int32_t (*chronicle_start_pass_fn)(void *state, uint32_t pass,
                                           const chronicle_sink *out,
                                           chronicle_buffer *message);
typedef int32_t (*chronicle_incident_fn)(void *state, uint32_t pass,
                                         const uint8_t *incident,
                                         size_t incident_len,
                                         const chronicle_sink *out,
                                         chronicle_buffer *message);
typedef int32_t (*chronicle_finish_fn)(void *state, const chronicle_sink *out,
                                       chronicle_buffer *message);
typedef void (*chronicle_drop_state_fn)(void *state);
/* Revision 2.1: how many passes this export needs (1 to the declared
 * `passes`), asked once after a successful begin. */
typedef uint32_t (*chronicle_passes_fn)(void *state);

/*
 * What a version-2 (streamed) plugin declares. As version 1's, it only grows
 * at the end; no pointer may be NULL except passes_fn.
 *
 * Offsets on LP64 platforms: struct_size 0, text 4, passes 8, reserved 12,
 * name 16, version 24, extension 32, description 40, begin 48,
 * start_pass 56, incident 64, finish 72, drop_state 80, free_fn 88,
 * passes_fn 96; sizeof 104. The first revision (2.0) ended at free_fn
 * (sizeof 96): hosts accept both, and read passes_fn only when struct_size
 * covers it.
 */
typedef struct chronicle_plugin_declaration_v2 {
    uint32_t struct_size;
    uint32_t text;     /* CHRONICLE_OUTPUT_TEXT or CHRONICLE_OUTPUT_BINARY */
    uint32_t passes;   /* 1 to CHRONICLE_MAX_PASSES */
    uint32_t reserved; /* 0 */
    const char *name;
    const char *version;
    const char *extension;
    const char *description;
    chronicle_begin_fn begin;
    chronicle_start_pass_fn start_pass;
    chronicle_incident_fn incident;
    chronicle_finish_fn finish;
    chronicle_drop_state_fn drop_state;
    chronicle_free_fn free_fn; /* frees message buffers */
    /* Revision 2.1: NULL, or how many passes an export needs. */
    chronicle_passes_fn passes_fn;
    /* Later revisions append fields here and raise struct_size. */
} chronicle_plugin_declaration_v2;

/* The symbols a plugin defines. CHRONICLE_PLUGIN_EXPORT makes them
 * visible when building with -fvisibility=hidden or on Windows. */
#if defined(_WIN32)
#define CHRONICLE_PLUGIN_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define CHRONICLE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define CHRONICLE_PLUGIN_EXPORT
#endif

CHRONICLE_PLUGIN_EXPORT uint32_t chronicle_plugin_abi_version(void);
CHRONICLE_PLUGIN_EXPORT const chronicle_plugin_declaration_v1 *
chronicle_plugin_declare_v1(void);
CHRONICLE_PLUGIN_EXPORT const chronicle_plugin_declaration_v2 *
chronicle_plugin_declare_v2(void);

#ifdef __cplusplus
}
#endif

#endif /* CHRONICLE_PLUGIN_H */
