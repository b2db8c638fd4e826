//! Hosts a WebAssembly module (AssemblyScript with wasm/as/isthmus/ring.ts) on an Isthmus
//! ring region in wasmtime, zero-copy: the region file is mapped with
//! `mmap(MAP_SHARED | MAP_FIXED)` over a 64 KiB-aligned window of the module's linear
//! memory, which the module reserved (`isthmus_reserve`), exactly as `WasmHost` does in
//! Node (docs/wasm.md, "Hosting"). The module then runs the ring protocol itself with wasm
//! atomics on shared pages; other processes (TS, C, another wasm host) see every store.
//!
//!   isthmus-wasmtime-host <module.wasm> <region path> <role> <count>
//!
//! Prints `ready` once attached, then `RESULT <json>` with the module's run() result, in
//! the format of test/wasm-as/host.ts. Joining the slot is the C core's (src/shim.c).
//!
//! Imports given to the module (docs/wasm.md): isthmus.futex_wait(addr, expected, ms),
//! isthmus.futex_wake(addr, count), isthmus.now_ms(), isthmus.slot_alive(slot_addr),
//! env.abort(msg, file, line, col). Addresses are linear-memory addresses; the futex is
//! the shared (not private) futex on the mapped page, so other processes' wakes reach it.

use std::ffi::{c_char, c_int, c_void, CString};
use std::io::Write;
use std::time::Instant;
use wasmtime::{bail, format_err, Caller, Config, Engine, Extern, Linker, Memory, Module, Result, Store};

const PAGE: usize = 65536;

#[repr(C)]
struct HostChannel {
    _opaque: [u8; 0],
}

extern "C" {
    fn host_attach(path: *const c_char, role: u32, out: *mut *mut HostChannel, err: *mut c_char, errlen: usize) -> c_int;
    fn host_base(c: *const HostChannel) -> *mut c_void;
    fn host_size(c: *const HostChannel) -> usize;
    fn host_fd(c: *const HostChannel) -> c_int;
    fn host_slot(c: *const HostChannel) -> u32;
    fn host_detach(c: *mut HostChannel);
    fn host_alive(pid: u32, start_time: u64) -> c_int;
}

/// What the imports need: the mapped windows `[offset, offset + window)` and the clock.
struct Host {
    windows: Vec<(u32, u32)>,
    t0: Instant,
}

fn role_code(role: &str) -> Result<u32> {
    Ok(match role {
        "producer" => 1,
        "consumer" => 2,
        "publisher" => 3,
        "subscriber" => 4,
        _ => bail!("role {role:?}: expected producer, consumer, publisher or subscriber"),
    })
}

/// The module's memory and the host pointer of linear address `addr`, when `[addr, addr + n)`
/// lies inside a mapped window (the only memory other processes can reach).
fn shared_ptr(caller: &mut Caller<'_, Host>, addr: u32, n: u32) -> Option<*mut u8> {
    let inside = caller.data().windows.iter().any(|&(o, w)| addr >= o && addr as u64 + n as u64 <= o as u64 + w as u64);
    if !inside {
        return None;
    }
    let mem = match caller.get_export("memory") {
        Some(Extern::Memory(m)) => m,
        _ => return None,
    };
    Some(unsafe { mem.data_ptr(&caller).add(addr as usize) })
}

