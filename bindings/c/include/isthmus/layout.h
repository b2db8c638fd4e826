/*
 * isthmus/layout.h — the C runtime of the Isthmus byte layout (docs/layout.md).
 *
 * Generated schema headers include this file. It holds:
 *   - the header and reference types every message uses, with byte diagrams;
 *   - bounds-checked accessors for the variable parts (strings, bytes, vectors, unions);
 *   - the type descriptors that generated headers fill in, and the descriptor-driven
 *     verify (§8), JSON printer and canonical JSON encoder (§5, §10);
 *   - a builder that writes a message in place into a caller's buffer.
 *
 * Header-only, C11 and C++17. No allocation except in isthmus_encode_json.
 *
 * Caller guarantees for every function taking (msg, len): `msg` points to the first byte
 * of a message, is 8-byte aligned, and `len` bytes from `msg` are readable. No accessor
 * reads outside [msg, msg + len), even on bytes that isthmus_verify() never saw.
 */
#ifndef ISTHMUS_LAYOUT_H
#define ISTHMUS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
#define ISTHMUS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
extern "C" {
#else
#define ISTHMUS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/*
 * The message header (16 bytes, 8-aligned), docs/layout.md §2:
 *
 *   byte 0               8                12           14        15
 *        +---------------+----------------+------------+---------+-------+
 *        | type_id (u64) | total_size u32 | fixed_size | version | flags |
 *        +---------------+----------------+------------+---------+-------+
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "generated Isthmus structs map the little-endian layout onto C types; this host is big-endian"
#endif

#define ISTHMUS_HEADER_SIZE 16u
#define ISTHMUS_BLOCK_ALIGN 8u

/* A reference into the tail (§3.1): offset from message start; count of bytes or elements. */
typedef struct isthmus_ref {
  uint32_t offset;
  uint32_t count;
} isthmus_ref;

/* A union's inline form (§3.3): tag 0 = no value; else the case value lives at offset. */
typedef struct isthmus_union_ref {
  uint32_t tag;
  uint32_t offset;
} isthmus_union_ref;

/* A string read in place: not NUL-terminated. ok = 0 when the reference left the buffer. */
typedef struct isthmus_str {
  const char *ptr;
  uint32_t len;
  int ok;
} isthmus_str;

/* count elements (or bytes) in place at ptr. ok = 0 when the reference left the buffer. */
typedef struct isthmus_span {
  const void *ptr;
  uint32_t count;
  int ok;
} isthmus_span;

/* --- little-endian loads and stores (alignment- and aliasing-safe) ---------------------- */

static inline uint16_t isthmus_ld16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t isthmus_ld32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t isthmus_ld64(const uint8_t *p) { return (uint64_t)isthmus_ld32(p) | ((uint64_t)isthmus_ld32(p + 4) << 32); }
static inline void isthmus_st16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void isthmus_st32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void isthmus_st64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static inline uint64_t isthmus_msg_type_id(const void *msg) { return isthmus_ld64((const uint8_t *)msg); }
static inline uint32_t isthmus_msg_total_size(const void *msg) { return isthmus_ld32((const uint8_t *)msg + 8); }
static inline uint16_t isthmus_msg_fixed_size(const void *msg) { return isthmus_ld16((const uint8_t *)msg + 12); }
static inline uint8_t isthmus_msg_version(const void *msg) { return ((const uint8_t *)msg)[14]; }

/* --- bounds-checked reads of the variable parts ----------------------------------------- */

/* The block that *r references, checked against [msg, msg + len). `r` must point into the message. */
static inline isthmus_span isthmus_ref_get(const void *msg, size_t len, const isthmus_ref *r, uint32_t stride) {
  isthmus_span s = {msg, 0, 1};
  const uint8_t *rp = (const uint8_t *)r;
  uint64_t off = isthmus_ld32(rp), n = isthmus_ld32(rp + 4);
  if (n == 0) return s;
  if (off + n * stride > len) {
    s.ptr = NULL;
    s.ok = 0;
    return s;
  }
  s.ptr = (const uint8_t *)msg + off;
  s.count = (uint32_t)n;
  return s;
}

static inline isthmus_str isthmus_str_get(const void *msg, size_t len, const isthmus_ref *r) {
  isthmus_span s = isthmus_ref_get(msg, len, r, 1);
  isthmus_str out = {(const char *)s.ptr, s.count, s.ok};
  return out;
}

/* The value of union case `tag` (inline size `size`); ptr NULL when another case is held or it left the buffer. */
static inline isthmus_span isthmus_union_get(const void *msg, size_t len, const isthmus_union_ref *u, uint32_t tag, uint32_t size) {
  isthmus_span s = {NULL, 0, 1};
  const uint8_t *up = (const uint8_t *)u;
  uint64_t off = isthmus_ld32(up + 4);
  if (isthmus_ld32(up) != tag) return s;
  if (off + size > len) {
    s.ok = 0;
    return s;
  }
  s.ptr = (const uint8_t *)msg + off;
  s.count = 1;
  return s;
}

/* --- type descriptors (filled in by generated headers) ---------------------------------- */

typedef enum isthmus_kind {
  ISTHMUS_BOOL, ISTHMUS_U8, ISTHMUS_U16, ISTHMUS_U32, ISTHMUS_U64,
  ISTHMUS_I8, ISTHMUS_I16, ISTHMUS_I32, ISTHMUS_I64, ISTHMUS_F32, ISTHMUS_F64,
  ISTHMUS_ENUM, ISTHMUS_STRUCT, ISTHMUS_MESSAGE, ISTHMUS_UNION,
  ISTHMUS_STRING, ISTHMUS_BYTES, ISTHMUS_ARRAY, ISTHMUS_VECTOR
} isthmus_kind;

typedef struct isthmus_type isthmus_type;

typedef struct isthmus_field {
  const char *name;
  const isthmus_type *type;
  uint32_t offset;          /* from the start of the enclosing fixed part */
  int32_t presence_offset;  /* -1: not optional */
  uint8_t presence_bit;
  uint8_t since;
} isthmus_field;

typedef struct isthmus_enum_value {
  const char *name;
  int64_t value;
} isthmus_enum_value;

typedef struct isthmus_case {
  const char *name;
  const isthmus_type *type;
  uint32_t size;            /* inline size of the case value */
} isthmus_case;

struct isthmus_type {
  isthmus_kind kind;
  const char *name;          /* full name for declared types */
  uint32_t size;             /* inline size */
  const isthmus_field *fields;            /* struct, message */
  uint32_t field_count;
  isthmus_kind base;                      /* enum: underlying scalar kind */
  const isthmus_enum_value *values;       /* enum */
  uint32_t value_count;
  const isthmus_case *cases;              /* union: tag k = cases[k - 1] */
  uint32_t case_count;
  const isthmus_type *element;            /* array, vector */
  uint32_t length;                        /* array */
  uint32_t stride;                        /* array, vector */
  uint64_t type_id;                       /* message */
  uint32_t version;                       /* message */
  const uint16_t *version_sizes;          /* message: fixed size of versions 1..version */
};

#define ISTHMUS_SCALAR_TYPE(id, k, sz) static const isthmus_type id = {k, #k, sz, NULL, 0, k, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0, NULL}
ISTHMUS_SCALAR_TYPE(isthmus_t_bool, ISTHMUS_BOOL, 1);
ISTHMUS_SCALAR_TYPE(isthmus_t_u8, ISTHMUS_U8, 1);
ISTHMUS_SCALAR_TYPE(isthmus_t_u16, ISTHMUS_U16, 2);
ISTHMUS_SCALAR_TYPE(isthmus_t_u32, ISTHMUS_U32, 4);
ISTHMUS_SCALAR_TYPE(isthmus_t_u64, ISTHMUS_U64, 8);
ISTHMUS_SCALAR_TYPE(isthmus_t_i8, ISTHMUS_I8, 1);
ISTHMUS_SCALAR_TYPE(isthmus_t_i16, ISTHMUS_I16, 2);
ISTHMUS_SCALAR_TYPE(isthmus_t_i32, ISTHMUS_I32, 4);
ISTHMUS_SCALAR_TYPE(isthmus_t_i64, ISTHMUS_I64, 8);
ISTHMUS_SCALAR_TYPE(isthmus_t_f32, ISTHMUS_F32, 4);
ISTHMUS_SCALAR_TYPE(isthmus_t_f64, ISTHMUS_F64, 8);
ISTHMUS_SCALAR_TYPE(isthmus_t_string, ISTHMUS_STRING, 8);
ISTHMUS_SCALAR_TYPE(isthmus_t_bytes, ISTHMUS_BYTES, 8);

/* --- verify (docs/layout.md §8) ------------------------------------------------------- */

typedef enum isthmus_code {
  ISTHMUS_OK = 0,
  ISTHMUS_E_TRUNCATED,
  ISTHMUS_E_BAD_TYPE_ID,
  ISTHMUS_E_BAD_HEADER,
  ISTHMUS_E_BAD_BOOL,
  ISTHMUS_E_BAD_ENUM,
  ISTHMUS_E_BAD_REF,
  ISTHMUS_E_OUT_OF_BOUNDS,
  ISTHMUS_E_BAD_UTF8,
  ISTHMUS_E_BAD_UNION,
  ISTHMUS_E_ENCODE   /* isthmus_encode_json only: the JSON value does not fit the schema */
} isthmus_code;

typedef struct isthmus_error {
  isthmus_code code;
  char path[256];   /* e.g. "BookUpdate.bids[3].price" */
  uint32_t offset;  /* of the offending field, from message start */
  int64_t value;    /* the offending number */
} isthmus_error;

static inline const char *isthmus_code_name(isthmus_code c) {
  static const char *const names[] = {"OK", "TRUNCATED", "BAD_TYPE_ID", "BAD_HEADER", "BAD_BOOL", "BAD_ENUM", "BAD_REF", "OUT_OF_BOUNDS", "BAD_UTF8", "BAD_UNION", "ENCODE"};
  return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "?";
}

/* Index of the first invalid byte of UTF-8 in p[0, n), or -1 (no overlongs, surrogates or > U+10FFFF). */
static inline long isthmus_utf8_invalid_at(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) { i++; continue; }
    size_t need; uint32_t min, cp;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; cp = c & 0x07; }
    else return (long)i;
    if (i + need >= n) return (long)i;
    for (size_t k = 1; k <= need; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return (long)i;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return (long)i;
    i += need + 1;
  }
  return -1;
}

