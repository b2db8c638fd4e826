/*
 * isthmus/layout.h: the C runtime of the Isthmus byte layout (docs/layout.md).
 *
 * Generated schema headers include this file. It holds:
 *   - the header, reference and union types every message uses;
 *   - little-endian loads and stores;
 *   - bounds-checked readers for the variable parts (strings, bytes, vectors, unions);
 *   - the type descriptors that generated headers fill in, and the descriptor-driven
 *     verify (§8) and JSON printer (§10);
 *   - a builder that writes a message in place into a caller's buffer (§5).
 * The canonical encoder from JSON text is in isthmus/json_encode.h (tools and tests).
 *
 * Header-only, C11 and C++17, no allocation.
 *
 * Caller guarantees, for every function that takes (msg, len): `msg` points to the first
 * byte of a message and is 8-byte aligned; `len` bytes from `msg` are readable. Pointers
 * passed alongside (a reference, a union, a struct `self`) were derived from `msg`. No
 * reader reads outside [msg, msg + len), even on bytes isthmus_verify() never saw: a
 * reference that leaves the range (or is misaligned) gives an empty value with ok = 0.
 * The range comes from the caller, never from the message.
 */
#ifndef ISTHMUS_LAYOUT_H
#define ISTHMUS_LAYOUT_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "generated Isthmus structs map the little-endian layout onto C types; this host is big-endian"
#endif

