;; The WASM module of the WASM tests: an accumulator whose state lives for one shot, a
;; Collatz step counter (a loop), and functions that trap, loop forever or grow memory.
(module
  ;; 7 until init runs: a shot that skipped init would be off by 7
  (global $total (mut i64) (i64.const 7))
  (memory (export "memory") 1)

  (func (export "init")
    (global.set $total (i64.const 0)))

  ;; adds its argument to the shot's running total and returns the total
  (func (export "add") (param $value i32) (result i32)
    (global.set $total (i64.add (global.get $total) (i64.extend_i32_u (local.get $value))))
    (i32.wrap_i64 (global.get $total)))

  ;; the number of Collatz steps from n down to 1
  (func (export "collatz") (param $n i32) (result i32)
    (local $steps i32)
    (block $done
      (loop $next
        (br_if $done (i32.le_u (local.get $n) (i32.const 1)))
        (local.set $n
          (if (result i32) (i32.eqz (i32.and (local.get $n) (i32.const 1)))
            (then (i32.shr_u (local.get $n) (i32.const 1)))
            (else (i32.add (i32.mul (local.get $n) (i32.const 3)) (i32.const 1)))))
        (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
        (br $next)))
    (local.get $steps))

  ;; i64 arguments and result, for 64-bit registers
  (func (export "wide_sum") (param i64 i64) (result i64)
    (i64.add (local.get 0) (local.get 1)))

  ;; -1 as an i32: written to a register it is all ones up to the register's width
  (func (export "minus_one") (result i32)
    (i32.const -1))

  ;; no result: changes the total only
  (func (export "reset_total")
    (global.set $total (i64.const 0)))

  (func (export "divide") (param $a i32) (param $b i32) (result i32)
    (i32.div_u (local.get $a) (local.get $b)))

  (func (export "spin")
    (loop $forever (br $forever)))

  ;; pages obtained, or -1 when the memory cannot grow by that much
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))

  (func (export "average") (param f64) (result f64)
    (local.get 0))
)