typedef struct isthmus_walk {
  const uint8_t *msg;
  uint32_t tail_start, total;
  isthmus_error *err;
} isthmus_walk;

static inline int isthmus_fail_(isthmus_walk *w, isthmus_code code, const char *path, const uint8_t *at, int64_t value) {
  if (w->err) {
    w->err->code = code;
    snprintf(w->err->path, sizeof w->err->path, "%s", path);
    w->err->offset = (uint32_t)(at - w->msg);
    w->err->value = value;
  }
  return -1;
}

static inline int64_t isthmus_read_int_(isthmus_kind k, const uint8_t *p) {
  switch (k) {
    case ISTHMUS_U8: case ISTHMUS_BOOL: return p[0];
    case ISTHMUS_I8: return (int8_t)p[0];
    case ISTHMUS_U16: return isthmus_ld16(p);
    case ISTHMUS_I16: return (int16_t)isthmus_ld16(p);
    case ISTHMUS_U32: return isthmus_ld32(p);
    case ISTHMUS_I32: return (int32_t)isthmus_ld32(p);
    default: return (int64_t)isthmus_ld64(p);
  }
}

static inline int isthmus_verify_value_(isthmus_walk *w, const isthmus_type *t, const uint8_t *at, char *path, size_t plen);

static inline int isthmus_verify_record_(isthmus_walk *w, const isthmus_type *t, const uint8_t *at, unsigned version, char *path, size_t plen) {
  for (uint32_t i = 0; i < t->field_count; i++) {
    const isthmus_field *f = &t->fields[i];
    if (f->since > version) continue;
    if (f->presence_offset >= 0 && !(at[f->presence_offset] & (1u << f->presence_bit))) continue;
    size_t n = strlen(path);
    snprintf(path + n, plen - n, ".%s", f->name);
    if (isthmus_verify_value_(w, f->type, at + f->offset, path, plen)) return -1;
    path[n] = 0;
  }
  return 0;
}