#ifdef __cplusplus
#define ISTHMUS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
extern "C" {
#else
#define ISTHMUS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#if defined(__GNUC__)
#define ISTHMUS_PRINTF_(f, a) __attribute__((format(printf, f, a)))
#else
#define ISTHMUS_PRINTF_(f, a)
#endif

/* --- header, references ------------------------------------------------------------- */

#define ISTHMUS_HEADER_SIZE 16u
/* Tail blocks start at multiples of this; total_size is a multiple of it. */
#define ISTHMUS_BLOCK_ALIGN 8u
#define ISTHMUS_MAX_MESSAGE_SIZE 0xfffffff8u

/*
 * The message header (§2):
 *
 *   byte 0               8                12           14        15
 *        +---------------+----------------+------------+---------+-------+
 *        | type_id (u64) | total_size u32 | fixed_size | version | flags |
 *        +---------------+----------------+------------+---------+-------+
 */
typedef struct isthmus_header {
  uint64_t type_id;
  uint32_t total_size;
  uint16_t fixed_size;
  uint8_t version;
  uint8_t flags;
} isthmus_header;
ISTHMUS_STATIC_ASSERT(sizeof(isthmus_header) == 16, "isthmus_header must be 16 bytes");
ISTHMUS_STATIC_ASSERT(offsetof(isthmus_header, total_size) == 8, "total_size must be at offset 8");
ISTHMUS_STATIC_ASSERT(offsetof(isthmus_header, fixed_size) == 12, "fixed_size must be at offset 12");
ISTHMUS_STATIC_ASSERT(offsetof(isthmus_header, version) == 14, "version must be at offset 14");

/*
 * A string, bytes or vector reference (§3.1), relative to message start:
 *   +--------------+--------------+
 *   | offset (u32) | count (u32)  |   count: bytes (string, bytes) or elements (vector)
 *   +--------------+--------------+   empty: offset 0, count 0
 */
typedef struct isthmus_ref {
  uint32_t offset;
  uint32_t count;
} isthmus_ref;

/*
 * A union (§3.3):
 *   +--------------+--------------+
 *   | tag (u32)    | offset (u32) |   tag 0: no value; tag k: case k's value at offset
 *   +--------------+--------------+
 */
typedef struct isthmus_union_ref {
  uint32_t tag;
  uint32_t offset;
} isthmus_union_ref;

ISTHMUS_STATIC_ASSERT(sizeof(isthmus_ref) == 8 && sizeof(isthmus_union_ref) == 8, "references are 8 bytes");

/* A string read in place: UTF-8 after verify, not NUL-terminated; ptr is never NULL. */
typedef struct isthmus_str {
  const char *ptr;
  uint32_t len;
  int ok; /* 0: the reference left [msg, msg + len) or was misaligned; the value is empty */
} isthmus_str;

/* Bytes read in place. ptr is NULL when len is 0. */
typedef struct isthmus_bytes {
  const uint8_t *ptr;
  uint32_t len;
  int ok;
} isthmus_bytes;

/* count vector elements in place at ptr (8-aligned; NULL when count is 0). */
typedef struct isthmus_span {
  const void *ptr;
  uint32_t count;
  int ok;
} isthmus_span;

/* --- little-endian loads and stores (any alignment, no aliasing issues) -------------- */

static inline uint16_t isthmus_load_u16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t isthmus_load_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t isthmus_load_u64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void isthmus_store_u16(void *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void isthmus_store_u32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void isthmus_store_u64(void *p, uint64_t v) { memcpy(p, &v, 8); }

/* Header fields. The caller guarantees 16 readable bytes at msg (verify checks that). */
static inline uint64_t isthmus_msg_type_id(const void *msg) { return isthmus_load_u64(msg); }
static inline uint32_t isthmus_msg_total_size(const void *msg) { return isthmus_load_u32((const uint8_t *)msg + 8); }
static inline uint16_t isthmus_msg_fixed_size(const void *msg) { return isthmus_load_u16((const uint8_t *)msg + 12); }
static inline uint8_t isthmus_msg_version(const void *msg) { return ((const uint8_t *)msg)[14]; }

/* Copies the header into *h; -1 when len < 16. */
static inline int isthmus_header_read(const void *msg, size_t len, isthmus_header *h) {
  if (len < ISTHMUS_HEADER_SIZE) return -1;
  memcpy(h, msg, sizeof *h);
  return 0;
}

/* --- type descriptors (generated headers fill them in) ------------------------------- */

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
  int32_t presence_offset;  /* optional fields: presence byte, same base; else -1 */
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
  uint32_t size;            /* inline size of the value block */
} isthmus_case;

struct isthmus_type {
  isthmus_kind kind;
  const char *name;                       /* full name of declared types */
  uint32_t size;                          /* inline size; a message's fixed part */
  const isthmus_field *fields;            /* struct, message */
  uint32_t field_count;
  isthmus_kind base;                      /* enum: underlying integer */
  const isthmus_enum_value *values;       /* enum */
  uint32_t value_count;
  const isthmus_case *cases;              /* union: tag k is cases[k - 1] */
  uint32_t case_count;
  const isthmus_type *element;            /* array, vector */
  uint32_t length;                        /* array */
  uint32_t stride;                        /* array, vector */
  uint64_t type_id;                       /* message */
  uint32_t version;                       /* message: highest @since */
  const uint16_t *version_sizes;          /* message: fixed size of versions 1..version */
  uint8_t plain;                          /* only numbers inside: every bit pattern is valid */
};

#define ISTHMUS_FIELD(name, type, offset, since) {name, type, offset, -1, 0, since}
#define ISTHMUS_OPTIONAL_FIELD(name, type, offset, since, presence_offset, presence_bit) \
  {name, type, offset, presence_offset, presence_bit, since}
#define ISTHMUS_SCALAR_DESC(kind, size, plain) {kind, #kind, size, NULL, 0, kind, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0, NULL, plain}
#define ISTHMUS_ENUM_DESC(name, size, base, values, count) \
  {ISTHMUS_ENUM, name, size, NULL, 0, base, values, count, NULL, 0, NULL, 0, 0, 0, 0, NULL, 0}
#define ISTHMUS_STRUCT_DESC(name, size, fields, count, plain) \
  {ISTHMUS_STRUCT, name, size, fields, count, ISTHMUS_BOOL, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0, NULL, plain}
#define ISTHMUS_MESSAGE_DESC(name, size, fields, count, type_id, version, version_sizes) \
  {ISTHMUS_MESSAGE, name, size, fields, count, ISTHMUS_BOOL, NULL, 0, NULL, 0, NULL, 0, 0, type_id, version, version_sizes, 0}
#define ISTHMUS_UNION_DESC(name, cases, count) \
  {ISTHMUS_UNION, name, 8, NULL, 0, ISTHMUS_BOOL, NULL, 0, cases, count, NULL, 0, 0, 0, 0, NULL, 0}
#define ISTHMUS_ARRAY_DESC(element, length, stride, plain) \
  {ISTHMUS_ARRAY, "array", (length) * (stride), NULL, 0, ISTHMUS_BOOL, NULL, 0, NULL, 0, element, length, stride, 0, 0, NULL, plain}
#define ISTHMUS_VECTOR_DESC(element, stride) \
  {ISTHMUS_VECTOR, "vector", 8, NULL, 0, ISTHMUS_BOOL, NULL, 0, NULL, 0, element, 0, stride, 0, 0, NULL, 0}

static const isthmus_type isthmus_desc_bool = ISTHMUS_SCALAR_DESC(ISTHMUS_BOOL, 1, 0);
static const isthmus_type isthmus_desc_u8 = ISTHMUS_SCALAR_DESC(ISTHMUS_U8, 1, 1);
static const isthmus_type isthmus_desc_u16 = ISTHMUS_SCALAR_DESC(ISTHMUS_U16, 2, 1);
static const isthmus_type isthmus_desc_u32 = ISTHMUS_SCALAR_DESC(ISTHMUS_U32, 4, 1);
static const isthmus_type isthmus_desc_u64 = ISTHMUS_SCALAR_DESC(ISTHMUS_U64, 8, 1);
static const isthmus_type isthmus_desc_i8 = ISTHMUS_SCALAR_DESC(ISTHMUS_I8, 1, 1);
static const isthmus_type isthmus_desc_i16 = ISTHMUS_SCALAR_DESC(ISTHMUS_I16, 2, 1);
static const isthmus_type isthmus_desc_i32 = ISTHMUS_SCALAR_DESC(ISTHMUS_I32, 4, 1);
static const isthmus_type isthmus_desc_i64 = ISTHMUS_SCALAR_DESC(ISTHMUS_I64, 8, 1);
static const isthmus_type isthmus_desc_f32 = ISTHMUS_SCALAR_DESC(ISTHMUS_F32, 4, 1);
static const isthmus_type isthmus_desc_f64 = ISTHMUS_SCALAR_DESC(ISTHMUS_F64, 8, 1);
static const isthmus_type isthmus_desc_string = ISTHMUS_SCALAR_DESC(ISTHMUS_STRING, 8, 0);
static const isthmus_type isthmus_desc_bytes = ISTHMUS_SCALAR_DESC(ISTHMUS_BYTES, 8, 0);

/* --- bounds-checked readers ------------------------------------------------------------ */

/*
 * Readers work on positions: byte offsets from msg. Two positions are special:
 * ISTHMUS_POS_DEFAULT (the field reads as its default, §3.2 and §6) and ISTHMUS_POS_BAD
 * (the field itself can not be located inside [msg, msg + len)).
 */
#define ISTHMUS_POS_DEFAULT ((size_t)-1)
#define ISTHMUS_POS_BAD ((size_t)-2)

static inline int isthmus_fits_(size_t len, size_t pos, size_t n) { return pos <= len && n <= len - pos; }

/* Position of p, which the caller derived from msg; ISTHMUS_POS_BAD when it lies before msg. */
static inline size_t isthmus_pos_of(const void *msg, const void *p) {
  uintptr_t a = (uintptr_t)msg, b = (uintptr_t)p;
  return b >= a ? (size_t)(b - a) : ISTHMUS_POS_BAD;
}

/* The block of the reference at pos: count × stride bytes, 8-aligned, inside [0, len). */
static inline isthmus_span isthmus_vector_at(const void *msg, size_t len, size_t pos, uint32_t stride) {
  isthmus_span s = {NULL, 0, 1};
  const uint8_t *m = (const uint8_t *)msg;
  if (pos == ISTHMUS_POS_DEFAULT) return s;
  if (!isthmus_fits_(len, pos, 8)) { s.ok = 0; return s; }
  uint64_t off = isthmus_load_u32(m + pos), n = isthmus_load_u32(m + pos + 4);
  if (n == 0) return s;
  if (off % ISTHMUS_BLOCK_ALIGN || off + n * stride > len) { s.ok = 0; return s; }
  s.ptr = m + off;
  s.count = (uint32_t)n;
  return s;
}

static inline isthmus_str isthmus_str_at(const void *msg, size_t len, size_t pos) {
  isthmus_span s = isthmus_vector_at(msg, len, pos, 1);
  isthmus_str out = {s.ptr ? (const char *)s.ptr : "", s.count, s.ok};
  return out;
}

static inline isthmus_bytes isthmus_bytes_at(const void *msg, size_t len, size_t pos) {
  isthmus_span s = isthmus_vector_at(msg, len, pos, 1);
  isthmus_bytes out = {(const uint8_t *)s.ptr, s.count, s.ok};
  return out;
}

/* Copies the n-byte scalar at pos into *out; leaves *out (the default) when pos is DEFAULT. 0 when out of range. */
static inline int isthmus_read_at(const void *msg, size_t len, size_t pos, void *out, size_t n) {
  if (pos == ISTHMUS_POS_DEFAULT) return 1;
  if (!isthmus_fits_(len, pos, n)) return 0;
  memcpy(out, (const uint8_t *)msg + pos, n);
  return 1;
}

/* The inline value (struct, array, union) of `size` bytes at pos, or NULL when DEFAULT or out of range. */
static inline const void *isthmus_inline_at(const void *msg, size_t len, size_t pos, size_t size) {
  return pos != ISTHMUS_POS_DEFAULT && isthmus_fits_(len, pos, size) ? (const uint8_t *)msg + pos : NULL;
}

/* The reference *ref, a pointer into the message at msg. */
static inline isthmus_str isthmus_str_get(const void *msg, size_t len, const isthmus_ref *ref) {
  return isthmus_str_at(msg, len, isthmus_pos_of(msg, ref));
}
static inline isthmus_bytes isthmus_bytes_get(const void *msg, size_t len, const isthmus_ref *ref) {
  return isthmus_bytes_at(msg, len, isthmus_pos_of(msg, ref));
}
static inline isthmus_span isthmus_vector_get(const void *msg, size_t len, const isthmus_ref *ref, uint32_t stride) {
  return isthmus_vector_at(msg, len, isthmus_pos_of(msg, ref), stride);
}

/*
 * The value block of union *u when it holds case `tag` (inline size `size`): ptr NULL and
 * ok = 1 when it holds another case or none; ok = 0 when *u or the block leaves the range.
 */
static inline isthmus_span isthmus_union_get(const void *msg, size_t len, const isthmus_union_ref *u, uint32_t tag, uint32_t size) {
  isthmus_span s = {NULL, 0, 1};
  const uint8_t *m = (const uint8_t *)msg;
  size_t pos = isthmus_pos_of(msg, u);
  if (!isthmus_fits_(len, pos, 8)) { s.ok = 0; return s; }
  uint64_t off = isthmus_load_u32(m + pos + 4);
  if (isthmus_load_u32(m + pos) != tag) return s;
  if (off % ISTHMUS_BLOCK_ALIGN || off + size > len) { s.ok = 0; return s; }
  s.ptr = m + off;
  s.count = 1;
  return s;
}

/* Position of field f of the record at base: DEFAULT when optional and absent. */
static inline size_t isthmus_field_pos_(const void *msg, size_t len, size_t base, const isthmus_field *f) {
  if (base > len) return ISTHMUS_POS_BAD;
  if (f->presence_offset >= 0) {
    size_t p = base + (size_t)f->presence_offset;
    if (p >= len) return ISTHMUS_POS_BAD;
    if (!(((const uint8_t *)msg)[p] & (1u << f->presence_bit))) return ISTHMUS_POS_DEFAULT;
  }
  return base + f->offset;
}

/*
 * Position of field f of the message at msg, with the reader rule of §6: DEFAULT when the
 * writer's version predates f (since > version) or f is optional and absent.
 */
static inline size_t isthmus_msg_field(const void *msg, size_t len, const isthmus_field *f) {
  if (len < ISTHMUS_HEADER_SIZE) return ISTHMUS_POS_BAD;
  if (f->since > isthmus_msg_version(msg)) return ISTHMUS_POS_DEFAULT;
  return isthmus_field_pos_(msg, len, ISTHMUS_HEADER_SIZE, f);
}

/* Position of field f of the struct at self, a pointer into the message at msg. */
static inline size_t isthmus_struct_field(const void *msg, size_t len, const void *self, const isthmus_field *f) {
  return isthmus_field_pos_(msg, len, isthmus_pos_of(msg, self), f);
}

/* Whether field f holds a value: known to the writer, present if optional, inside the range. */
static inline int isthmus_msg_has(const void *msg, size_t len, const isthmus_field *f) {
  size_t p = isthmus_msg_field(msg, len, f);
  return p != ISTHMUS_POS_DEFAULT && isthmus_fits_(len, p, f->type->size);
}
static inline int isthmus_struct_has(const void *msg, size_t len, const void *self, const isthmus_field *f) {
  size_t p = isthmus_struct_field(msg, len, self, f);
  return p != ISTHMUS_POS_DEFAULT && isthmus_fits_(len, p, f->type->size);
}

/* --- verify (§8) ----------------------------------------------------------------------- */

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
  /* Not verify codes: isthmus_encode_json's. */
  ISTHMUS_E_ENCODE,    /* the JSON text, or a value in it, does not fit the type */
  ISTHMUS_E_CAPACITY   /* the encoding does not fit the output buffer */
} isthmus_code;

