/* Ring conformance runner, C side (test/ring-conformance/README.md, docs/ring.md §8).
 *
 *   ring_conformance <scenario.json> <out.bin>
 *
 * Runs the scenario against a fresh zeroed region in process memory with the deterministic
 * header (creator pid 1, uid 0, start 0, created_ns 0, unblock_ns 1e9); participants take
 * exactly the slot an op names, identity pid 1000 + slot, uid 0, start_time = slot. Writes
 * the final region bytes. Exit 1 with the op index when an expectation fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isthmus/ring.h"

/* ---- a tiny JSON reader (trusted test input; enough for the scenario format) ---- */
enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct jv {
  int t;
  double num;
  char *str;        /* J_STR; key for object members */
  struct jv **kids; /* J_ARR, J_OBJ */
  char **keys;
  int n;
} jv;
static const char *jp;
static void jerr(const char *m) { fprintf(stderr, "scenario JSON: %s near '%.20s'\n", m, jp); exit(2); }
static void jws(void) { while (*jp == ' ' || *jp == '\n' || *jp == '\r' || *jp == '\t') jp++; }
static char *jstr(void) {
  if (*jp != '"') jerr("expected a string");
  jp++;
  size_t cap = 16, n = 0;
  char *s = malloc(cap);
  while (*jp && *jp != '"') {
    char c = *jp++;
    if (c == '\\') {
      c = *jp++;
      if (c == 'n') c = '\n'; else if (c == 't') c = '\t';
    }
    if (n + 2 > cap) s = realloc(s, cap *= 2);
    s[n++] = c;
  }
  if (*jp != '"') jerr("unterminated string");
  jp++;
  s[n] = 0;
  return s;
}
static jv *jval(void) {
  jws();
  jv *v = calloc(1, sizeof *v);
  if (*jp == '{' || *jp == '[') {
    int obj = *jp == '{';
    v->t = obj ? J_OBJ : J_ARR;
    jp++;
    jws();
    while (*jp != (obj ? '}' : ']')) {
      v->kids = realloc(v->kids, sizeof(jv *) * (v->n + 1));
      v->keys = realloc(v->keys, sizeof(char *) * (v->n + 1));
      v->keys[v->n] = NULL;
      if (obj) {
        jws();
        v->keys[v->n] = jstr();
        jws();
        if (*jp++ != ':') jerr("expected ':'");
      }
      v->kids[v->n++] = jval();
      jws();
      if (*jp == ',') { jp++; jws(); }
      else if (*jp != (obj ? '}' : ']')) jerr("expected ',' or a closing bracket");
    }
    jp++;
  } else if (*jp == '"') {
    v->t = J_STR;
    v->str = jstr();
  } else if (!strncmp(jp, "true", 4)) { v->t = J_BOOL; v->num = 1; jp += 4; }
  else if (!strncmp(jp, "false", 5)) { v->t = J_BOOL; v->num = 0; jp += 5; }
  else if (!strncmp(jp, "null", 4)) { v->t = J_NULL; jp += 4; }
  else {
    char *end;
    v->t = J_NUM;
    v->num = strtod(jp, &end);
    if (end == jp) jerr("unexpected character");
    jp = end;
  }
  return v;
}
static jv *jget(const jv *o, const char *k) {
  if (!o || o->t != J_OBJ) return NULL;
  for (int i = 0; i < o->n; i++) if (!strcmp(o->keys[i], k)) return o->kids[i];
  return NULL;
}
static double jnum(const jv *o, const char *k, double d) { jv *v = jget(o, k); return v && v->t == J_NUM ? v->num : d; }
static const char *js(const jv *o, const char *k, const char *d) { jv *v = jget(o, k); return v && v->t == J_STR ? v->str : d; }

