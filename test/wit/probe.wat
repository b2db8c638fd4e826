;; Core module of the probe component (probe.wit). Memory: [0, 1024) static, the return
;; area at 64; [1024, …) a bump heap (8-aligned, zero-filled, reset by each cabi_post_*).
;; The canonical ABI does not write padding, so zero-filling makes padding read as 0.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
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

  ;; lower-wide(w: wide) -> list<u8>: more than 16 flat params, so the only parameter is
  ;; a pointer to the stored `wide` (112 bytes, align 8: the size of the Isthmus struct).
  (func (export "lower-wide") (param $p i32) (result i32)
    (i32.store (i32.const 64) (local.get $p))
    (i32.store (i32.const 68) (i32.const 112))
    (i32.const 64))

  ;; lift-wide(raw: list<u8>) -> wide: the list's data (8-aligned by cabi_realloc) is the result.
  (func (export "lift-wide") (param $p i32) (param $n i32) (result i32)
    (local.get $p))

  (func (export "cabi_post_lower-wide") (param i32) (global.set $heap (i32.const 1024)))
  (func (export "cabi_post_lift-wide") (param i32) (global.set $heap (i32.const 1024)))
)
