/* A chronicle export plugin in C: incidents as tab-separated values.
 * Copy this directory, change the format name, the columns and the library name in the
 * Makefile. The document is parsed with cJSON (Debian/Ubuntu: libcjson-dev); its fields are
 * in `chronicle plugins schema` (docs/chronicle.views-1.schema.json). */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <chronicle_plugin.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define get(obj, key) cJSON_GetObjectItemCaseSensitive(obj, key)

/* A string field ("" when null), tabs and line breaks made spaces, then `end`. */
static void cell(FILE *f, const cJSON *obj, const char *key, const char *end) {
    const char *s = cJSON_GetStringValue(get(obj, key));
    for (; s && *s; s++) fputc(strchr("\t\r\n", *s) ? ' ' : *s, f);
    fputs(end, f);
}

/* A range as `17`, `8-17` or `14+` ("" when no source gave a figure), then `end`. */
static void range(FILE *f, const cJSON *r, const char *end) {
    const cJSON *lo = get(r, "low"), *hi = get(r, "high");
    const char *plus = cJSON_IsTrue(get(r, "open_high")) ? "+" : "";
    if (cJSON_IsNumber(lo) && cJSON_IsNumber(hi) && hi->valuedouble != lo->valuedouble)
        fprintf(f, "%.0f-%.0f%s", lo->valuedouble, hi->valuedouble, plus);
    else if (cJSON_IsNumber(lo))
        fprintf(f, "%.0f%s", lo->valuedouble, plus);
    fputs(end, f);
}

/* Returns `status` with `message` in *out (the host hands it back to free_buffer). */
static int32_t fail(chronicle_buffer *out, int32_t status, const char *message) {
    size_t n = strlen(message);
    if ((out->data = malloc(n)) != NULL) memcpy(out->data, message, out->len = n);
    return status;
}

/* {"header":"yes"|"no"}: 1 or 0; -1 for anything else (a usage error). */
static int header_option(const uint8_t *options, size_t options_len) {
    int header = 1;
    cJSON *opts = cJSON_ParseWithLength((const char *)options, options_len), *o;
    cJSON_ArrayForEach(o, opts) {
        const char *v = cJSON_GetStringValue(o), *k = o->string;
        if (!k || strcmp(k, "header") || !v || (strcmp(v, "yes") && strcmp(v, "no")))
            header = -1;
        else if (header >= 0)
            header = strcmp(v, "yes") == 0;
    }
    cJSON_Delete(opts);
    return header;
}

static int32_t export_tsv(const uint8_t *doc, size_t doc_len, const uint8_t *options,
                          size_t options_len, chronicle_buffer *out) {
    int header = header_option(options, options_len);
    if (header < 0) /* chronicle exits with 2, as for any bad input */
        return fail(out, CHRONICLE_STATUS_USAGE, "this format takes one option: header=yes|no");
    cJSON *d = cJSON_ParseWithLength((const char *)doc, doc_len), *i, *s;
    const char *schema = cJSON_GetStringValue(get(d, "schema"));
    if (!schema || strcmp(schema, "chronicle.views/1") != 0) {
        cJSON_Delete(d);
        return fail(out, CHRONICLE_STATUS_ERROR, "not a chronicle.views/1 document");
    }
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    if (!f) { cJSON_Delete(d); return fail(out, CHRONICLE_STATUS_ERROR, "out of memory"); }
    if (header) fputs("incident\tdate\tprovince\tkilled\twounded\tsources\n", f);
    cJSON_ArrayForEach(i, get(d, "incidents")) {
        cell(f, i, "incident", "\t"), cell(f, i, "date", "\t"), cell(f, i, "province", "\t");
        range(f, get(i, "killed"), "\t"), range(f, get(i, "wounded"), "\t");
        cJSON_ArrayForEach(s, get(i, "sources")) { /* AFP 17; Ministry of Defense 8 */
            cell(f, s, "source", " ");
            cell(f, get(s, "killed"), "text", s->next ? "; " : "");
        }
        fputc('\n', f);
    }
    cJSON_Delete(d);
    int failed = ferror(f) | fclose(f);
    if (failed) { free(data); return fail(out, CHRONICLE_STATUS_ERROR, "out of memory"); }
    out->data = (uint8_t *)data, out->len = len;
    return CHRONICLE_STATUS_OK;
}

static void free_buffer(uint8_t *data, size_t len) { (void)len; free(data); }

static const chronicle_plugin_declaration_v1 declaration = {
    sizeof declaration, CHRONICLE_OUTPUT_TEXT, "tsv" /* the format name */, "0.1.0", "tsv",
    "Incidents as tab-separated values (built from plugins/c-template)", export_tsv, free_buffer};

CHRONICLE_PLUGIN_EXPORT uint32_t chronicle_plugin_abi_version(void) {
    return 1u; /* the oldest (and only) declaration it exports: version 1 */
}
CHRONICLE_PLUGIN_EXPORT const chronicle_plugin_declaration_v1 *chronicle_plugin_declare_v1(void) {
    return &declaration;
}
