/*
 * A streamed (ABI version 2) export plugin in C, with no library: it counts
 * the incidents in pass 0 and writes one line in pass 1. It shows the calls
 * (begin, start_pass, incident, finish, drop_state), the output sink and the
 * state; a real plugin reads the incident's JSON with a JSON library (see
 * plugins/c-template/).
 *
 *   cc -std=c99 -shared -fPIC -I plugins/include -o \
 *       libchronicle_plugin_c_stream.so plugins/c-example/stream.c
 */
#include "chronicle_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct state {
    unsigned long counted;  /* pass 0 */
    unsigned long written;  /* pass 1 */
} state;

static int32_t fail(chronicle_buffer *message, int32_t status, const char *text) {
    size_t len = strlen(text);
    message->data = malloc(len);
    if (message->data != NULL) {
        memcpy(message->data, text, len);
        message->len = len;
    }
    return status;
}

/* Whether `len` bytes at `text` contain `word`. */
static int contains(const uint8_t *text, size_t len, const char *word) {
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(text + i, word, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static int32_t begin(const uint8_t *head, size_t head_len, const uint8_t *options,
                     size_t options_len, void **out_state, chronicle_buffer *message) {
    /* A cheap check of the head (a real plugin parses it): a JSON object of the schema. */
    if (head_len < 2 || head[0] != '{' || head[head_len - 1] != '}' ||
        !contains(head, head_len, "\"chronicle.views/1\"")) {
        return fail(message, CHRONICLE_STATUS_ERROR,
                    "the view document's head is not a chronicle.views/1 object");
    }
    /* This format takes no options: anything but {} is the user's mistake. */
    if (options_len > 2 || (options_len == 2 && memcmp(options, "{}", 2) != 0)) {
        return fail(message, CHRONICLE_STATUS_USAGE, "c-stream takes no options");
    }
    state *s = calloc(1, sizeof(state));
    if (s == NULL) {
        return fail(message, CHRONICLE_STATUS_ERROR, "out of memory");
    }
    *out_state = s;
    return CHRONICLE_STATUS_OK;
}

static int32_t start_pass(void *st, uint32_t pass, const chronicle_sink *out,
                          chronicle_buffer *message) {
    (void)st;
    (void)pass;
    (void)out;
    (void)message;
    return CHRONICLE_STATUS_OK;
}

static int32_t incident(void *st, uint32_t pass, const uint8_t *json, size_t len,
                        const chronicle_sink *out, chronicle_buffer *message) {
    state *s = st;
    (void)json;
    (void)len;
    (void)out;
    (void)message;
    if (pass == 0) {
        s->counted++;
    } else {
        s->written++;
    }
    return CHRONICLE_STATUS_OK;
}

static int32_t finish(void *st, const chronicle_sink *out, chronicle_buffer *message) {
    state *s = st;
    char line[96];
    int n = snprintf(line, sizeof line, "%lu incidents of %lu, in 2 passes\n", s->written,
                     s->counted);
    if (n < 0 || out->write(out->ctx, (const uint8_t *)line, (size_t)n) != 0) {
        return fail(message, CHRONICLE_STATUS_ERROR, "chronicle took no more output");
    }
    return CHRONICLE_STATUS_OK;
}

static void drop_state(void *st) { free(st); }

static void free_buffer(uint8_t *data, size_t len) {
    (void)len;
    free(data);
}

static const chronicle_plugin_declaration_v2 declaration = {
    sizeof(chronicle_plugin_declaration_v2),
    CHRONICLE_OUTPUT_TEXT,
    2, /* passes */
    0,
    "c-stream",
    "0.1.0",
    "txt",
    "Counts incidents, streamed (a C example of ABI version 2)",
    begin,
    start_pass,
    incident,
    finish,
    drop_state,
    free_buffer,
    NULL, /* passes_fn: every export takes both passes */
};

CHRONICLE_PLUGIN_EXPORT uint32_t chronicle_plugin_abi_version(void) {
    return 2u; /* its only declaration: version 2 */
}

CHRONICLE_PLUGIN_EXPORT const chronicle_plugin_declaration_v2 *chronicle_plugin_declare_v2(void) {
    return &declaration;
}
