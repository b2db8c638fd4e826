;; Core module of the book-stats component (wit/book-stats.wit), written by hand against
;; the canonical ABI (https://github.com/WebAssembly/component-model, CanonicalABI.md).
;;
;; Memory map: [0, 1024) static (the return area at 64), [1024, …) a bump heap that
;; cabi_realloc hands out and every cabi_post_* resets, so each call starts from an empty
;; heap. Allocations are 8-aligned and zeroed: padding bytes that the canonical ABI does
;; not write read as 0 (lowered-levels relies on it to return canonical bytes).
;;
;; Canonical-ABI layouts used here (market.wit; they are the Isthmus layouts):
;;   level   = 32 bytes, align 8: price.mantissa s64 @0, price.exponent s8 @8, qty u64 @16,
;;             orders u32 @24
;;   summary = 64 bytes, align 8: seq @0, bid-levels @8, ask-levels @12, bid-qty @16,
;;             ask-qty @24, best-bid @32, symbol-hash @40, venue-bytes @44,
;;             trade-id option<u64>: discriminant u8 @48, value u64 @56
(module
  (memory (export "memory") 1)
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  ;; cabi_realloc(old_ptr, old_size, align, new_size) -> ptr: bump allocation, 8-aligned
  ;; (align ≤ 8 in this world), zero-filled, growing memory as needed; a reallocation
  ;; copies min(old_size, new_size) bytes.
  (func $realloc (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 0xffff)) (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (memory.fill (local.get $p) (i32.const 0) (local.get $size))
    (if (local.get $old)
      (then (memory.copy (local.get $p) (local.get $old)
        (select (local.get $old_size) (local.get $size) (i32.lt_u (local.get $old_size) (local.get $size))))))
    (global.set $heap (local.get $end))
    (local.get $p))

  (func $reset (global.set $heap (global.get $heap_base)))

  ;; notional(l: level) -> s64. level flattens to (i64 mantissa, i32 exponent, i64 qty, i32 orders).
  (func (export "notional") (param $mantissa i64) (param $exponent i32) (param $qty i64) (param $orders i32) (result i64)
    (i64.mul (local.get $mantissa) (local.get $qty)))

  ;; Sum of qty (u64 @16) over n levels at ptr.
  (func $sum_qty (param $p i32) (param $n i32) (result i64)
    (local $s i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i64.add (local.get $s) (i64.load offset=16 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $s))

  ;; summarize(u: book-update) -> summary. book-update flattens to 14 values (≤ 16, so
  ;; they come as parameters): seq, ts-ns, instrument-id, side, symbol (ptr, len),
  ;; venue (ptr, len), bids (ptr, count), asks (ptr, count), trade-id (discriminant, value).
  ;; The result (more than one flat value) goes to the return area; its address is returned.
  (func (export "summarize")
    (param $seq i64) (param $ts i64) (param $inst i32) (param $side i32)
    (param $sym i32) (param $sym_len i32) (param $venue i32) (param $venue_len i32)
    (param $bids i32) (param $nbids i32) (param $asks i32) (param $nasks i32)
    (param $has_trade i32) (param $trade i64)
    (result i32)
    (local $i i32) (local $m i64) (local $best i64) (local $h i32)
    (i64.store (i32.const 64) (local.get $seq))
    (i32.store (i32.const 72) (local.get $nbids))
    (i32.store (i32.const 76) (local.get $nasks))
    (i64.store (i32.const 80) (call $sum_qty (local.get $bids) (local.get $nbids)))
    (i64.store (i32.const 88) (call $sum_qty (local.get $asks) (local.get $nasks)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $nbids)))
        (local.set $m (i64.load (i32.add (local.get $bids) (i32.shl (local.get $i) (i32.const 5)))))
        (if (i32.or (i32.eqz (local.get $i)) (i64.gt_s (local.get $m) (local.get $best)))
          (then (local.set $best (local.get $m))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i64.store (i32.const 96) (local.get $best))
    (local.set $h (i32.const 0x811c9dc5))
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $sym_len)))
        (local.set $h (i32.mul
          (i32.xor (local.get $h) (i32.load8_u (i32.add (local.get $sym) (local.get $i))))
          (i32.const 0x01000193)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 104) (local.get $h))
    (i32.store (i32.const 108) (local.get $venue_len))
    (i32.store8 (i32.const 112) (local.get $has_trade))
    (i64.store (i32.const 120) (select (local.get $trade) (i64.const 0) (local.get $has_trade)))
    (i32.const 64))

  ;; lowered-levels(levels: list<level>) -> list<u8>: the list's own bytes, as (ptr, count × 32)
  ;; in the return area.
  (func (export "lowered-levels") (param $p i32) (param $n i32) (result i32)
    (i32.store (i32.const 64) (local.get $p))
    (i32.store (i32.const 68) (i32.shl (local.get $n) (i32.const 5)))
    (i32.const 64))

  ;; Post-return: the host has lifted the result; the heap is free again.
  (func (export "cabi_post_summarize") (param i32) (call $reset))
  (func (export "cabi_post_lowered-levels") (param i32) (call $reset))
)