typedef struct isthmus_error {
  isthmus_code code;
  char path[256];     /* e.g. "BookUpdate.bids[3].price"; truncated if deeper */
  uint32_t offset;    /* of the offending field (verify), from message start */
  int64_t value;      /* the offending number: a reference offset, enum value, tag, size */
  char message[192];  /* the problem in words, with the bad values */
} isthmus_error;

static inline const char *isthmus_error_code_name(isthmus_code c) {
  static const char *const names[] = {"OK", "TRUNCATED", "BAD_TYPE_ID", "BAD_HEADER", "BAD_BOOL", "BAD_ENUM", "BAD_REF",
                                      "OUT_OF_BOUNDS", "BAD_UTF8", "BAD_UNION", "ENCODE", "CAPACITY"};
  return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "UNKNOWN";
}

/* Index of the first byte of an invalid UTF-8 sequence in p[0, n), or -1 (§8: no overlongs, surrogates or > U+10FFFF). */
static inline long isthmus_utf8_invalid_at(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) { i++; continue; }
    size_t need;
    uint32_t min, cp;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; cp = c & 0x1fu; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; cp = c & 0x0fu; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; cp = c & 0x07u; }
    else return (long)i;
    if (i + need >= n) return (long)i;
    for (size_t k = 1; k <= need; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return (long)i;
      cp = (cp << 6) | (p[i + k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return (long)i;
    i += need + 1;
  }
  return -1;
}

static inline int64_t isthmus_read_int_(isthmus_kind k, const uint8_t *p) {
  switch (k) {
    case ISTHMUS_BOOL: case ISTHMUS_U8: return p[0];
    case ISTHMUS_I8: return (int8_t)p[0];
    case ISTHMUS_U16: return isthmus_load_u16(p);
    case ISTHMUS_I16: return (int16_t)isthmus_load_u16(p);
    case ISTHMUS_U32: return isthmus_load_u32(p);
    case ISTHMUS_I32: return (int32_t)isthmus_load_u32(p);
    default: return (int64_t)isthmus_load_u64(p);
  }
}

/* One step of the path to the field being checked: ".name", or "[index]" when name is NULL. */
typedef struct isthmus_step_ {
  const char *name;
  uint32_t index;
} isthmus_step_;

#define ISTHMUS_MAX_PATH_STEPS 64

/* State of one verify walk: the message, its tail [tail_start, total), the current path. */
typedef struct isthmus_walk_ {
  const uint8_t *msg;
  uint32_t tail_start, total;
  isthmus_error *err;
  const char *root;
  unsigned depth;  /* may exceed ISTHMUS_MAX_PATH_STEPS; deeper steps are not recorded */
  isthmus_step_ steps[ISTHMUS_MAX_PATH_STEPS];
} isthmus_walk_;

static inline void isthmus_push_(isthmus_walk_ *w, const char *name, uint32_t index) {
  if (w->depth < ISTHMUS_MAX_PATH_STEPS) {
    w->steps[w->depth].name = name;
    w->steps[w->depth].index = index;
  }
  w->depth++;
}

/* Renders the path only when something failed, so that verify formats nothing on success. */
ISTHMUS_PRINTF_(5, 6)
static inline int isthmus_fail_(isthmus_walk_ *w, isthmus_code code, size_t pos, int64_t value, const char *fmt, ...) {
  if (w->err) {
    va_list ap;
    char *p = w->err->path;
    size_t cap = sizeof w->err->path, n = (size_t)snprintf(p, cap, "%s", w->root);
    for (unsigned i = 0; i < w->depth && i < ISTHMUS_MAX_PATH_STEPS && n < cap; i++) {
      const isthmus_step_ *s = &w->steps[i];
      n += (size_t)(s->name ? snprintf(p + n, cap - n, ".%s", s->name) : snprintf(p + n, cap - n, "[%u]", s->index));
    }
    w->err->code = code;
    w->err->offset = (uint32_t)pos;
    w->err->value = value;
    va_start(ap, fmt);
    vsnprintf(w->err->message, sizeof w->err->message, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static inline int isthmus_verify_value_(isthmus_walk_ *w, const isthmus_type *t, size_t pos);

static inline int isthmus_verify_record_(isthmus_walk_ *w, const isthmus_type *t, size_t base, unsigned version) {
  for (uint32_t i = 0; i < t->field_count; i++) {
    const isthmus_field *f = &t->fields[i];
    if (f->since > version) continue;
    if (f->presence_offset >= 0 && !(w->msg[base + (size_t)f->presence_offset] & (1u << f->presence_bit))) continue;
    isthmus_push_(w, f->name, 0);
    if (isthmus_verify_value_(w, f->type, base + f->offset)) return -1;
    w->depth--;
  }
  return 0;
}

/* §3.1 for the reference at pos: BAD_REF, then OUT_OF_BOUNDS. Sets *block (0 when empty). */
static inline int isthmus_verify_ref_(isthmus_walk_ *w, size_t pos, uint32_t stride, uint64_t *block) {
  uint64_t off = isthmus_load_u32(w->msg + pos), n = isthmus_load_u32(w->msg + pos + 4);
  *block = 0;
  if (n == 0) return off ? isthmus_fail_(w, ISTHMUS_E_BAD_REF, pos, (int64_t)off, "empty reference must have offset 0, has %llu", (unsigned long long)off) : 0;
  if (off % ISTHMUS_BLOCK_ALIGN)
    return isthmus_fail_(w, ISTHMUS_E_BAD_REF, pos, (int64_t)off, "reference offset %llu is not a multiple of 8", (unsigned long long)off);
  if (off < w->tail_start || off + n * stride > w->total)
    return isthmus_fail_(w, ISTHMUS_E_OUT_OF_BOUNDS, pos, (int64_t)off, "reference [%llu, %llu) (count %llu, stride %u) is outside the tail [%u, %u)",
                         (unsigned long long)off, (unsigned long long)(off + n * stride), (unsigned long long)n, stride, w->tail_start, w->total);
  *block = off;
  return 0;
}

/* Checks count elements at pos, stride bytes apart. */
static inline int isthmus_verify_elements_(isthmus_walk_ *w, const isthmus_type *element, size_t pos, uint32_t count, uint32_t stride) {
  if (element->plain) return 0;
  isthmus_push_(w, NULL, 0);
  for (uint32_t i = 0; i < count; i++) {
    if (w->depth <= ISTHMUS_MAX_PATH_STEPS) w->steps[w->depth - 1].index = i;
    if (isthmus_verify_value_(w, element, pos + (size_t)i * stride)) return -1;
  }
  w->depth--;
  return 0;
}

static inline int isthmus_verify_value_(isthmus_walk_ *w, const isthmus_type *t, size_t pos) {
  const uint8_t *at = w->msg + pos;
  uint64_t block;
  switch (t->kind) {
    case ISTHMUS_BOOL:
      return at[0] > 1 ? isthmus_fail_(w, ISTHMUS_E_BAD_BOOL, pos, at[0], "bool must be 0 or 1, is %u", at[0]) : 0;
    case ISTHMUS_ENUM: {
      int64_t v = isthmus_read_int_(t->base, at);
      for (uint32_t i = 0; i < t->value_count; i++)
        if (t->values[i].value == v) return 0;
      return isthmus_fail_(w, ISTHMUS_E_BAD_ENUM, pos, v, "%lld is not a value of enum %s", (long long)v, t->name);
    }
    case ISTHMUS_STRUCT:
      return t->plain ? 0 : isthmus_verify_record_(w, t, pos, 255);
    case ISTHMUS_ARRAY:
      return isthmus_verify_elements_(w, t->element, pos, t->length, t->stride);
    case ISTHMUS_STRING: {
      if (isthmus_verify_ref_(w, pos, 1, &block)) return -1;
      long bad = block ? isthmus_utf8_invalid_at(w->msg + block, isthmus_load_u32(at + 4)) : -1;
      if (bad >= 0) return isthmus_fail_(w, ISTHMUS_E_BAD_UTF8, pos, (int64_t)block + bad, "invalid UTF-8 at byte %llu of the message", (unsigned long long)block + (unsigned long long)bad);
      return 0;
    }
    case ISTHMUS_BYTES:
      return isthmus_verify_ref_(w, pos, 1, &block);
    case ISTHMUS_VECTOR:
      if (isthmus_verify_ref_(w, pos, t->stride, &block)) return -1;
      return block ? isthmus_verify_elements_(w, t->element, (size_t)block, isthmus_load_u32(at + 4), t->stride) : 0;
    case ISTHMUS_UNION: {
      uint32_t tag = isthmus_load_u32(at);
      uint64_t off = isthmus_load_u32(at + 4);
      if (tag == 0) return off ? isthmus_fail_(w, ISTHMUS_E_BAD_UNION, pos, (int64_t)off, "union without a value must have offset 0, has %llu", (unsigned long long)off) : 0;
      if (tag > t->case_count) return isthmus_fail_(w, ISTHMUS_E_BAD_UNION, pos, tag, "tag %u is not a case of %s (it has %u)", tag, t->name, t->case_count);
      const isthmus_case *c = &t->cases[tag - 1];
      isthmus_push_(w, c->name, 0);
      if (off % ISTHMUS_BLOCK_ALIGN) return isthmus_fail_(w, ISTHMUS_E_BAD_REF, pos, (int64_t)off, "union offset %llu is not a multiple of 8", (unsigned long long)off);
      if (off < w->tail_start || off + c->size > w->total)
        return isthmus_fail_(w, ISTHMUS_E_OUT_OF_BOUNDS, pos, (int64_t)off, "union value [%llu, %llu) is outside the tail [%u, %u)",
                             (unsigned long long)off, (unsigned long long)(off + c->size), w->tail_start, w->total);
      if (isthmus_verify_value_(w, c->type, (size_t)off)) return -1;
      w->depth--;
      return 0;
    }
    default:
      return 0;
  }
}

/* "market.BookUpdate" → "BookUpdate". */
static inline const char *isthmus_short_name_(const char *full) {
  const char *dot = strrchr(full, '.');
  return dot ? dot + 1 : full;
}

/*
 * Verifies the message of type `t` at [msg, msg + len). Returns 0 when it is safe to read
 * (every reference stays inside [msg, msg + total_size)), else -1 and, when err is not
 * NULL, the first problem in the order of §8. On success only err->code is written.
 * Formats nothing unless it fails; the path is rendered then.
 */
static inline int isthmus_verify(const isthmus_type *t, const void *msg, size_t len, isthmus_error *err) {
  isthmus_walk_ w;
  const uint8_t *m = (const uint8_t *)msg;
  w.msg = m;
  w.tail_start = w.total = 0;
  w.err = err;
  w.root = isthmus_short_name_(t->name);
  w.depth = 0;
  if (err) err->code = ISTHMUS_OK;
  if (len < ISTHMUS_HEADER_SIZE) return isthmus_fail_(&w, ISTHMUS_E_TRUNCATED, 0, (int64_t)len, "%zu bytes can not hold the 16-byte header", len);
  uint32_t total = isthmus_msg_total_size(m);
  if (total > len) return isthmus_fail_(&w, ISTHMUS_E_TRUNCATED, 8, total, "total_size %u exceeds the %zu bytes available", total, len);
  uint64_t id = isthmus_msg_type_id(m);
  if (id != t->type_id)
    return isthmus_fail_(&w, ISTHMUS_E_BAD_TYPE_ID, 0, (int64_t)id, "type id 0x%016llx is not %s (0x%016llx)", (unsigned long long)id, t->name, (unsigned long long)t->type_id);
  uint32_t fixed = isthmus_msg_fixed_size(m);
  unsigned version = isthmus_msg_version(m);
  if (total % 8) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, 8, total, "total_size %u is not a multiple of 8", total);
  if (fixed % 8) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, 12, fixed, "fixed_size %u is not a multiple of 8", fixed);
  if (ISTHMUS_HEADER_SIZE + fixed > total) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, 12, fixed, "fixed part [16, %u) exceeds total_size %u", 16 + fixed, total);
  if (version < 1) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, 14, version, "version must be at least 1");
  if (m[15]) return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, 15, m[15], "flags must be 0 in layout v1, are %u", m[15]);
  unsigned rv = version < t->version ? version : t->version;
  if (fixed < t->version_sizes[rv - 1])
    return isthmus_fail_(&w, ISTHMUS_E_BAD_HEADER, 12, fixed, "fixed_size %u is smaller than the %u bytes of version %u", fixed, t->version_sizes[rv - 1], rv);
  w.tail_start = ISTHMUS_HEADER_SIZE + fixed;
  w.total = total;
  return isthmus_verify_record_(&w, t, ISTHMUS_HEADER_SIZE, version);
}