/* ---- the runner ---- */
static int op_index;
static const char *op_name;
static uint32_t op_slot;
static void fail(const char *fmt, const char *a, long long x, long long y) {
  fprintf(stderr, "op %d (%s slot %u): ", op_index, op_name, op_slot);
  fprintf(stderr, fmt, a, x, y);
  fprintf(stderr, "\n");
  exit(1);
}
static int dead_mask_fn(void *ctx, uint32_t slot) { return (int)((*(uint64_t *)ctx >> slot) & 1); }

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: ring_conformance <scenario.json> <out.bin>\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  fseek(f, 0, SEEK_END);
  long fl = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = calloc(1, (size_t)fl + 1);
  if (fread(text, 1, (size_t)fl, f) != (size_t)fl) { perror("read"); return 2; }
  fclose(f);
  jp = text;
  jv *sc = jval();
  const char *kind = js(sc, "kind", "spsc");
  isthmus_ring_params p;
  memset(&p, 0, sizeof p);
  p.kind = !strcmp(kind, "spsc") ? ISTHMUS_RING_SPSC : !strcmp(kind, "mpsc") ? ISTHMUS_RING_MPSC : ISTHMUS_RING_BROADCAST;
  p.policy = !strcmp(js(sc, "policy", "block"), "overwrite");
  p.capacity = (uint32_t)jnum(sc, "capacity", 4096);
  p.slots = (uint32_t)jnum(sc, "slots", 4);
  p.max_message = (uint32_t)jnum(sc, "max_message", 1024);
  p.type_id = strtoull(js(sc, "type_id", "0"), NULL, 0);
  p.unblock_ns = 1000000000ull;
  p.creator_pid = 1; /* deterministic identity: never "this process" */
  uint64_t size = isthmus_ring_region_size(p.slots, p.capacity);
  unsigned char *region = aligned_alloc(4096, (size_t)size);
  memset(region, 0, (size_t)size);
  int rc = isthmus_ring_format(region, (size_t)size, &p);
  if (rc) { fprintf(stderr, "format: %s\n", strerror(-rc)); return 1; }
  char err[160];
  isthmus_ring proto;
  if (isthmus_ring_open(region, (size_t)size, p.type_id, &proto, err, sizeof err)) { fprintf(stderr, "open: %s\n", err); return 1; }
  isthmus_ring *h = calloc(p.slots + 1, sizeof *h);
  unsigned char **loans = calloc(p.slots + 1, sizeof *loans);
  jv *ops = jget(sc, "ops");
  for (op_index = 0; ops && op_index < ops->n; op_index++) {
    jv *op = ops->kids[op_index];
    op_name = js(op, "op", "?");
    op_slot = (uint32_t)jnum(op, "slot", 0);
    if (op_slot < 1 || op_slot > p.slots) fail("%sslot out of range%lld%lld", "", 0, 0);
    isthmus_ring *r = &h[op_slot];
    jv *ex = jget(op, "expect");
    const char *want = ex && ex->t == J_STR ? ex->str : "ok";
    uint32_t len = (uint32_t)jnum(op, "len", 0);
    int byte = (int)jnum(op, "byte", 0);
    uint64_t corr = strtoull(js(op, "correlation", "0"), NULL, 10);
    uint32_t flags = (uint32_t)jnum(op, "flags", 0);
    if (!strcmp(op_name, "join")) {
      const char *role = js(op, "role", "");
      uint32_t ro = !strcmp(role, "producer") ? ISTHMUS_ROLE_PRODUCER : !strcmp(role, "consumer") ? ISTHMUS_ROLE_CONSUMER
                    : !strcmp(role, "publisher") ? ISTHMUS_ROLE_PUBLISHER : ISTHMUS_ROLE_SUBSCRIBER;
      *r = proto;
      rc = isthmus_ring_join(r, ro, op_slot, 1000 + op_slot, 0, op_slot);
      if (rc) fail("%sjoin failed: %lld%lld", "", rc, 0);
    } else if (!strcmp(op_name, "send") || !strcmp(op_name, "loan")) {
      unsigned char *pl = isthmus_ring_loan(r, len, &rc);
      const char *got = pl ? "ok" : rc == -ENOSPC ? "full" : rc == -ECANCELED ? "aborted" : "error";
      if (strcmp(got, want)) fail("expected %s, got rc %lld%lld", want, rc, 0);
      if (pl && !strcmp(op_name, "send")) {
        memset(pl, byte, len);
        rc = isthmus_ring_commit(r, len, corr, flags);
        if (rc) fail("%scommit failed %lld%lld", "", rc, 0);
      } else if (pl) {
        loans[op_slot] = pl;
      }
    } else if (!strcmp(op_name, "commit")) {
      if (!loans[op_slot]) fail("%scommit without a loan%lld%lld", "", 0, 0);
      memset(loans[op_slot], byte, len);
      loans[op_slot] = NULL;
      rc = isthmus_ring_commit(r, len, corr, flags);
      const char *got = rc == 0 ? "ok" : rc == -ECANCELED ? "aborted" : "error";
      if (strcmp(got, want)) fail("expected %s, got rc %lld%lld", want, rc, 0);
    } else if (!strcmp(op_name, "recv")) {
      isthmus_record rec;
      rc = isthmus_ring_receive(r, &rec);
      if (rc == -EAGAIN) {
        if (!ex || ex->t != J_STR || strcmp(ex->str, "empty")) fail("%sexpected a record, got empty%lld%lld", "", 0, 0);
        continue;
      }
      if (rc) fail("%sreceive failed %lld%lld", "", rc, 0);
      if (ex && ex->t == J_STR && !strcmp(ex->str, "empty")) fail("%sexpected empty, got a record of %lld bytes%lld", "", rec.len, 0);
      if (ex && ex->t == J_OBJ) {
        struct { const char *k; long long v; } f2[] = {{"len", rec.len}, {"seq", rec.seq}, {"sender", rec.sender}, {"flags", rec.flags}, {"gap", rec.gap}};
        for (size_t i = 0; i < sizeof f2 / sizeof f2[0]; i++) {
          jv *w = jget(ex, f2[i].k);
          if (w && (long long)w->num != f2[i].v) fail("%s is %lld, expected %lld", f2[i].k, f2[i].v, (long long)w->num);
        }
        const char *c = js(ex, "correlation", NULL);
        if (c && strtoull(c, NULL, 10) != rec.correlation) fail("%s is %lld, expected %lld", "correlation", (long long)rec.correlation, (long long)strtoull(c, NULL, 10));
        jv *b = jget(ex, "byte");
        if (b) for (uint32_t i = 0; i < rec.len; i++)
          if (rec.payload[i] != (unsigned char)b->num) fail("payload byte %s%lld is %lld", "", i, rec.payload[i]);
      }
    } else if (!strcmp(op_name, "release")) {
      isthmus_ring_release(r);
    } else if (!strcmp(op_name, "abandon")) {
      r->loaned = 0; /* the process "died": its handle is gone, its slot and claim stay */
      r->role = 0;
    } else if (!strcmp(op_name, "recover")) {
      uint64_t mask = 0;
      jv *d = jget(op, "dead");
      for (int i = 0; d && i < d->n; i++) mask |= 1ull << (int)d->kids[i]->num;
      rc = isthmus_ring_recover(r, dead_mask_fn, &mask);
      if (rc < 0) fail("%srecover failed %lld%lld", "", rc, 0);
      if (ex && ex->t == J_BOOL && (int)ex->num != rc) fail("expected recover() = %s, got %lld%lld", ex->num ? "true" : "false", rc, 0);
    } else if (!strcmp(op_name, "leave")) {
      if (!r->slot) fail("%sslot holds nothing%lld%lld", "", 0, 0);
      isthmus_ring_leave(r);
    } else {
      fail("unknown op %s%lld%lld", op_name, 0, 0);
    }
  }
  FILE *o = fopen(argv[2], "wb");
  if (!o || fwrite(region, 1, (size_t)size, o) != (size_t)size || fclose(o) != 0) { perror(argv[2]); return 2; }
  return 0;
}