fn linker(engine: &Engine) -> Result<Linker<Host>> {
    let mut l = Linker::new(engine);
    l.func_wrap("isthmus", "futex_wait", |mut c: Caller<'_, Host>, addr: i32, expected: i32, ms: f64| -> Result<i32> {
        let p = shared_ptr(&mut c, addr as u32, 4).ok_or_else(|| format_err!("futex_wait: address {addr} is not inside a mapped region"))?;
        let ms = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
        let ts = libc::timespec { tv_sec: (ms / 1000.0) as libc::time_t, tv_nsec: ((ms % 1000.0) * 1e6) as libc::c_long };
        // FUTEX_WAIT without FUTEX_PRIVATE_FLAG: keyed by the shared page, so a wake from
        // any process that maps the region reaches it (docs/ring.md §3).
        let r = unsafe { libc::syscall(libc::SYS_futex, p as *mut u32, libc::FUTEX_WAIT, expected as u32, &ts as *const libc::timespec, 0usize, 0u32) };
        if r == 0 {
            return Ok(0);
        }
        Ok(match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EAGAIN) => 1,
            Some(libc::ETIMEDOUT) => 2,
            _ => 0, // EINTR: a spurious wake-up; the caller re-checks
        })
    })?;
    l.func_wrap("isthmus", "futex_wake", |mut c: Caller<'_, Host>, addr: i32, count: i32| -> Result<i32> {
        let p = shared_ptr(&mut c, addr as u32, 4).ok_or_else(|| format_err!("futex_wake: address {addr} is not inside a mapped region"))?;
        let n = unsafe { libc::syscall(libc::SYS_futex, p as *mut u32, libc::FUTEX_WAKE, (count as u32).min(i32::MAX as u32), 0usize, 0usize, 0u32) };
        Ok(n.max(0) as i32)
    })?;
    l.func_wrap("isthmus", "now_ms", |c: Caller<'_, Host>| -> f64 { c.data().t0.elapsed().as_secs_f64() * 1000.0 })?;
    l.func_wrap("isthmus", "slot_alive", |mut c: Caller<'_, Host>, addr: i32| -> Result<i32> {
        // A participant slot (docs/ring.md §1.3): pid u32 at +8, start_time u64 at +16.
        let p = shared_ptr(&mut c, addr as u32, 24).ok_or_else(|| format_err!("slot_alive: address {addr} is not inside a mapped region"))?;
        let (pid, st) = unsafe { (std::ptr::read_volatile(p.add(8) as *const u32), std::ptr::read_volatile(p.add(16) as *const u64)) };
        Ok(unsafe { host_alive(pid, st) })
    })?;
    l.func_wrap("env", "abort", |_c: Caller<'_, Host>, _msg: i32, _file: i32, line: i32, col: i32| -> Result<()> {
        bail!("wasm module aborted at {line}:{col}")
    })?;
    Ok(l)
}