/* --- JSON form (§10) -------------------------------------------------------------------- */

typedef struct isthmus_out_ {
  char *buf;
  size_t cap, len;
} isthmus_out_;

/* Appends what fits of s[0, n); len counts everything, as snprintf's result does. */
static inline void isthmus_put_(isthmus_out_ *o, const char *s, size_t n) {
  if (o->len < o->cap) {
    size_t room = o->cap - o->len;
    memcpy(o->buf + o->len, s, n < room ? n : room);
  }
  o->len += n;
}
static inline void isthmus_puts_(isthmus_out_ *o, const char *s) { isthmus_put_(o, s, strlen(s)); }

/* Writes digits d[0, k) (no trailing zeros), value 0.d × 10^n, as JavaScript prints a number. */
static inline void isthmus_put_js_number_(isthmus_out_ *o, int neg, const char *d, int k, int n) {
  char buf[64];
  size_t b = 0;
  if (neg) buf[b++] = '-';
  if (k <= n && n <= 21) {
    memcpy(buf + b, d, (size_t)k); b += (size_t)k;
    for (int i = k; i < n; i++) buf[b++] = '0';
  } else if (0 < n && n <= 21) {
    memcpy(buf + b, d, (size_t)n); b += (size_t)n;
    buf[b++] = '.';
    memcpy(buf + b, d + n, (size_t)(k - n)); b += (size_t)(k - n);
  } else if (-6 < n && n <= 0) {
    buf[b++] = '0'; buf[b++] = '.';
    for (int i = n; i < 0; i++) buf[b++] = '0';
    memcpy(buf + b, d, (size_t)k); b += (size_t)k;
  } else {
    buf[b++] = d[0];
    if (k > 1) { buf[b++] = '.'; memcpy(buf + b, d + 1, (size_t)(k - 1)); b += (size_t)(k - 1); }
    b += (size_t)snprintf(buf + b, sizeof buf - b, "e%c%d", n - 1 < 0 ? '-' : '+', n - 1 < 0 ? 1 - n : n - 1);
  }
  isthmus_put_(o, buf, b);
}