/* Checks the reference at `at`; sets *block (NULL when empty). */
static inline int isthmus_verify_ref_(isthmus_walk *w, const uint8_t *at, uint32_t stride, const char *path, const uint8_t **block) {
  uint64_t off = isthmus_ld32(at), n = isthmus_ld32(at + 4);
  *block = NULL;
  if (n == 0) return off ? isthmus_fail_(w, ISTHMUS_E_BAD_REF, path, at, (int64_t)off) : 0;
  if (off % ISTHMUS_BLOCK_ALIGN) return isthmus_fail_(w, ISTHMUS_E_BAD_REF, path, at, (int64_t)off);
  if (off < w->tail_start || off + n * stride > w->total) return isthmus_fail_(w, ISTHMUS_E_OUT_OF_BOUNDS, path, at, (int64_t)off);
  *block = w->msg + off;
  return 0;
}

static inline int isthmus_verify_value_(isthmus_walk *w, const isthmus_type *t, const uint8_t *at, char *path, size_t plen) {
  const uint8_t *block;
  switch (t->kind) {
    case ISTHMUS_BOOL:
      return at[0] > 1 ? isthmus_fail_(w, ISTHMUS_E_BAD_BOOL, path, at, at[0]) : 0;
    case ISTHMUS_ENUM: {
      int64_t v = isthmus_read_int_(t->base, at);
      for (uint32_t i = 0; i < t->value_count; i++) if (t->values[i].value == v) return 0;
      return isthmus_fail_(w, ISTHMUS_E_BAD_ENUM, path, at, v);
    }
    case ISTHMUS_STRUCT:
      return isthmus_verify_record_(w, t, at, 255, path, plen);
    case ISTHMUS_ARRAY: {
      size_t n = strlen(path);
      for (uint32_t i = 0; i < t->length; i++) {
        snprintf(path + n, plen - n, "[%u]", i);
        if (isthmus_verify_value_(w, t->element, at + (size_t)i * t->stride, path, plen)) return -1;
      }
      path[n] = 0;
      return 0;
    }
    case ISTHMUS_STRING:
      if (isthmus_verify_ref_(w, at, 1, path, &block)) return -1;
      if (block) {
        long bad = isthmus_utf8_invalid_at(block, isthmus_ld32(at + 4));
        if (bad >= 0) return isthmus_fail_(w, ISTHMUS_E_BAD_UTF8, path, at, (int64_t)(block - w->msg) + bad);
      }
      return 0;
    case ISTHMUS_BYTES:
      return isthmus_verify_ref_(w, at, 1, path, &block);
    case ISTHMUS_VECTOR: {
      if (isthmus_verify_ref_(w, at, t->stride, path, &block)) return -1;
      if (!block || (t->element->kind <= ISTHMUS_F64 && t->element->kind != ISTHMUS_BOOL) || t->element->kind == ISTHMUS_BYTES) return 0;
      size_t n = strlen(path);
      uint32_t count = isthmus_ld32(at + 4);
      for (uint32_t i = 0; i < count; i++) {
        snprintf(path + n, plen - n, "[%u]", i);
        if (isthmus_verify_value_(w, t->element, block + (size_t)i * t->stride, path, plen)) return -1;
      }
      path[n] = 0;
      return 0;
    }
    case ISTHMUS_UNION: {
      uint32_t tag = isthmus_ld32(at);
      uint64_t off = isthmus_ld32(at + 4);
      if (tag == 0) return off ? isthmus_fail_(w, ISTHMUS_E_BAD_UNION, path, at, (int64_t)off) : 0;
      if (tag > t->case_count) return isthmus_fail_(w, ISTHMUS_E_BAD_UNION, path, at, tag);
      const isthmus_case *c = &t->cases[tag - 1];
      size_t n = strlen(path);
      snprintf(path + n, plen - n, ".%s", c->name);
      if (off % ISTHMUS_BLOCK_ALIGN) return isthmus_fail_(w, ISTHMUS_E_BAD_REF, path, at, (int64_t)off);
      if (off < w->tail_start || off + c->size > w->total) return isthmus_fail_(w, ISTHMUS_E_OUT_OF_BOUNDS, path, at, (int64_t)off);
      if (isthmus_verify_value_(w, c->type, w->msg + off, path, plen)) return -1;
      path[n] = 0;
      return 0;
    }
    default:
      return 0;
  }
}