/// An AssemblyScript string at `p`: UTF-16LE, its byte length in the 4 bytes before it.
fn as_string(mem: &Memory, store: &Store<Host>, p: u32) -> String {
    let d = mem.data(store);
    let p = p as usize;
    if p < 4 || p > d.len() {
        return String::new();
    }
    let n = u32::from_le_bytes(d[p - 4..p].try_into().unwrap()) as usize;
    let units: Vec<u16> = d[p..(p + n).min(d.len())].chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
    String::from_utf16_lossy(&units)
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        bail!("usage: isthmus-wasmtime-host <module.wasm> <region path> <role> <count>");
    }
    let (wasm, path, role, count) = (&args[1], &args[2], role_code(&args[3])?, args[4].parse::<i32>().map_err(|e| format_err!("count {:?}: {e}", args[4]))?);

    // The region, validated and joined by the C core.
    let cpath = CString::new(path.as_str())?;
    let mut err = [0 as c_char; 256];
    let mut ch: *mut HostChannel = std::ptr::null_mut();
    let rc = unsafe { host_attach(cpath.as_ptr(), role, &mut ch, err.as_mut_ptr(), err.len()) };
    if rc != 0 {
        let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) }.to_string_lossy().into_owned();
        bail!("{path}: cannot attach as {}: errno {} {msg}", args[3], -rc);
    }
    let (size, fd, slot) = unsafe { (host_size(ch), host_fd(ch), host_slot(ch)) };
    let _ = unsafe { host_base(ch) };

    // Wasm atomics on a non-shared memory (the threads proposal), as asc --enable threads emits.
    let mut config = Config::new();
    config.wasm_threads(true);
    let engine = Engine::new(&config)?;
    let module = Module::from_file(&engine, wasm).map_err(|e| format_err!("loading {wasm}: {e}"))?;
    let mut store = Store::new(&engine, Host { windows: Vec::new(), t0: Instant::now() });
    let instance = linker(&engine)?.instantiate(&mut store, &module)?;
    let mem = instance.get_memory(&mut store, "memory").ok_or_else(|| format_err!("the module exports no memory"))?;

    // The window: the module reserves it; the region's pages replace the window's own.
    let window = size.div_ceil(PAGE) * PAGE;
    let reserve = instance.get_typed_func::<i32, i32>(&mut store, "isthmus_reserve").map_err(|e| format_err!("the module must export isthmus_reserve (re-export wasm/as/isthmus/host.ts): {e}"))?;
    let offset = reserve.call(&mut store, window as i32)? as u32 as usize;
    if offset == 0 || offset % PAGE != 0 {
        bail!("the module could not reserve a {window}-byte window (isthmus_reserve gave {offset})");
    }
    if offset + window > mem.data_size(&store) {
        bail!("window [{offset}, {}) is beyond the memory's {} bytes", offset + window, mem.data_size(&store));
    }
    // What the caller guarantees for this raw mapping: the window is the module's own
    // (reserved above), the memory's base never moves (wasmtime reserves the whole 4 GiB
    // range of a 32-bit memory up front and grows in place), and the file is not shrunk
    // (regions are sealed or created once). Only whole file pages are mapped; the rest of
    // the window keeps the module's zero pages (never a mapping past EOF: no SIGBUS).
    let file_bytes = size.div_ceil(4096) * 4096;
    let at = unsafe { mem.data_ptr(&store).add(offset) } as *mut c_void;
    let got = unsafe { libc::mmap(at, file_bytes, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED | libc::MAP_FIXED, fd, 0) };
    if got != at {
        bail!("mmap of {path} over the window failed: {}", std::io::Error::last_os_error());
    }
    store.data_mut().windows.push((offset as u32, size as u32));

    let attach = instance.get_typed_func::<(i32, i32, i32), i32>(&mut store, "attach")?;
    let arc = attach.call(&mut store, (offset as i32, size as i32, slot as i32))?;
    if arc != 0 {
        bail!("module attach failed: {arc}");
    }
    println!("ready");
    std::io::stdout().flush()?;

    let run = instance.get_typed_func::<(i32, f64), i64>(&mut store, "run")?;
    let n = run.call(&mut store, (count, 10_000.0))?;
    // The contract above: had the memory moved (a grow that relocates), the window would no
    // longer be the region. Say so rather than report figures from stale pages.
    if unsafe { mem.data_ptr(&store).add(offset) } as *mut c_void != at {
        bail!("the module's memory moved while the region was mapped into it (a relocating grow)");
    }
    let mut out = format!("{{\"run\":{n},\"engine\":\"wasmtime\",\"offset\":{offset},\"slot\":{slot}");
    if let Ok(f) = instance.get_typed_func::<(), i64>(&mut store, "checksum") {
        out += &format!(",\"checksum\":\"{}\"", f.call(&mut store, ())? as u64);
    }
    for name in ["recovered", "lost", "tailCount"] {
        if let Ok(f) = instance.get_typed_func::<(), i32>(&mut store, name) {
            out += &format!(",\"{name}\":{}", f.call(&mut store, ())? as u32);
        }
    }
    if let Ok(f) = instance.get_typed_func::<(), i32>(&mut store, "error") {
        let p = f.call(&mut store, ())? as u32;
        out += &format!(",\"error\":{}", json_str(&as_string(&mem, &store, p)));
    }
    println!("RESULT {out}}}");

    // Detach: zero pages back over the window, then leave the slot and close the file.
    store.data_mut().windows.clear();
    let z = unsafe { libc::mmap(at, file_bytes, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED, -1, 0) };
    if z != at {
        bail!("unmapping the window failed: {}", std::io::Error::last_os_error());
    }
    if let Ok(f) = instance.get_typed_func::<i32, ()>(&mut store, "isthmus_release") {
        f.call(&mut store, offset as i32)?;
    }
    unsafe { host_detach(ch) };
    Ok(())
}
