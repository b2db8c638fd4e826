/*
 * isthmus/json_encode.h: the canonical encoder from the JSON value form (docs/layout.md
 * §5, §10), for tools and golden-vector tests. Not a hot path: it parses the JSON text
 * into a tree with malloc and frees it before returning. Header-only, C11 and C++17.
 *
 *   size_t n;
 *   isthmus_error err;
 *   if (isthmus_encode_json(&isthmus_desc_market_BookUpdate, json, strlen(json), buf, cap, &n, &err))
 *     fprintf(stderr, "%s at %s: %s\n", isthmus_error_code_name(err.code), err.path, err.message);
 *
 * The parser is strict RFC 8259: one value, no trailing text, no raw control characters or
 * lone surrogates in strings, well-formed UTF-8, nesting at most 64 deep, no duplicate keys.
 * Values follow §10: a missing key or null means the default (an optional field: absent);
 * u64/i64 take an integer literal or a decimal string; an unknown key is an error.
 */
#ifndef ISTHMUS_JSON_ENCODE_H
#define ISTHMUS_JSON_ENCODE_H

#include "isthmus/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum isthmus_jkind_ { ISTHMUS_J_NULL, ISTHMUS_J_BOOL, ISTHMUS_J_NUM, ISTHMUS_J_STR, ISTHMUS_J_ARR, ISTHMUS_J_OBJ } isthmus_jkind_;

/* A parsed JSON value. Objects keep their keys in `keys`, parallel to `items`. */
typedef struct isthmus_jnode_ {
  isthmus_jkind_ kind;
  int boolean;
  int integer;                  /* number: no fraction and no exponent */
  char *text;                   /* number text, or the decoded string (NUL-terminated) */
  size_t len;
  struct isthmus_jnode_ *items; /* array items, object values */
  struct isthmus_jnode_ *keys;  /* object keys (J_STR nodes) */
  size_t count;
} isthmus_jnode_;

typedef struct isthmus_jparser_ {
  const char *start, *p, *end;
  const char *why;              /* the first syntax error */
} isthmus_jparser_;

static inline void isthmus_jfree_(isthmus_jnode_ *n) {
  free(n->text);
  for (size_t i = 0; i < n->count; i++) {
    isthmus_jfree_(&n->items[i]);
    if (n->keys) isthmus_jfree_(&n->keys[i]);
  }
  free(n->items);
  free(n->keys);
}

static inline int isthmus_jerr_(isthmus_jparser_ *j, const char *why) {
  if (!j->why) j->why = why;
  return -1;
}

static inline void isthmus_jws_(isthmus_jparser_ *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

static inline int isthmus_jhex4_(isthmus_jparser_ *j, uint32_t *v) {
  if (j->end - j->p < 4) return isthmus_jerr_(j, "truncated \\u escape");
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = *j->p++;
    *v <<= 4;
    if (c >= '0' && c <= '9') *v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') *v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') *v |= (uint32_t)(c - 'A' + 10);
    else return isthmus_jerr_(j, "bad hex digit in \\u escape");
  }
  return 0;
}

static inline void isthmus_jutf8_(char *out, size_t *n, uint32_t cp) {
  if (cp < 0x80) out[(*n)++] = (char)cp;
  else if (cp < 0x800) { out[(*n)++] = (char)(0xc0 | (cp >> 6)); out[(*n)++] = (char)(0x80 | (cp & 0x3f)); }
  else if (cp < 0x10000) { out[(*n)++] = (char)(0xe0 | (cp >> 12)); out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f)); out[(*n)++] = (char)(0x80 | (cp & 0x3f)); }
  else { out[(*n)++] = (char)(0xf0 | (cp >> 18)); out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f)); out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f)); out[(*n)++] = (char)(0x80 | (cp & 0x3f)); }
}

