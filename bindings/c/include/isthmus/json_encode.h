/*
 * isthmus/json_encode.h — the canonical encoder from the JSON value form (docs/layout.md
 * §5, §10), for tools and golden-vector tests. Not a hot path: it parses the JSON into a
 * small tree with malloc and frees it before returning. Header-only, C11 and C++17.
 *
 *   size_t n;
 *   isthmus_error err;
 *   if (isthmus_encode_json(&market_BookUpdate_type, json, strlen(json), buf, cap, &n, &err))
 *     fprintf(stderr, "%s at %s\n", isthmus_code_name(err.code), err.path);
 */
#ifndef ISTHMUS_JSON_ENCODE_H
#define ISTHMUS_JSON_ENCODE_H

#include "isthmus/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { ISTHMUS_J_NULL, ISTHMUS_J_BOOL, ISTHMUS_J_NUM, ISTHMUS_J_STR, ISTHMUS_J_ARR, ISTHMUS_J_OBJ } isthmus_jkind;

typedef struct isthmus_jnode {
  isthmus_jkind kind;
  int boolean;
  char *text;          /* number text, or the unescaped string (UTF-8, NUL-terminated) */
  size_t text_len;
  struct isthmus_jnode *items; /* array items or object values */
  char **keys;                 /* object keys */
  size_t count;
} isthmus_jnode;

typedef struct isthmus_jparser {
  const char *p, *end;
  int failed;
} isthmus_jparser;

static inline void isthmus_jfree_(isthmus_jnode *n) {
  free(n->text);
  for (size_t i = 0; i < n->count; i++) {
    isthmus_jfree_(&n->items[i]);
    if (n->keys) free(n->keys[i]);
  }
  free(n->items);
  free(n->keys);
}

static inline void isthmus_jws_(isthmus_jparser *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

static inline void isthmus_jutf8_(char *out, size_t *n, uint32_t cp) {
  if (cp < 0x80) out[(*n)++] = (char)cp;
  else if (cp < 0x800) { out[(*n)++] = (char)(0xc0 | (cp >> 6)); out[(*n)++] = (char)(0x80 | (cp & 0x3f)); }
  else if (cp < 0x10000) { out[(*n)++] = (char)(0xe0 | (cp >> 12)); out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f)); out[(*n)++] = (char)(0x80 | (cp & 0x3f)); }
  else { out[(*n)++] = (char)(0xf0 | (cp >> 18)); out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f)); out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f)); out[(*n)++] = (char)(0x80 | (cp & 0x3f)); }
}

static inline int isthmus_jhex4_(isthmus_jparser *j, uint32_t *v) {
  if (j->end - j->p < 4) return -1;
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = *j->p++;
    *v <<= 4;
    if (c >= '0' && c <= '9') *v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') *v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') *v |= (uint32_t)(c - 'A' + 10);
    else return -1;
  }
  return 0;
}