/*
 * A finite, non-zero float as the shortest decimal that reads back as the same binary32
 * (f32) or binary64 value: for p = 1, 2, … the exact value rounded half away from zero to
 * p significant digits (JavaScript's toPrecision), read back with strtod (and rounded to
 * binary32 for f32, as the TypeScript runtime's Math.fround). Same digits as TypeScript.
 */
static inline void isthmus_put_float_(isthmus_out_ *o, double v, int f32) {
  if (isnan(v)) { isthmus_puts_(o, "\"NaN\""); return; }
  if (isinf(v)) { isthmus_puts_(o, v > 0 ? "\"Infinity\"" : "\"-Infinity\""); return; }
  if (v == 0) { isthmus_puts_(o, "0"); return; }
  /* Every binary64 value has at most 767 significant decimal digits, so this is exact. */
  char exact[800], digits[24], text[48];
  int neg = v < 0;
  snprintf(exact, sizeof exact, "%.770e", neg ? -v : v);
  int e10 = atoi(strchr(exact, 'e') + 1);
  for (int p = 1; p <= 17; p++) {
    int n = e10 + 1, k = p;
    digits[0] = exact[0];
    memcpy(digits + 1, exact + 2, (size_t)(p - 1));
    if (exact[p + 1] >= '5') {
      int i = p - 1;
      while (i >= 0 && digits[i] == '9') digits[i--] = '0';
      if (i >= 0) digits[i]++;
      else { memmove(digits + 1, digits, (size_t)p - 1); digits[0] = '1'; n++; }
    }
    while (k > 1 && digits[k - 1] == '0') k--;
    snprintf(text, sizeof text, "%s0.%.*se%d", neg ? "-" : "", k, digits, n);
    double back = strtod(text, NULL);
    if (f32 ? (float)back == (float)v : back == v) {
      isthmus_put_js_number_(o, neg, digits, k, n);
      return;
    }
  }
}

