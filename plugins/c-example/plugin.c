/*
 * A chronicle export plugin written in C, using only chronicle_plugin.h.
 *
 * Format "c-example": a plain-text note of what the plugin received. It does
 * not parse JSON (a real C plugin would use a JSON library); it shows the
 * ABI: declaration, output ownership, error messages, the free function.
 * The option "fail" makes it return an error with that option's value as the
 * message; any other option is refused.
 *
 * Build (Linux):
 *   cc -std=c99 -shared -fPIC -I plugins/include \
 *      -o libchronicle_plugin_c_example.so plugins/c-example/plugin.c
 */
#include "chronicle_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Count non-overlapping occurrences of `needle` in a byte buffer. */
static size_t count(const uint8_t *hay, size_t len, const char *needle) {
    size_t n = strlen(needle), found = 0, i = 0;
    if (hay == NULL || n == 0) return 0;
    while (i + n <= len) {
        if (memcmp(hay + i, needle, n) == 0) {
            found++;
            i += n;
        } else {
            i++;
        }
    }
    return found;
}

/* Copy `len` bytes into a new malloc'd buffer for the host. */
static int32_t give(chronicle_buffer *out, const char *bytes, size_t len,
                    int32_t status) {
    out->data = malloc(len > 0 ? len : 1);
    if (out->data == NULL) {
        out->len = 0;
        return CHRONICLE_STATUS_ERROR;
    }
    memcpy(out->data, bytes, len);
    out->len = len;
    return status;
}

static int32_t export_fn(const uint8_t *doc, size_t doc_len,
                         const uint8_t *options, size_t options_len,
                         chronicle_buffer *out) {
    const char *key = "\"fail\":\"";
    char text[512];
    int n;
    size_t i, total = doc_len;

    if (out == NULL) return CHRONICLE_STATUS_ERROR;
    /* {"fail":"message"}: return the message as an error. */
    for (i = 0; options != NULL && i + strlen(key) <= options_len; i++) {
        if (memcmp(options + i, key, strlen(key)) == 0) {
            size_t start = i + strlen(key), end = start;
            while (end < options_len && options[end] != '"') end++;
            return give(out, (const char *)options + start, end - start,
                        CHRONICLE_STATUS_ERROR);
        }
    }
    /* Any other option is a mistake the user should hear about. */
    if (options_len > 2) {
        static const char unknown[] =
            "unknown option: the c-example format only takes the option fail";
        return give(out, unknown, sizeof unknown - 1, CHRONICLE_STATUS_ERROR);
    }
    /* Without a JSON parser, at least refuse a truncated document. */
    while (doc_len > 0 && (doc[doc_len - 1] == ' ' || doc[doc_len - 1] == '\n' ||
                           doc[doc_len - 1] == '\r' || doc[doc_len - 1] == '\t'))
        doc_len--;
    if (doc == NULL || doc_len == 0 || doc[0] != '{' || doc[doc_len - 1] != '}') {
        static const char truncated[] = "the view document is not a JSON object";
        return give(out, truncated, sizeof truncated - 1, CHRONICLE_STATUS_ERROR);
    }
    n = snprintf(text, sizeof text,
                 "chronicle C example plugin\n"
                 "view document: %lu bytes, schema chronicle.views/1: %s\n"
                 "sources' figures: %lu\n"
                 "options: %lu bytes\n",
                 (unsigned long)total,
                 count(doc, doc_len, "\"chronicle.views/1\"") ? "yes" : "no",
                 (unsigned long)count(doc, doc_len, "\"corrected\""),
                 (unsigned long)options_len);
    if (n < 0) return give(out, "snprintf failed", 15, CHRONICLE_STATUS_ERROR);
    return give(out, text, (size_t)n, CHRONICLE_STATUS_OK);
}

static void free_fn(uint8_t *data, size_t len) {
    (void)len;
    free(data);
}

static const chronicle_plugin_declaration_v1 declaration = {
    sizeof(chronicle_plugin_declaration_v1),
    CHRONICLE_OUTPUT_TEXT,
    "c-example",
    "1.0.0",
    "txt",
    "What the plugin received, from a plugin written in C",
    export_fn,
    free_fn,
};

uint32_t chronicle_plugin_abi_version(void) {
    return 1u; /* the oldest (and only) declaration it exports: version 1 */
}

const chronicle_plugin_declaration_v1 *chronicle_plugin_declare_v1(void) {
    return &declaration;
}