/* The short name of a message type: "market.BookUpdate" → "BookUpdate". */
static inline const char *isthmus_short_name_(const char *full) {
  const char *dot = strrchr(full, '.');
  return dot ? dot + 1 : full;
}

/*
 * Verifies the message of type `t` at [msg, msg + len). Returns 0 when it is safe to read,
 * else -1 with *err (may be NULL) describing the first problem, in the order of §8.
 */
static inline int isthmus_verify(const isthmus_type *t, const void *msg, size_t len, isthmus_error *err) {
  const uint8_t *m = (const uint8_t *)msg;
  isthmus_walk w = {m, 0, 0, err};
  char path[256];
  snprintf(path, sizeof path, "%s", isthmus_short_name_(t->name));
  if (err) memset(err, 0, sizeof *err);
  if (len < ISTHMUS_HEADER_SIZE) return isthmus_fail_(&w, ISTHMUS_E_TRUNCATED, path, m, (int64_t)len);
  uint32_t total = isthmus_ld32(m + 8);
  if (total > len) return isthmus_fail_(&w, ISTHMUS_E_TRUNCATED, path, m + 8, total);
  if (isthmus_ld64(m) != t->type_id) return isthmus_fail_(&w, ISTHMUS_E_BAD_TYPE_ID, path, m, (int64_t)isthmus_ld64(m));
  uint32_t fixed = isthmus_ld16(m + 12);
  unsigned version = m[14];
  if (total % 8) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, path, m + 8, total);
  if (fixed % 8) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, path, m + 12, fixed);
  if (ISTHMUS_HEADER_SIZE + fixed > total) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, path, m + 12, fixed);
  if (version < 1) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, path, m + 14, version);
  if (m[15]) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, path, m + 15, m[15]);
  unsigned rv = version < t->version ? version : t->version;
  if (fixed < t->version_sizes[rv - 1]) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, path, m + 12, fixed);
  w.tail_start = ISTHMUS_HEADER_SIZE + fixed;
  w.total = total;
  return isthmus_verify_record_(&w, t, m + ISTHMUS_HEADER_SIZE, version, path, sizeof path);
}