static inline void isthmus_put_string_(isthmus_out_ *o, const char *p, size_t n) {
  isthmus_put_(o, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    char esc[8];
    unsigned char c = (unsigned char)p[i];
    if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; isthmus_put_(o, esc, 2); }
    else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); isthmus_put_(o, esc, 6); }
    else isthmus_put_(o, p + i, 1);
  }
  isthmus_put_(o, "\"", 1);
}

static inline void isthmus_put_base64_(isthmus_out_ *o, const uint8_t *p, size_t n) {
  static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  isthmus_put_(o, "\"", 1);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    char q[4] = {A[v >> 18], A[(v >> 12) & 63], i + 1 < n ? A[(v >> 6) & 63] : '=', i + 2 < n ? A[v & 63] : '='};
    isthmus_put_(o, q, 4);
  }
  isthmus_put_(o, "\"", 1);
}

static inline void isthmus_put_int_(isthmus_out_ *o, const char *fmt, long long v) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, fmt, v);
  isthmus_puts_(o, tmp);
}

/* The JSON form of the default value of t (§6: what a reader sees for an unknown field). */
static inline void isthmus_json_default_(isthmus_out_ *o, const isthmus_type *t) {
  switch (t->kind) {
    case ISTHMUS_BOOL: isthmus_puts_(o, "false"); return;
    case ISTHMUS_U64: case ISTHMUS_I64: isthmus_puts_(o, "\"0\""); return;
    case ISTHMUS_STRING: case ISTHMUS_BYTES: isthmus_puts_(o, "\"\""); return;
    case ISTHMUS_VECTOR: isthmus_puts_(o, "[]"); return;
    case ISTHMUS_UNION: isthmus_puts_(o, "null"); return;
    case ISTHMUS_ENUM:
      for (uint32_t i = 0; i < t->value_count; i++)
        if (t->values[i].value == 0) { isthmus_put_string_(o, t->values[i].name, strlen(t->values[i].name)); return; }
      isthmus_puts_(o, "0");
      return;
    case ISTHMUS_ARRAY:
      isthmus_put_(o, "[", 1);
      for (uint32_t i = 0; i < t->length; i++) {
        if (i) isthmus_put_(o, ",", 1);
        isthmus_json_default_(o, t->element);
      }
      isthmus_put_(o, "]", 1);
      return;
    case ISTHMUS_STRUCT: case ISTHMUS_MESSAGE:
      isthmus_put_(o, "{", 1);
      for (uint32_t i = 0; i < t->field_count; i++) {
        if (i) isthmus_put_(o, ",", 1);
        isthmus_put_string_(o, t->fields[i].name, strlen(t->fields[i].name));
        isthmus_put_(o, ":", 1);
        if (t->fields[i].presence_offset >= 0) isthmus_puts_(o, "null");
        else isthmus_json_default_(o, t->fields[i].type);
      }
      isthmus_put_(o, "}", 1);
      return;
    default: isthmus_puts_(o, "0"); return;
  }
}