static inline char *isthmus_jstring_(isthmus_jparser *j, size_t *len) {
  if (j->p >= j->end || *j->p != '"') return NULL;
  j->p++;
  char *out = (char *)malloc((size_t)(j->end - j->p) + 1);
  size_t n = 0;
  if (!out) return NULL;
  while (j->p < j->end && *j->p != '"') {
    char c = *j->p++;
    if (c != '\\') { out[n++] = c; continue; }
    if (j->p >= j->end) break;
    c = *j->p++;
    switch (c) {
      case 'n': out[n++] = '\n'; break;
      case 't': out[n++] = '\t'; break;
      case 'r': out[n++] = '\r'; break;
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'u': {
        uint32_t cp, lo;
        if (isthmus_jhex4_(j, &cp)) goto fail;
        if (cp >= 0xd800 && cp <= 0xdbff && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
          j->p += 2;
          if (isthmus_jhex4_(j, &lo)) goto fail;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        isthmus_jutf8_(out, &n, cp);
        break;
      }
      default: out[n++] = c;
    }
  }
  if (j->p >= j->end) goto fail;
  j->p++;
  out[n] = 0;
  *len = n;
  return out;
fail:
  free(out);
  return NULL;
}

static inline int isthmus_jvalue_(isthmus_jparser *j, isthmus_jnode *n, int depth) {
  memset(n, 0, sizeof *n);
  isthmus_jws_(j);
  if (j->p >= j->end || depth > 64) return -1;
  char c = *j->p;
  if (c == '{' || c == '[') {
    int obj = c == '{';
    size_t cap = 0;
    n->kind = obj ? ISTHMUS_J_OBJ : ISTHMUS_J_ARR;
    j->p++;
    isthmus_jws_(j);
    if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; return 0; }
    for (;;) {
      if (n->count == cap) {
        cap = cap ? cap * 2 : 8;
        isthmus_jnode *items = (isthmus_jnode *)realloc(n->items, cap * sizeof *items);
        if (!items) return -1;
        n->items = items;
        if (obj) {
          char **keys = (char **)realloc(n->keys, cap * sizeof *keys);
          if (!keys) return -1;
          n->keys = keys;
        }
      }
      memset(&n->items[n->count], 0, sizeof *n->items);
      if (obj) n->keys[n->count] = NULL;
      if (obj) {
        size_t kl;
        isthmus_jws_(j);
        n->keys[n->count] = isthmus_jstring_(j, &kl);
        if (!n->keys[n->count]) { n->count++; return -1; }
        isthmus_jws_(j);
        if (j->p >= j->end || *j->p++ != ':') { n->count++; return -1; }
      }
      int r = isthmus_jvalue_(j, &n->items[n->count], depth + 1);
      n->count++;
      if (r) return -1;
      isthmus_jws_(j);
      if (j->p < j->end && *j->p == ',') { j->p++; continue; }
      if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; return 0; }
      return -1;
    }
  }
  if (c == '"') {
    n->kind = ISTHMUS_J_STR;
    n->text = isthmus_jstring_(j, &n->text_len);
    return n->text ? 0 : -1;
  }
  if ((size_t)(j->end - j->p) >= 4 && !memcmp(j->p, "null", 4)) { j->p += 4; n->kind = ISTHMUS_J_NULL; return 0; }
  if ((size_t)(j->end - j->p) >= 4 && !memcmp(j->p, "true", 4)) { j->p += 4; n->kind = ISTHMUS_J_BOOL; n->boolean = 1; return 0; }
  if ((size_t)(j->end - j->p) >= 5 && !memcmp(j->p, "false", 5)) { j->p += 5; n->kind = ISTHMUS_J_BOOL; return 0; }
  const char *s = j->p;
  while (j->p < j->end && strchr("+-0123456789.eE", *j->p)) j->p++;
  if (j->p == s) return -1;
  n->kind = ISTHMUS_J_NUM;
  n->text_len = (size_t)(j->p - s);
  n->text = (char *)malloc(n->text_len + 1);
  if (!n->text) return -1;
  memcpy(n->text, s, n->text_len);
  n->text[n->text_len] = 0;
  return 0;
}

typedef struct isthmus_enc {
  isthmus_builder b;
  isthmus_error *err;
} isthmus_enc;

static inline int isthmus_enc_fail_(isthmus_enc *e, const char *path, int64_t value) {
  if (e->err) {
    e->err->code = ISTHMUS_E_ENCODE;
    snprintf(e->err->path, sizeof e->err->path, "%s", path);
    e->err->value = value;
  }
  return -1;
}