/* --- JSON form (docs/layout.md §10) ----------------------------------------------------- */

typedef struct isthmus_out {
  char *buf;
  size_t cap, len;
} isthmus_out;

static inline void isthmus_put_(isthmus_out *o, const char *s, size_t n) {
  if (o->len + n < o->cap) memcpy(o->buf + o->len, s, n);
  o->len += n;
}
static inline void isthmus_puts_(isthmus_out *o, const char *s) { isthmus_put_(o, s, strlen(s)); }

static inline void isthmus_put_float_(isthmus_out *o, double v, int f32) {
  char tmp[40];
  if (v != v) { isthmus_puts_(o, "\"NaN\""); return; }
  if (v > 1.7976931348623157e308) { isthmus_puts_(o, "\"Infinity\""); return; }
  if (v < -1.7976931348623157e308) { isthmus_puts_(o, "\"-Infinity\""); return; }
  for (int p = 1; p <= 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*g", p, v);
    if (f32 ? (strtof(tmp, NULL) == (float)v) : (strtod(tmp, NULL) == v)) break;
  }
  isthmus_puts_(o, tmp);
}

static inline void isthmus_put_string_(isthmus_out *o, const uint8_t *p, size_t n) {
  isthmus_put_(o, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    char esc[8];
    uint8_t c = p[i];
    if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; isthmus_put_(o, esc, 2); }
    else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); isthmus_put_(o, esc, 6); }
    else isthmus_put_(o, (const char *)&c, 1);
  }
  isthmus_put_(o, "\"", 1);
}