/* A JSON string at j->p into n (J_STR). Escapes never make the text longer than its source. */
static inline int isthmus_jstring_(isthmus_jparser_ *j, isthmus_jnode_ *n) {
  n->kind = ISTHMUS_J_STR;
  j->p++;
  n->text = (char *)malloc((size_t)(j->end - j->p) + 1);
  if (!n->text) return isthmus_jerr_(j, "out of memory");
  size_t len = 0;
  for (;;) {
    if (j->p >= j->end) return isthmus_jerr_(j, "unterminated string");
    unsigned char c = (unsigned char)*j->p++;
    if (c == '"') break;
    if (c < 0x20) return isthmus_jerr_(j, "raw control character in string");
    if (c != '\\') { n->text[len++] = (char)c; continue; }
    if (j->p >= j->end) return isthmus_jerr_(j, "unterminated string");
    c = (unsigned char)*j->p++;
    switch (c) {
      case '"': case '\\': case '/': n->text[len++] = (char)c; break;
      case 'b': n->text[len++] = '\b'; break;
      case 'f': n->text[len++] = '\f'; break;
      case 'n': n->text[len++] = '\n'; break;
      case 'r': n->text[len++] = '\r'; break;
      case 't': n->text[len++] = '\t'; break;
      case 'u': {
        uint32_t cp, lo;
        if (isthmus_jhex4_(j, &cp)) return -1;
        if (cp >= 0xdc00 && cp <= 0xdfff) return isthmus_jerr_(j, "lone low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') return isthmus_jerr_(j, "lone high surrogate");
          j->p += 2;
          if (isthmus_jhex4_(j, &lo)) return -1;
          if (lo < 0xdc00 || lo > 0xdfff) return isthmus_jerr_(j, "high surrogate without a low surrogate");
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        isthmus_jutf8_(n->text, &len, cp);
        break;
      }
      default: return isthmus_jerr_(j, "unknown escape");
    }
  }
  n->text[len] = 0;
  n->len = len;
  if (isthmus_utf8_invalid_at((const uint8_t *)n->text, len) >= 0) return isthmus_jerr_(j, "invalid UTF-8 in string");
  return 0;
}

/* A JSON number at j->p (RFC 8259 grammar) into n (J_NUM). */
static inline int isthmus_jnumber_(isthmus_jparser_ *j, isthmus_jnode_ *n) {
  const char *s = j->p, *e = j->end, *p = s;
  n->kind = ISTHMUS_J_NUM;
  n->integer = 1;
  if (p < e && *p == '-') p++;
  if (p < e && *p == '0') p++;
  else if (p < e && *p >= '1' && *p <= '9') while (p < e && *p >= '0' && *p <= '9') p++;
  else return isthmus_jerr_(j, "bad number");
  if (p < e && *p == '.') {
    n->integer = 0;
    if (++p >= e || *p < '0' || *p > '9') return isthmus_jerr_(j, "bad number");
    while (p < e && *p >= '0' && *p <= '9') p++;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    n->integer = 0;
    if (++p < e && (*p == '+' || *p == '-')) p++;
    if (p >= e || *p < '0' || *p > '9') return isthmus_jerr_(j, "bad number");
    while (p < e && *p >= '0' && *p <= '9') p++;
  }
  n->len = (size_t)(p - s);
  n->text = (char *)malloc(n->len + 1);
  if (!n->text) return isthmus_jerr_(j, "out of memory");
  memcpy(n->text, s, n->len);
  n->text[n->len] = 0;
  j->p = p;
  return 0;
}

static inline int isthmus_jvalue_(isthmus_jparser_ *j, isthmus_jnode_ *n, int depth);

/* An array or object at j->p into n. */
static inline int isthmus_jcontainer_(isthmus_jparser_ *j, isthmus_jnode_ *n, int depth) {
  int obj = *j->p++ == '{';
  size_t cap = 0;
  n->kind = obj ? ISTHMUS_J_OBJ : ISTHMUS_J_ARR;
  isthmus_jws_(j);
  if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; return 0; }
  for (;;) {
    if (n->count == cap) {
      cap = cap ? cap * 2 : 8;
      isthmus_jnode_ *items = (isthmus_jnode_ *)realloc(n->items, cap * sizeof *items);
      if (!items) return isthmus_jerr_(j, "out of memory");
      n->items = items;
      if (obj) {
        isthmus_jnode_ *keys = (isthmus_jnode_ *)realloc(n->keys, cap * sizeof *keys);
        if (!keys) return isthmus_jerr_(j, "out of memory");
        n->keys = keys;
      }
    }
    /* Zeroed before parsing so that isthmus_jfree_ can free a half-parsed entry. */
    memset(&n->items[n->count], 0, sizeof *n->items);
    if (obj) memset(&n->keys[n->count], 0, sizeof *n->keys);
    n->count++;
    if (obj) {
      isthmus_jnode_ *key = &n->keys[n->count - 1];
      isthmus_jws_(j);
      if (j->p >= j->end || *j->p != '"') return isthmus_jerr_(j, "expected a string key");
      if (isthmus_jstring_(j, key)) return -1;
      for (size_t i = 0; i + 1 < n->count; i++)
        if (n->keys[i].len == key->len && !memcmp(n->keys[i].text, key->text, key->len)) return isthmus_jerr_(j, "duplicate key");
      isthmus_jws_(j);
      if (j->p >= j->end || *j->p++ != ':') return isthmus_jerr_(j, "expected ':'");
    }
    if (isthmus_jvalue_(j, &n->items[n->count - 1], depth + 1)) return -1;
    isthmus_jws_(j);
    if (j->p < j->end && *j->p == ',') { j->p++; continue; }
    if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; return 0; }
    return isthmus_jerr_(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static inline int isthmus_jvalue_(isthmus_jparser_ *j, isthmus_jnode_ *n, int depth) {
  isthmus_jws_(j);
  if (j->p >= j->end) return isthmus_jerr_(j, "expected a value");
  if (depth > 64) return isthmus_jerr_(j, "nested more than 64 deep");
  size_t left = (size_t)(j->end - j->p);
  switch (*j->p) {
    case '{': case '[': return isthmus_jcontainer_(j, n, depth);
    case '"': return isthmus_jstring_(j, n);
    case 'n': if (left >= 4 && !memcmp(j->p, "null", 4)) { j->p += 4; n->kind = ISTHMUS_J_NULL; return 0; } break;
    case 't': if (left >= 4 && !memcmp(j->p, "true", 4)) { j->p += 4; n->kind = ISTHMUS_J_BOOL; n->boolean = 1; return 0; } break;
    case 'f': if (left >= 5 && !memcmp(j->p, "false", 5)) { j->p += 5; n->kind = ISTHMUS_J_BOOL; return 0; } break;
    default: return isthmus_jnumber_(j, n);
  }
  return isthmus_jerr_(j, "unknown literal");
}

/* --- encoding ---------------------------------------------------------------------------- */

typedef struct isthmus_enc_ {
  isthmus_builder b;
  isthmus_error *err;
  char path[256];
} isthmus_enc_;

static const isthmus_jnode_ isthmus_jnull_ = {ISTHMUS_J_NULL, 0, 0, NULL, 0, NULL, NULL, 0};

static inline const char *isthmus_jkind_name_(const isthmus_jnode_ *n) {
  static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
  return names[n->kind];
}

/* Fails with ENCODE, or with CAPACITY when the builder ran out of room. */
ISTHMUS_PRINTF_(3, 4)
static inline int isthmus_enc_fail_(isthmus_enc_ *e, int64_t value, const char *fmt, ...) {
  if (e->err) {
    va_list ap;
    e->err->code = e->b.failed ? ISTHMUS_E_CAPACITY : ISTHMUS_E_ENCODE;
    memcpy(e->err->path, e->path, sizeof e->path);
    e->err->value = value;
    if (e->b.failed) {
      snprintf(e->err->message, sizeof e->err->message, "the message does not fit the %zu bytes of capacity", e->b.cap);
    } else {
      va_start(ap, fmt);
      vsnprintf(e->err->message, sizeof e->err->message, fmt, ap);
      va_end(ap);
    }
  }
  return -1;
}

/* Appends ".name" or "[index]" to the path; returns the length to restore. */
static inline size_t isthmus_enc_push_name_(isthmus_enc_ *e, const char *name) {
  size_t n = strlen(e->path);
  snprintf(e->path + n, sizeof e->path - n, ".%s", name);
  return n;
}
static inline size_t isthmus_enc_push_index_(isthmus_enc_ *e, size_t index) {
  size_t n = strlen(e->path);
  snprintf(e->path + n, sizeof e->path - n, "[%zu]", index);
  return n;
}

/* Parses a decimal integer literal (optional '-', digits only) into sign and magnitude. */
static inline int isthmus_parse_decimal_(const char *s, int *neg, uint64_t *mag) {
  *neg = *s == '-';
  s += *neg;
  if (!*s) return -1;
  *mag = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    unsigned d = (unsigned)(*s - '0');
    if (*mag > (UINT64_MAX - d) / 10) return -1;
    *mag = *mag * 10 + d;
  }
  return 0;
}

static inline void isthmus_store_int_(uint8_t *at, isthmus_kind k, int64_t v) {
  switch (k) {
    case ISTHMUS_BOOL: case ISTHMUS_U8: case ISTHMUS_I8: at[0] = (uint8_t)v; break;
    case ISTHMUS_U16: case ISTHMUS_I16: isthmus_store_u16(at, (uint16_t)v); break;
    case ISTHMUS_U32: case ISTHMUS_I32: isthmus_store_u32(at, (uint32_t)v); break;
    default: isthmus_store_u64(at, (uint64_t)v); break;
  }
}

static inline int isthmus_enc_int_(isthmus_enc_ *e, isthmus_kind k, uint8_t *at, const isthmus_jnode_ *n) {
  static const char *const names[] = {"bool", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"};
  static const double lo[] = {0, 0, 0, 0, 0, -128.0, -32768.0, -2147483648.0};
  static const double hi[] = {0, 255.0, 65535.0, 4294967295.0, 0, 127.0, 32767.0, 2147483647.0};
  if (k == ISTHMUS_U64 || k == ISTHMUS_I64) {
    int neg;
    uint64_t mag;
    if (!(n->kind == ISTHMUS_J_STR || (n->kind == ISTHMUS_J_NUM && n->integer)) || isthmus_parse_decimal_(n->text, &neg, &mag))
      return isthmus_enc_fail_(e, 0, "expected an integer for %s (a number or a decimal string), got %s%s%s", names[k], isthmus_jkind_name_(n), n->text ? " " : "", n->text ? n->text : "");
    if (k == ISTHMUS_U64 ? neg && mag : mag > (uint64_t)INT64_MAX + neg)
      return isthmus_enc_fail_(e, 0, "%s does not fit in %s", n->text, names[k]);
    isthmus_store_u64(at, neg ? 0 - mag : mag);
    return 0;
  }
  double d = n->kind == ISTHMUS_J_NUM ? strtod(n->text, NULL) : 0;
  if (n->kind != ISTHMUS_J_NUM || !(d >= lo[k] && d <= hi[k]) || (double)(int64_t)d != d)
    return isthmus_enc_fail_(e, 0, "%s is not an integer in %s range %.0f..%.0f", n->text ? n->text : isthmus_jkind_name_(n), names[k], lo[k], hi[k]);
  isthmus_store_int_(at, k, (int64_t)d);
  return 0;
}

static inline int isthmus_enc_value_(isthmus_enc_ *e, const isthmus_type *t, uint8_t *at, const isthmus_jnode_ *n);

static inline int isthmus_enc_record_(isthmus_enc_ *e, const isthmus_type *t, uint8_t *at, const isthmus_jnode_ *n) {
  if (n->kind == ISTHMUS_J_NULL) n = &isthmus_jnull_;
  else if (n->kind != ISTHMUS_J_OBJ) return isthmus_enc_fail_(e, 0, "expected an object for %s, got %s", t->name, isthmus_jkind_name_(n));
  for (size_t k = 0; k < n->count; k++) {
    uint32_t i = 0;
    while (i < t->field_count && !(strlen(t->fields[i].name) == n->keys[k].len && !strcmp(t->fields[i].name, n->keys[k].text))) i++;
    if (i == t->field_count) return isthmus_enc_fail_(e, 0, "unknown field '%s' in %s", n->keys[k].text, t->name);
  }
  for (uint32_t i = 0; i < t->field_count; i++) {
    const isthmus_field *f = &t->fields[i];
    const isthmus_jnode_ *v = &isthmus_jnull_;
    for (size_t k = 0; k < n->count; k++)
      if (!strcmp(n->keys[k].text, f->name)) v = &n->items[k];
    if (f->presence_offset >= 0) {
      if (v->kind == ISTHMUS_J_NULL) continue;
      at[f->presence_offset] |= (uint8_t)(1u << f->presence_bit);
    }
    size_t l = isthmus_enc_push_name_(e, f->name);
    if (isthmus_enc_value_(e, f->type, at + f->offset, v)) return -1;
    e->path[l] = 0;
  }
  return 0;
}

static inline int isthmus_b64_(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strict RFC 4648 base64 with padding ('=' only as the last one or two characters). */
static inline int isthmus_enc_base64_(isthmus_enc_ *e, isthmus_ref *ref, const isthmus_jnode_ *n) {
  const char *s = n->text;
  size_t len = n->len, pad = len >= 1 && s[len - 1] == '=' ? (len >= 2 && s[len - 2] == '=' ? 2 : 1) : 0;
  if (len % 4) return isthmus_enc_fail_(e, (int64_t)len, "base64 length %zu is not a multiple of 4", len);
  for (size_t i = 0; i < len - pad; i++)
    if (isthmus_b64_(s[i]) < 0) return isthmus_enc_fail_(e, (int64_t)i, "not base64: '%c' at %zu", s[i], i);
  size_t out_len = len / 4 * 3 - pad;
  if (out_len > ISTHMUS_MAX_MESSAGE_SIZE) return isthmus_enc_fail_(e, (int64_t)out_len, "%zu bytes do not fit in a message", out_len);
  uint8_t *dst = (uint8_t *)isthmus_builder_init_ref(&e->b, ref, (uint32_t)out_len, 1);
  if (!dst) return isthmus_enc_fail_(e, (int64_t)out_len, "out of capacity");
  for (size_t i = 0, o = 0; i < len; i += 4) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++) v = v << 6 | (i + k < len - pad ? (uint32_t)isthmus_b64_(s[i + k]) : 0);
    for (size_t k = 0; k < 3 && o < out_len; k++) dst[o++] = (uint8_t)(v >> (16 - 8 * k));
  }
  return 0;
}

static inline int isthmus_enc_value_(isthmus_enc_ *e, const isthmus_type *t, uint8_t *at, const isthmus_jnode_ *n) {
  switch (t->kind) {
    case ISTHMUS_BOOL:
      if (n->kind == ISTHMUS_J_NULL) return 0;
      if (n->kind != ISTHMUS_J_BOOL) return isthmus_enc_fail_(e, 0, "expected true or false, got %s", isthmus_jkind_name_(n));
      at[0] = (uint8_t)n->boolean;
      return 0;
    case ISTHMUS_U8: case ISTHMUS_U16: case ISTHMUS_U32: case ISTHMUS_U64:
    case ISTHMUS_I8: case ISTHMUS_I16: case ISTHMUS_I32: case ISTHMUS_I64:
      return n->kind == ISTHMUS_J_NULL ? 0 : isthmus_enc_int_(e, t->kind, at, n);
    case ISTHMUS_F32: case ISTHMUS_F64: {
      double d;
      if (n->kind == ISTHMUS_J_NULL) return 0;
      if (n->kind == ISTHMUS_J_NUM) d = strtod(n->text, NULL);
      else if (n->kind == ISTHMUS_J_STR && !strcmp(n->text, "NaN")) d = NAN;
      else if (n->kind == ISTHMUS_J_STR && !strcmp(n->text, "Infinity")) d = INFINITY;
      else if (n->kind == ISTHMUS_J_STR && !strcmp(n->text, "-Infinity")) d = -INFINITY;
      else return isthmus_enc_fail_(e, 0, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", got %s%s%s", isthmus_jkind_name_(n), n->text ? " " : "", n->text ? n->text : "");
      /* Decimal → binary64 → binary32, as the TypeScript runtime rounds f32 values. */
      if (t->kind == ISTHMUS_F32) { float f = (float)d; memcpy(at, &f, 4); }
      else memcpy(at, &d, 8);
      return 0;
    }
    case ISTHMUS_ENUM: {
      for (uint32_t i = 0; i < t->value_count; i++) {
        const isthmus_enum_value *v = &t->values[i];
        int hit = n->kind == ISTHMUS_J_NULL ? v->value == 0
                : n->kind == ISTHMUS_J_STR ? !strcmp(n->text, v->name)
                : n->kind == ISTHMUS_J_NUM && n->integer && strtod(n->text, NULL) == (double)v->value;
        if (hit) { isthmus_store_int_(at, t->base, v->value); return 0; }
      }
      if (n->kind == ISTHMUS_J_NULL) return isthmus_enc_fail_(e, 0, "a value is required: enum %s has no value 0 to default to", t->name);
      return isthmus_enc_fail_(e, 0, "%s%s%s is not a value of enum %s", n->kind == ISTHMUS_J_STR ? "\"" : "", n->text ? n->text : isthmus_jkind_name_(n), n->kind == ISTHMUS_J_STR ? "\"" : "", t->name);
    }
    case ISTHMUS_STRUCT:
      return isthmus_enc_record_(e, t, at, n);
    case ISTHMUS_ARRAY: {
      if (n->kind == ISTHMUS_J_NULL) return 0;
      if (n->kind != ISTHMUS_J_ARR || n->count > t->length)
        return isthmus_enc_fail_(e, (int64_t)n->count, "expected an array of at most %u elements, got %s%s", t->length, isthmus_jkind_name_(n), n->kind == ISTHMUS_J_ARR ? " that is longer" : "");
      for (uint32_t i = 0; i < t->length; i++) {
        size_t l = isthmus_enc_push_index_(e, i);
        if (isthmus_enc_value_(e, t->element, at + (size_t)i * t->stride, i < n->count ? &n->items[i] : &isthmus_jnull_)) return -1;
        e->path[l] = 0;
      }
      return 0;
    }
    case ISTHMUS_STRING:
      if (n->kind == ISTHMUS_J_NULL || (n->kind == ISTHMUS_J_STR && n->len == 0)) return 0;
      if (n->kind != ISTHMUS_J_STR) return isthmus_enc_fail_(e, 0, "expected a string, got %s", isthmus_jkind_name_(n));
      return isthmus_builder_set_bytes(&e->b, (isthmus_ref *)(void *)at, n->text, n->len) ? isthmus_enc_fail_(e, (int64_t)n->len, "out of capacity") : 0;
    case ISTHMUS_BYTES:
      if (n->kind == ISTHMUS_J_NULL || (n->kind == ISTHMUS_J_STR && n->len == 0)) return 0;
      if (n->kind != ISTHMUS_J_STR) return isthmus_enc_fail_(e, 0, "expected base64 text, got %s", isthmus_jkind_name_(n));
      return isthmus_enc_base64_(e, (isthmus_ref *)(void *)at, n);
    case ISTHMUS_VECTOR: {
      if (n->kind == ISTHMUS_J_NULL || (n->kind == ISTHMUS_J_ARR && n->count == 0)) return 0;
      if (n->kind != ISTHMUS_J_ARR) return isthmus_enc_fail_(e, 0, "expected an array, got %s", isthmus_jkind_name_(n));
      if (n->count > ISTHMUS_MAX_MESSAGE_SIZE / t->stride) return isthmus_enc_fail_(e, (int64_t)n->count, "%zu elements do not fit in a message", n->count);
      uint8_t *block = (uint8_t *)isthmus_builder_init_ref(&e->b, (isthmus_ref *)(void *)at, (uint32_t)n->count, t->stride);
      if (!block) return isthmus_enc_fail_(e, (int64_t)n->count, "out of capacity");
      for (size_t i = 0; i < n->count; i++) {
        size_t l = isthmus_enc_push_index_(e, i);
        if (isthmus_enc_value_(e, t->element, block + i * t->stride, &n->items[i])) return -1;
        e->path[l] = 0;
      }
      return 0;
    }
    case ISTHMUS_UNION: {
      if (n->kind == ISTHMUS_J_NULL) return 0;
      for (uint32_t i = 0; n->kind == ISTHMUS_J_OBJ && n->count == 1 && i < t->case_count; i++) {
        const isthmus_case *c = &t->cases[i];
        if (strlen(c->name) != n->keys[0].len || strcmp(c->name, n->keys[0].text)) continue;
        uint8_t *v = (uint8_t *)isthmus_builder_init_union(&e->b, (isthmus_union_ref *)(void *)at, i + 1, c->size);
        if (!v) return isthmus_enc_fail_(e, c->size, "out of capacity");
        size_t l = isthmus_enc_push_name_(e, c->name);
        if (isthmus_enc_value_(e, c->type, v, &n->items[0])) return -1;
        e->path[l] = 0;
        return 0;
      }
      return isthmus_enc_fail_(e, 0, "expected null or an object with one key naming a case of %s", t->name);
    }
    default:
      return isthmus_enc_fail_(e, 0, "unexpected type kind %d", (int)t->kind);
  }
}

/*
 * Writes the canonical encoding (§5) of the JSON value json[0, json_len) as message type
 * `t` into out[0, cap) (8-aligned). Returns 0 and sets *out_len; or -1 with *err (may be
 * NULL): ISTHMUS_E_ENCODE for bad JSON or a value that does not fit its field (path
 * "(json)" and value = byte position for syntax errors), ISTHMUS_E_CAPACITY when cap is
 * too small. Nothing is written past cap.
 */
static inline int isthmus_encode_json(const isthmus_type *t, const char *json, size_t json_len, void *out, size_t cap, size_t *out_len, isthmus_error *err) {
  isthmus_jparser_ j = {json, json, json + json_len, NULL};
  isthmus_jnode_ root = isthmus_jnull_;
  isthmus_enc_ e;
  int r = -1;
  memset(&e, 0, sizeof e);
  e.err = err;
  if (err) memset(err, 0, sizeof *err);
  if (isthmus_jvalue_(&j, &root, 0) == 0) {
    isthmus_jws_(&j);
    if (j.p != j.end) isthmus_jerr_(&j, "trailing characters after the value");
  }
  if (j.why) {
    snprintf(e.path, sizeof e.path, "(json)");
    isthmus_enc_fail_(&e, (int64_t)(j.p - j.start), "%s at byte %zu", j.why, (size_t)(j.p - j.start));
  } else {
    snprintf(e.path, sizeof e.path, "%s", isthmus_short_name_(t->name));
    uint8_t *fixed = (uint8_t *)isthmus_builder_init(&e.b, t, out, cap);
    if (!fixed) isthmus_enc_fail_(&e, (int64_t)cap, "out of capacity");
    else if (root.kind != ISTHMUS_J_OBJ) isthmus_enc_fail_(&e, 0, "expected an object for %s, got %s", t->name, isthmus_jkind_name_(&root));
    else if (!isthmus_enc_record_(&e, t, fixed, &root)) {
      size_t n = isthmus_builder_finish(&e.b);
      snprintf(e.path, sizeof e.path, "%s", isthmus_short_name_(t->name));
      if (n) {
        *out_len = n;
        r = 0;
      } else {
        isthmus_enc_fail_(&e, (int64_t)cap, "out of capacity");
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