static inline int isthmus_enc_int_(isthmus_enc *e, const isthmus_jnode *n, isthmus_kind k, uint8_t *at, const char *path) {
  static const int64_t lo[] = {0, 0, 0, 0, 0, -128, -32768, -2147483647 - 1, 0};
  static const int64_t hi[] = {1, 255, 65535, 4294967295LL, 0, 127, 32767, 2147483647, 0};
  if (n->kind != ISTHMUS_J_NUM && !(n->kind == ISTHMUS_J_STR && (k == ISTHMUS_U64 || k == ISTHMUS_I64))) return isthmus_enc_fail_(e, path, 0);
  char *end;
  if (k == ISTHMUS_U64) {
    if (n->text[0] == '-') return isthmus_enc_fail_(e, path, 0);
    unsigned long long v = strtoull(n->text, &end, 10);
    if (*end || end == n->text) return isthmus_enc_fail_(e, path, 0);
    isthmus_st64(at, v);
    return 0;
  }
  long long v = strtoll(n->text, &end, 10);
  if (*end || end == n->text) return isthmus_enc_fail_(e, path, 0);
  if (k == ISTHMUS_I64) { isthmus_st64(at, (uint64_t)v); return 0; }
  int idx = (int)(k - ISTHMUS_BOOL);
  if (v < lo[idx] || v > hi[idx]) return isthmus_enc_fail_(e, path, v);
  switch (k) {
    case ISTHMUS_U8: case ISTHMUS_I8: at[0] = (uint8_t)v; break;
    case ISTHMUS_U16: case ISTHMUS_I16: isthmus_st16(at, (uint16_t)v); break;
    default: isthmus_st32(at, (uint32_t)v); break;
  }
  return 0;
}

static inline int isthmus_enc_value_(isthmus_enc *e, const isthmus_type *t, uint8_t *at, const isthmus_jnode *n, char *path, size_t plen);

static inline int isthmus_enc_record_(isthmus_enc *e, const isthmus_type *t, uint8_t *at, const isthmus_jnode *n, char *path, size_t plen) {
  static const isthmus_jnode null_node = {ISTHMUS_J_NULL, 0, NULL, 0, NULL, NULL, 0};
  if (n->kind == ISTHMUS_J_NULL) n = &null_node;
  else if (n->kind != ISTHMUS_J_OBJ) return isthmus_enc_fail_(e, path, 0);
  for (size_t k = 0; k < n->count; k++) {
    uint32_t i = 0;
    while (i < t->field_count && strcmp(t->fields[i].name, n->keys[k])) i++;
    if (i == t->field_count) {
      size_t l = strlen(path);
      snprintf(path + l, plen - l, ".%s", n->keys[k]);
      return isthmus_enc_fail_(e, path, 0);
    }
  }
  for (uint32_t i = 0; i < t->field_count; i++) {
    const isthmus_field *f = &t->fields[i];
    const isthmus_jnode *v = &null_node;
    for (size_t k = 0; k < n->count; k++) if (!strcmp(n->keys[k], f->name)) v = &n->items[k];
    size_t l = strlen(path);
    snprintf(path + l, plen - l, ".%s", f->name);
    if (f->presence_offset >= 0) {
      if (v->kind == ISTHMUS_J_NULL) { path[l] = 0; continue; }
      at[f->presence_offset] |= (uint8_t)(1u << f->presence_bit);
    }
    if (isthmus_enc_value_(e, f->type, at + f->offset, v, path, plen)) return -1;
    path[l] = 0;
  }
  return 0;
}