static inline void isthmus_put_base64_(isthmus_out *o, const uint8_t *p, size_t n) {
  static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  isthmus_put_(o, "\"", 1);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    char q[4] = {A[v >> 18], A[(v >> 12) & 63], i + 1 < n ? A[(v >> 6) & 63] : '=', i + 2 < n ? A[v & 63] : '='};
    isthmus_put_(o, q, 4);
  }
  isthmus_put_(o, "\"", 1);
}

static inline void isthmus_json_value_(isthmus_out *o, const uint8_t *msg, size_t len, const isthmus_type *t, const uint8_t *at);

static inline void isthmus_json_default_(isthmus_out *o, const isthmus_type *t) {
  static const uint8_t zero[ISTHMUS_HEADER_SIZE + 65536] = {0};
  isthmus_json_value_(o, zero, sizeof zero, t, zero + ISTHMUS_HEADER_SIZE);
}

static inline void isthmus_json_record_(isthmus_out *o, const uint8_t *msg, size_t len, const isthmus_type *t, const uint8_t *at, unsigned version) {
  isthmus_put_(o, "{", 1);
  for (uint32_t i = 0; i < t->field_count; i++) {
    const isthmus_field *f = &t->fields[i];
    if (i) isthmus_put_(o, ",", 1);
    isthmus_put_string_(o, (const uint8_t *)f->name, strlen(f->name));
    isthmus_put_(o, ":", 1);
    if (f->presence_offset >= 0 && (f->since > version || !(at[f->presence_offset] & (1u << f->presence_bit)))) isthmus_puts_(o, "null");
    else if (f->since > version) isthmus_json_default_(o, f->type);
    else isthmus_json_value_(o, msg, len, f->type, at + f->offset);
  }
  isthmus_put_(o, "}", 1);
}