static inline void isthmus_json_value_(isthmus_out_ *o, const uint8_t *msg, size_t len, const isthmus_type *t, size_t pos);

/* Record at pos; the caller checked that its fixed bytes for `version` lie inside len. */
static inline void isthmus_json_record_(isthmus_out_ *o, const uint8_t *msg, size_t len, const isthmus_type *t, size_t pos, unsigned version) {
  isthmus_put_(o, "{", 1);
  for (uint32_t i = 0; i < t->field_count; i++) {
    const isthmus_field *f = &t->fields[i];
    if (i) isthmus_put_(o, ",", 1);
    isthmus_put_string_(o, f->name, strlen(f->name));
    isthmus_put_(o, ":", 1);
    if (f->presence_offset >= 0 && (f->since > version || !(msg[pos + (size_t)f->presence_offset] & (1u << f->presence_bit)))) isthmus_puts_(o, "null");
    else if (f->since > version) isthmus_json_default_(o, f->type);
    else isthmus_json_value_(o, msg, len, f->type, pos + f->offset);
  }
  isthmus_put_(o, "}", 1);
}

static inline void isthmus_json_value_(isthmus_out_ *o, const uint8_t *msg, size_t len, const isthmus_type *t, size_t pos) {
  const uint8_t *at = msg + pos;
  switch (t->kind) {
    case ISTHMUS_BOOL: isthmus_puts_(o, at[0] ? "true" : "false"); return;
    case ISTHMUS_U8: case ISTHMUS_U16: case ISTHMUS_U32: case ISTHMUS_I8: case ISTHMUS_I16: case ISTHMUS_I32:
      isthmus_put_int_(o, "%lld", (long long)isthmus_read_int_(t->kind, at));
      return;
    case ISTHMUS_U64: {
      char tmp[32];
      snprintf(tmp, sizeof tmp, "\"%llu\"", (unsigned long long)isthmus_load_u64(at));
      isthmus_puts_(o, tmp);
      return;
    }
    case ISTHMUS_I64: isthmus_put_int_(o, "\"%lld\"", (long long)(int64_t)isthmus_load_u64(at)); return;
    case ISTHMUS_F32: { float f; memcpy(&f, at, 4); isthmus_put_float_(o, f, 1); return; }
    case ISTHMUS_F64: { double d; memcpy(&d, at, 8); isthmus_put_float_(o, d, 0); return; }
    case ISTHMUS_ENUM: {
      int64_t v = isthmus_read_int_(t->base, at);
      for (uint32_t i = 0; i < t->value_count; i++)
        if (t->values[i].value == v) { isthmus_put_string_(o, t->values[i].name, strlen(t->values[i].name)); return; }
      isthmus_put_int_(o, "%lld", (long long)v);
      return;
    }
    case ISTHMUS_STRUCT: isthmus_json_record_(o, msg, len, t, pos, 255); return;
    case ISTHMUS_ARRAY:
      isthmus_put_(o, "[", 1);
      for (uint32_t i = 0; i < t->length; i++) {
        if (i) isthmus_put_(o, ",", 1);
        isthmus_json_value_(o, msg, len, t->element, pos + (size_t)i * t->stride);
      }
      isthmus_put_(o, "]", 1);
      return;
    case ISTHMUS_STRING: case ISTHMUS_BYTES: {
      isthmus_span s = isthmus_vector_at(msg, len, pos, 1);
      if (!s.ok) isthmus_puts_(o, "null");
      else if (t->kind == ISTHMUS_STRING) isthmus_put_string_(o, (const char *)s.ptr, s.count);
      else isthmus_put_base64_(o, (const uint8_t *)s.ptr, s.count);
      return;
    }
    case ISTHMUS_VECTOR: {
      isthmus_span s = isthmus_vector_at(msg, len, pos, t->stride);
      if (!s.ok) { isthmus_puts_(o, "null"); return; }
      isthmus_put_(o, "[", 1);
      for (uint32_t i = 0; i < s.count; i++) {
        if (i) isthmus_put_(o, ",", 1);
        isthmus_json_value_(o, msg, len, t->element, (size_t)((const uint8_t *)s.ptr - msg) + (size_t)i * t->stride);
      }
      isthmus_put_(o, "]", 1);
      return;
    }
    case ISTHMUS_UNION: {
      uint32_t tag = isthmus_load_u32(at);
      if (tag == 0) { isthmus_puts_(o, "null"); return; }
      if (tag > t->case_count) { isthmus_put_int_(o, "{\"%lld\":null}", tag); return; }
      const isthmus_case *c = &t->cases[tag - 1];
      isthmus_span s = isthmus_union_get(msg, len, (const isthmus_union_ref *)(const void *)at, tag, c->size);
      if (!s.ptr) { isthmus_puts_(o, "null"); return; }
      isthmus_put_(o, "{", 1);
      isthmus_put_string_(o, c->name, strlen(c->name));
      isthmus_put_(o, ":", 1);
      isthmus_json_value_(o, msg, len, c->type, (size_t)((const uint8_t *)s.ptr - msg));
      isthmus_put_(o, "}", 1);
      return;
    }
    default: return;
  }
}