static inline int isthmus_b64_(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static inline int isthmus_enc_value_(isthmus_enc *e, const isthmus_type *t, uint8_t *at, const isthmus_jnode *n, char *path, size_t plen) {
  switch (t->kind) {
    case ISTHMUS_BOOL:
      if (n->kind == ISTHMUS_J_NULL) return 0;
      if (n->kind != ISTHMUS_J_BOOL) return isthmus_enc_fail_(e, path, 0);
      at[0] = (uint8_t)n->boolean;
      return 0;
    case ISTHMUS_U8: case ISTHMUS_U16: case ISTHMUS_U32: case ISTHMUS_U64:
    case ISTHMUS_I8: case ISTHMUS_I16: case ISTHMUS_I32: case ISTHMUS_I64:
      return n->kind == ISTHMUS_J_NULL ? 0 : isthmus_enc_int_(e, n, t->kind, at, path);
    case ISTHMUS_F32: case ISTHMUS_F64: {
      double d;
      if (n->kind == ISTHMUS_J_NULL) return 0;
      if (n->kind == ISTHMUS_J_STR && !strcmp(n->text, "NaN")) d = strtod("nan", NULL);
      else if (n->kind == ISTHMUS_J_STR && !strcmp(n->text, "Infinity")) d = strtod("inf", NULL);
      else if (n->kind == ISTHMUS_J_STR && !strcmp(n->text, "-Infinity")) d = -strtod("inf", NULL);
      else if (n->kind == ISTHMUS_J_NUM) d = strtod(n->text, NULL);
      else return isthmus_enc_fail_(e, path, 0);
      if (t->kind == ISTHMUS_F32) { float f = (float)d; uint32_t b; memcpy(&b, &f, 4); isthmus_st32(at, b); }
      else { uint64_t b; memcpy(&b, &d, 8); isthmus_st64(at, b); }
      return 0;
    }
    case ISTHMUS_ENUM: {
      int64_t v = 0;
      int found = 0;
      for (uint32_t i = 0; i < t->value_count; i++) {
        if (n->kind == ISTHMUS_J_STR && !strcmp(n->text, t->values[i].name)) { v = t->values[i].value; found = 1; }
        if (n->kind == ISTHMUS_J_NULL && t->values[i].value == 0) found = 1;
        if (n->kind == ISTHMUS_J_NUM && t->values[i].value == strtoll(n->text, NULL, 10)) { v = t->values[i].value; found = 1; }
      }
      if (!found) return isthmus_enc_fail_(e, path, v);
      switch (t->base) {
        case ISTHMUS_U8: case ISTHMUS_I8: at[0] = (uint8_t)v; break;
        case ISTHMUS_U16: case ISTHMUS_I16: isthmus_st16(at, (uint16_t)v); break;
        default: isthmus_st32(at, (uint32_t)v); break;
      }
      return 0;
    }
    case ISTHMUS_STRUCT:
      return isthmus_enc_record_(e, t, at, n, path, plen);
    case ISTHMUS_ARRAY: {
      if (n->kind == ISTHMUS_J_NULL) return 0;
      if (n->kind != ISTHMUS_J_ARR || n->count > t->length) return isthmus_enc_fail_(e, path, (int64_t)n->count);
      static const isthmus_jnode null_node = {ISTHMUS_J_NULL, 0, NULL, 0, NULL, NULL, 0};
      size_t l = strlen(path);
      for (uint32_t i = 0; i < t->length; i++) {
        snprintf(path + l, plen - l, "[%u]", i);
        if (isthmus_enc_value_(e, t->element, at + (size_t)i * t->stride, i < n->count ? &n->items[i] : &null_node, path, plen)) return -1;
      }
      path[l] = 0;
      return 0;
    }
    case ISTHMUS_STRING:
      if (n->kind == ISTHMUS_J_NULL || (n->kind == ISTHMUS_J_STR && n->text_len == 0)) return 0;
      if (n->kind != ISTHMUS_J_STR) return isthmus_enc_fail_(e, path, 0);
      return isthmus_builder_set_bytes(&e->b, (isthmus_ref *)(void *)at, n->text, n->text_len) ? isthmus_enc_fail_(e, path, 0) : 0;
    case ISTHMUS_BYTES: {
      if (n->kind == ISTHMUS_J_NULL || (n->kind == ISTHMUS_J_STR && n->text_len == 0)) return 0;
      if (n->kind != ISTHMUS_J_STR || n->text_len % 4) return isthmus_enc_fail_(e, path, 0);
      size_t out_len = n->text_len / 4 * 3 - (n->text[n->text_len - 1] == '=') - (n->text[n->text_len - 2] == '=');
      uint8_t *dst = (uint8_t *)isthmus_builder_init_ref(&e->b, (isthmus_ref *)(void *)at, (uint32_t)out_len, 1);
      if (!dst) return isthmus_enc_fail_(e, path, 0);
      size_t o = 0;
      for (size_t i = 0; i < n->text_len; i += 4) {
        int a = isthmus_b64_(n->text[i]), b = isthmus_b64_(n->text[i + 1]);
        int c = n->text[i + 2] == '=' ? 0 : isthmus_b64_(n->text[i + 2]), d = n->text[i + 3] == '=' ? 0 : isthmus_b64_(n->text[i + 3]);
        if (a < 0 || b < 0 || c < 0 || d < 0) return isthmus_enc_fail_(e, path, 0);
        uint32_t v = (uint32_t)(a << 18 | b << 12 | c << 6 | d);
        if (o < out_len) dst[o++] = (uint8_t)(v >> 16);
        if (o < out_len) dst[o++] = (uint8_t)(v >> 8);
        if (o < out_len) dst[o++] = (uint8_t)v;
      }
      return 0;
    }
    case ISTHMUS_VECTOR: {
      if (n->kind == ISTHMUS_J_NULL || (n->kind == ISTHMUS_J_ARR && n->count == 0)) return 0;
      if (n->kind != ISTHMUS_J_ARR) return isthmus_enc_fail_(e, path, 0);
      uint8_t *block = (uint8_t *)isthmus_builder_init_ref(&e->b, (isthmus_ref *)(void *)at, (uint32_t)n->count, t->stride);
      if (!block) return isthmus_enc_fail_(e, path, (int64_t)n->count);
      size_t l = strlen(path);
      for (size_t i = 0; i < n->count; i++) {
        snprintf(path + l, plen - l, "[%u]", (unsigned)i);
        if (isthmus_enc_value_(e, t->element, block + i * t->stride, &n->items[i], path, plen)) return -1;
      }
      path[l] = 0;
      return 0;
    }
    case ISTHMUS_UNION: {
      if (n->kind == ISTHMUS_J_NULL) return 0;
      if (n->kind != ISTHMUS_J_OBJ || n->count != 1) return isthmus_enc_fail_(e, path, 0);
      for (uint32_t i = 0; i < t->case_count; i++) {
        if (strcmp(t->cases[i].name, n->keys[0])) continue;
        uint8_t *v = (uint8_t *)isthmus_builder_init_union(&e->b, (isthmus_union_ref *)(void *)at, i + 1, t->cases[i].size);
        if (!v) return isthmus_enc_fail_(e, path, 0);
        size_t l = strlen(path);
        snprintf(path + l, plen - l, ".%s", t->cases[i].name);
        if (isthmus_enc_value_(e, t->cases[i].type, v, &n->items[0], path, plen)) return -1;
        path[l] = 0;
        return 0;
      }
      return isthmus_enc_fail_(e, path, 0);
    }
    default:
      return isthmus_enc_fail_(e, path, 0);
  }
}

/*
 * Writes the canonical encoding of the JSON value `json[0, json_len)` as message type `t`
 * into out[0, cap). Returns 0 and sets *out_len, or -1 with err->code ISTHMUS_E_ENCODE and
 * err->path naming the field (capacity exhaustion is reported the same way).
 */
static inline int isthmus_encode_json(const isthmus_type *t, const char *json, size_t json_len, void *out, size_t cap, size_t *out_len, isthmus_error *err) {
  isthmus_jparser j = {json, json + json_len, 0};
  isthmus_jnode root;
  isthmus_enc e;
  char path[256];
  int r = -1;
  if (err) memset(err, 0, sizeof *err);
  e.err = err;
  snprintf(path, sizeof path, "%s", isthmus_short_name_(t->name));
  if (isthmus_jvalue_(&j, &root, 0)) {
    isthmus_enc_fail_(&e, "(json)", (int64_t)(j.p - json));
  } else {
    uint8_t *fixed = (uint8_t *)isthmus_builder_init(&e.b, t, out, cap);
    if (!fixed) isthmus_enc_fail_(&e, path, (int64_t)cap);
    else if (!isthmus_enc_record_(&e, t, fixed, &root, path, sizeof path)) {
      size_t n = isthmus_builder_finish(&e.b);
      if (n) {
        *out_len = n;
        r = 0;
      } else {
        isthmus_enc_fail_(&e, path, (int64_t)cap);
      }
    }
  }
  isthmus_jfree_(&root);
  return r;
}

#ifdef __cplusplus
}
#endif
#endif /* ISTHMUS_JSON_ENCODE_H */