static inline void isthmus_json_value_(isthmus_out *o, const uint8_t *msg, size_t len, const isthmus_type *t, const uint8_t *at) {
  char tmp[32];
  switch (t->kind) {
    case ISTHMUS_BOOL: isthmus_puts_(o, at[0] ? "true" : "false"); return;
    case ISTHMUS_U8: case ISTHMUS_U16: case ISTHMUS_U32: case ISTHMUS_I8: case ISTHMUS_I16: case ISTHMUS_I32:
      snprintf(tmp, sizeof tmp, "%lld", (long long)isthmus_read_int_(t->kind, at));
      isthmus_puts_(o, tmp);
      return;
    case ISTHMUS_U64: snprintf(tmp, sizeof tmp, "\"%llu\"", (unsigned long long)isthmus_ld64(at)); isthmus_puts_(o, tmp); return;
    case ISTHMUS_I64: snprintf(tmp, sizeof tmp, "\"%lld\"", (long long)(int64_t)isthmus_ld64(at)); isthmus_puts_(o, tmp); return;
    case ISTHMUS_F32: { uint32_t b = isthmus_ld32(at); float f; memcpy(&f, &b, 4); isthmus_put_float_(o, f, 1); return; }
    case ISTHMUS_F64: { uint64_t b = isthmus_ld64(at); double d; memcpy(&d, &b, 8); isthmus_put_float_(o, d, 0); return; }
    case ISTHMUS_ENUM: {
      int64_t v = isthmus_read_int_(t->base, at);
      for (uint32_t i = 0; i < t->value_count; i++)
        if (t->values[i].value == v) { isthmus_put_string_(o, (const uint8_t *)t->values[i].name, strlen(t->values[i].name)); return; }
      snprintf(tmp, sizeof tmp, "%lld", (long long)v);
      isthmus_puts_(o, tmp);
      return;
    }
    case ISTHMUS_STRUCT: isthmus_json_record_(o, msg, len, t, at, 255); return;
    case ISTHMUS_ARRAY:
      isthmus_put_(o, "[", 1);
      for (uint32_t i = 0; i < t->length; i++) {
        if (i) isthmus_put_(o, ",", 1);
        isthmus_json_value_(o, msg, len, t->element, at + (size_t)i * t->stride);
      }
      isthmus_put_(o, "]", 1);
      return;
    case ISTHMUS_STRING: case ISTHMUS_BYTES: {
      isthmus_span s = isthmus_ref_get(msg, len, (const isthmus_ref *)(const void *)at, 1);
      if (!s.ok) { isthmus_puts_(o, "null"); return; }
      if (t->kind == ISTHMUS_STRING) isthmus_put_string_(o, (const uint8_t *)s.ptr, s.count);
      else isthmus_put_base64_(o, (const uint8_t *)s.ptr, s.count);
      return;
    }
    case ISTHMUS_VECTOR: {
      isthmus_span s = isthmus_ref_get(msg, len, (const isthmus_ref *)(const void *)at, t->stride);
      isthmus_put_(o, "[", 1);
      for (uint32_t i = 0; s.ok && i < s.count; i++) {
        if (i) isthmus_put_(o, ",", 1);
        isthmus_json_value_(o, msg, len, t->element, (const uint8_t *)s.ptr + (size_t)i * t->stride);
      }
      isthmus_put_(o, "]", 1);
      return;
    }
    case ISTHMUS_UNION: {
      uint32_t tag = isthmus_ld32(at);
      if (tag == 0 || tag > t->case_count) { isthmus_puts_(o, "null"); return; }
      const isthmus_case *c = &t->cases[tag - 1];
      isthmus_span s = isthmus_union_get(msg, len, (const isthmus_union_ref *)(const void *)at, tag, c->size);
      if (!s.ptr) { isthmus_puts_(o, "null"); return; }
      isthmus_put_(o, "{", 1);
      isthmus_put_string_(o, (const uint8_t *)c->name, strlen(c->name));
      isthmus_put_(o, ":", 1);
      isthmus_json_value_(o, msg, len, c->type, (const uint8_t *)s.ptr);
      isthmus_put_(o, "}", 1);
      return;
    }
    default: return;
  }
}

/*
 * Writes the JSON form of the message at [msg, msg + len) into out[0, cap) with a NUL,
 * like snprintf: returns the length it needs (≥ cap means truncated). Verify first:
 * on unverified bytes it stays inside the buffer but prints null for broken references.
 */
static inline size_t isthmus_to_json(const isthmus_type *t, const void *msg, size_t len, char *out, size_t cap) {
  isthmus_out o = {out, cap, 0};
  const uint8_t *m = (const uint8_t *)msg;
  if (len >= ISTHMUS_HEADER_SIZE && len >= ISTHMUS_HEADER_SIZE + (size_t)t->size) isthmus_json_record_(&o, m, len, t, m + ISTHMUS_HEADER_SIZE, m[14]);
  else isthmus_puts_(&o, "null");
  if (cap) out[o.len < cap ? o.len : cap - 1] = 0;
  return o.len;
}

