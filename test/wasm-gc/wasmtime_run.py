"""Runs Isthmus WasmGC codec modules in wasmtime (GC enabled), driven by test/wasm-gc.test.ts.

Reads a JSON plan on stdin and prints one JSON object on stdout:

  plan:   {"modules": {name: path.wasm}, "memory_pages": N,
           "cases": [{"module": name, "message": M, "input": base64, "src": ptr, "len": n,
                      "dst": ptr, "cap": n, "fill": byte}],
           "harness": {"wat": text, "links": [name, ...], "calls": [[export, [args...]], ...]} | null}
  result: {"cases": [{"rc": i32, "code": i32, "offset": i32, "value": str(i64), "out": base64, "trap": str|null}],
           "harness": [value-as-str, ...]}

Each case writes `input` at `src` of a fresh zeroed memory, calls roundtrip_M(src, len, dst, cap) and
reports the result, last_error*() and the bytes [dst, dst + max(rc, 0)); with "fill", the memory is
first filled with that byte and "window" holds the bytes [dst - 8, dst + cap + 8) afterwards. A trap is reported, not raised,
so the test can say which input trapped. The harness is a WAT module that imports the named codec
modules' exports (as a WasmGC language would) and is called with i32/i64 arguments only.
"""
import base64
import json
import sys

from wasmtime import Config, Engine, Limits, Linker, Memory, MemoryType, Module, Store, Trap, WasmtimeError


def main() -> None:
    plan = json.load(sys.stdin)
    cfg = Config()
    cfg.wasm_gc = True
    cfg.wasm_function_references = True
    cfg.wasm_reference_types = True
    engine = Engine(cfg)
    compiled = {name: Module.from_file(engine, path) for name, path in plan["modules"].items()}
    pages = plan.get("memory_pages", 4)

    def instantiate():
        store = Store(engine)
        mem = Memory(store, MemoryType(Limits(pages, pages)))
        linker = Linker(engine)
        linker.define(store, "isthmus", "memory", mem)
        insts = {}
        for name, mod in compiled.items():
            insts[name] = linker.instantiate(store, mod)
            linker.define_instance(store, name, insts[name])
        return store, mem, linker, insts

    out = {"cases": [], "harness": []}
    store, mem, linker, insts = instantiate()
    size = pages * 65536
    for case in plan["cases"]:
        mem.write(store, bytes([case.get("fill", 0)]) * size, 0)
        data = base64.b64decode(case["input"])
        src = case.get("src", 8)
        if data:
            mem.write(store, data, src)
        ex = insts[case["module"]].exports(store)
        res = {"rc": None, "code": None, "offset": None, "value": None, "out": "", "trap": None}
        try:
            rc = ex["roundtrip_" + case["message"]](store, src, case.get("len", len(data)), case.get("dst", size // 2), case.get("cap", size // 2))
            res["rc"] = rc
            res["code"] = ex["last_error"](store)
            res["offset"] = ex["last_error_offset"](store)
            res["value"] = str(ex["last_error_value"](store))
            if rc > 0:
                dst = case.get("dst", size // 2)
                res["out"] = base64.b64encode(mem.read(store, dst, dst + rc)).decode()
            if "fill" in case:
                dst, cap = case.get("dst", size // 2), case.get("cap", size // 2)
                res["window"] = base64.b64encode(mem.read(store, dst - 8, dst + cap + 8)).decode()
        except (Trap, WasmtimeError) as e:
            res["trap"] = str(e).splitlines()[0]
        out["cases"].append(res)

    h = plan.get("harness")
    if h:
        harness = linker.instantiate(store, Module(engine, h["wat"]))
        hx = harness.exports(store)
        for name, args in h["calls"]:
            if name == "@load":
                mem.write(store, bytes(size), 0)
                mem.write(store, base64.b64decode(args[0]), args[1])
                out["harness"].append(None)
                continue
            try:
                out["harness"].append(str(hx[name](store, *args)))
            except (Trap, WasmtimeError) as e:
                out["harness"].append("trap: " + str(e).splitlines()[0])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