/*
 * Writes the JSON form (§10) of the message of type `t` at [msg, msg + len) into
 * out[0, cap), NUL-terminated, like snprintf: returns the length it needs (≥ cap means
 * truncated). Verify first: on unverified bytes it still reads only inside the range, but
 * prints null for references that leave it and may print invalid UTF-8; a message too
 * short for its fixed part prints as null.
 */
static inline size_t isthmus_to_json(const isthmus_type *t, const void *msg, size_t len, char *out, size_t cap) {
  isthmus_out_ o = {out, cap, 0};
  const uint8_t *m = (const uint8_t *)msg;
  unsigned version = len >= ISTHMUS_HEADER_SIZE ? isthmus_msg_version(m) : 0;
  unsigned rv = version < t->version ? version : t->version;
  if (version >= 1 && len - ISTHMUS_HEADER_SIZE >= t->version_sizes[rv - 1]) isthmus_json_record_(&o, m, len, t, ISTHMUS_HEADER_SIZE, version);
  else isthmus_puts_(&o, "null");
  if (cap) out[o.len < cap ? o.len : cap - 1] = 0;
  return o.len;
}

/* --- builder: a message written in place (§5) ------------------------------------------- */

/*
 * A message being built in buf[0, cap). Blocks are appended at 8-aligned offsets in call
 * order; calling the helpers in depth-first pre-order (fields in declaration order, each
 * block's contents before the next field) gives the canonical encoding. `failed` is set
 * for good at the first request that does not fit; nothing is ever written past cap.
 */
typedef struct isthmus_builder {
  uint8_t *buf;
  size_t cap;
  size_t end;
  int failed;
} isthmus_builder;

/* Writes the header of message type t into buf (8-aligned) and zeroes its fixed part; returns the fixed part, or NULL. */
static inline void *isthmus_builder_init(isthmus_builder *b, const isthmus_type *t, void *buf, size_t cap) {
  b->buf = (uint8_t *)buf;
  b->cap = cap;
  b->end = ISTHMUS_HEADER_SIZE + t->size;
  b->failed = b->end > cap;
  if (b->failed) return NULL;
  memset(b->buf, 0, b->end);
  isthmus_store_u64(b->buf, t->type_id);
  isthmus_store_u16(b->buf + 12, (uint16_t)t->size);
  b->buf[14] = (uint8_t)t->version;
  return b->buf + ISTHMUS_HEADER_SIZE;
}

/* Reserves a zeroed, 8-aligned tail block; returns its offset from message start, or 0. */
static inline uint32_t isthmus_builder_alloc(isthmus_builder *b, size_t size) {
  size_t start = (b->end + 7u) & ~(size_t)7u;
  if (b->failed || start > b->cap || size > b->cap - start || start + size > ISTHMUS_MAX_MESSAGE_SIZE) {
    b->failed = 1;
    return 0;
  }
  memset(b->buf + b->end, 0, start + size - b->end);
  b->end = start + size;
  return (uint32_t)start;
}

/* Whether the 8 bytes at p lie in the part of the buffer written so far. */
static inline int isthmus_builder_owns_(const isthmus_builder *b, const void *p) {
  size_t pos = isthmus_pos_of(b->buf, p);
  return isthmus_fits_(b->end, pos, 8);
}

/* Allocates count × stride zeroed bytes and points *ref (inside this message) at them; returns the block, or NULL. */
static inline void *isthmus_builder_init_ref(isthmus_builder *b, isthmus_ref *ref, uint32_t count, uint32_t stride) {
  if (!isthmus_builder_owns_(b, ref)) { b->failed = 1; return NULL; }
  isthmus_store_u64(ref, 0);
  if (count == 0) return b->buf + b->end;
  uint32_t off = isthmus_builder_alloc(b, (size_t)count * stride);
  if (!off) return NULL;
  isthmus_store_u32(&ref->offset, off);
  isthmus_store_u32(&ref->count, count);
  return b->buf + off;
}

/* Copies n bytes (a string's UTF-8, or raw bytes) into the tail and points *ref at them. 0, or -1. */
static inline int isthmus_builder_set_bytes(isthmus_builder *b, isthmus_ref *ref, const void *p, size_t n) {
  if (n > ISTHMUS_MAX_MESSAGE_SIZE) { b->failed = 1; return -1; }
  void *dst = isthmus_builder_init_ref(b, ref, (uint32_t)n, 1);
  if (!dst) return -1;
  if (n) memcpy(dst, p, n);
  return 0;
}

/* Sets union *u (inside this message) to case `tag` and allocates its zeroed value block of `size` bytes; returns it, or NULL. */
static inline void *isthmus_builder_init_union(isthmus_builder *b, isthmus_union_ref *u, uint32_t tag, uint32_t size) {
  if (!isthmus_builder_owns_(b, u)) { b->failed = 1; return NULL; }
  uint32_t off = isthmus_builder_alloc(b, size);
  if (!off) return NULL;
  isthmus_store_u32(&u->tag, tag);
  isthmus_store_u32(&u->offset, off);
  return b->buf + off;
}

/* Zero-pads to a multiple of 8 and writes total_size. Returns the message size, or 0 if any step failed. */
static inline size_t isthmus_builder_finish(isthmus_builder *b) {
  size_t total = (b->end + 7u) & ~(size_t)7u;
  if (b->failed || total > b->cap) {
    b->failed = 1;
    return 0;
  }
  memset(b->buf + b->end, 0, total - b->end);
  isthmus_store_u32(b->buf + 8, (uint32_t)total);
  b->end = total;
  return total;
}

#ifdef __cplusplus
}
#endif
#endif /* ISTHMUS_LAYOUT_H */