/* --- builder: a message written in place ------------------------------------------------- */

/* State of a message being built in buf[0, cap). `failed` is set when capacity ran out. */
typedef struct isthmus_builder {
  uint8_t *buf;
  size_t cap;
  size_t end;
  int failed;
} isthmus_builder;

/* Writes the header of message type `t` and zeroes its fixed part; returns the fixed part or NULL. */
static inline void *isthmus_builder_init(isthmus_builder *b, const isthmus_type *t, void *buf, size_t cap) {
  b->buf = (uint8_t *)buf;
  b->cap = cap;
  b->end = ISTHMUS_HEADER_SIZE + t->size;
  b->failed = b->end > cap;
  if (b->failed) return NULL;
  memset(b->buf, 0, b->end);
  isthmus_st64(b->buf, t->type_id);
  isthmus_st16(b->buf + 12, (uint16_t)t->size);
  b->buf[14] = (uint8_t)t->version;
  return b->buf + ISTHMUS_HEADER_SIZE;
}

/* Reserves an 8-aligned, zeroed tail block; returns its offset from message start, or 0. */
static inline uint32_t isthmus_builder_alloc(isthmus_builder *b, size_t size) {
  size_t start = (b->end + 7u) & ~(size_t)7u;
  if (b->failed || start + size > b->cap || start + size > 0xfffffff8u) {
    b->failed = 1;
    return 0;
  }
  memset(b->buf + b->end, 0, start + size - b->end);
  b->end = start + size;
  return (uint32_t)start;
}

/* Allocates count × stride bytes and points *ref (inside this message) at them; returns the block or NULL. */
static inline void *isthmus_builder_init_ref(isthmus_builder *b, isthmus_ref *ref, uint32_t count, uint32_t stride) {
  uint8_t *r = (uint8_t *)ref;
  isthmus_st32(r, 0);
  isthmus_st32(r + 4, 0);
  if (count == 0) return b->buf + b->end;
  uint32_t off = isthmus_builder_alloc(b, (size_t)count * stride);
  if (!off) return NULL;
  isthmus_st32(r, off);
  isthmus_st32(r + 4, count);
  return b->buf + off;
}

/* Copies n bytes (a string's UTF-8 or raw bytes) into the tail and points *ref at them. 0 on success. */
static inline int isthmus_builder_set_bytes(isthmus_builder *b, isthmus_ref *ref, const void *p, size_t n) {
  if (n > 0xffffffffu) { b->failed = 1; return -1; }
  void *dst = isthmus_builder_init_ref(b, ref, (uint32_t)n, 1);
  if (!dst) return -1;
  if (n) memcpy(dst, p, n);
  return 0;
}

/* Sets union *u to case `tag` and allocates its value block (inline size `size`). */
static inline void *isthmus_builder_init_union(isthmus_builder *b, isthmus_union_ref *u, uint32_t tag, uint32_t size) {
  uint32_t off = isthmus_builder_alloc(b, size);
  if (!off) return NULL;
  isthmus_st32((uint8_t *)u, tag);
  isthmus_st32((uint8_t *)u + 4, off);
  return b->buf + off;
}

/* Pads to 8 and writes total_size. Returns the message size, or 0 if anything failed. */
static inline size_t isthmus_builder_finish(isthmus_builder *b) {
  size_t total = (b->end + 7u) & ~(size_t)7u;
  if (b->failed || total > b->cap) return 0;
  memset(b->buf + b->end, 0, total - b->end);
  isthmus_st32(b->buf + 8, (uint32_t)total);
  b->end = total;
  return total;
}

#ifdef __cplusplus
}
#endif
#endif /* ISTHMUS_LAYOUT_H */
