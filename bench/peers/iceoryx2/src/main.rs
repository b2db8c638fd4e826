//! iceoryx2 peer of the Isthmus IPC benchmark (bench/ipc/run.ts): the published `iceoryx2`
//! crate's public API, publish-subscribe of `[u8]` slices over `ipc::Service`, both sides
//! busy-polling (`receive()` in a loop with a spin hint), as iceoryx2's own benchmark does.
//!
//!   iceoryx2-bench pingpong   <payload> <iters> <warmup> <cpuA> <cpuB>
//!   iceoryx2-bench throughput <payload> <msgs> <buffer> <cpuA> <cpuB>
//!
//! Like bench/ipc/raw_atomics.c the process forks before touching iceoryx2: the parent is
//! side A (ping / consumer), the child side B (echo / producer), each with its own node.
//! Ping-pong: A loans a slice, copies the payload in, sends; B receives, loans a reply and
//! copies the request payload into it (the echo), sends; A times the round trip with
//! CLOCK_MONOTONIC and records (round trip - timer) / 2. Bytes 0..8 of every message are
//! the sequence number (A ignores stale replies and re-sends after 50 ms, which only the
//! connection set-up ever needs). Throughput: B sends `msgs` messages with
//! RetryUntilDelivered back-pressure into a subscriber buffer of `buffer` samples; A
//! reads each in place (length, first/last byte) and reports the rate over the last 90 %.
//! Prints one JSON line; cpu_ns is getrusage of both processes (self + waited child).
use iceoryx2::prelude::*;
use iceoryx2::port::backpressure_strategy::BackpressureStrategy;
use std::io::{Read, Write};

fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn pin(cpu: i32) {
    if cpu < 0 {
        return;
    }
    unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        libc::CPU_SET(cpu as usize, &mut set);
        libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn cpu_ns(who: i32) -> u64 {
    let mut ru: libc::rusage = unsafe { core::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn timer_cost() -> u64 {
    let mut d: Vec<u64> = (0..20001).map(|_| { let a = now_ns(); now_ns() - a }).collect();
    d.sort_unstable();
    d[d.len() / 2]
}

struct Pipe { r: std::fs::File, w: std::fs::File }
fn pipe() -> Pipe {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 { panic!("pipe"); }
    unsafe { Pipe { r: std::fs::File::from_raw_fd(fds[0]), w: std::fs::File::from_raw_fd(fds[1]) } }
}
fn signal(p: &mut Pipe) { p.w.write_all(b"x").unwrap(); }
fn await_signal(p: &mut Pipe) { let mut b = [0u8; 1]; p.r.read_exact(&mut b).unwrap(); }

fn node() -> Node<ipc::Service> {
    NodeBuilder::new().signal_handling_mode(SignalHandlingMode::Disabled).create::<ipc::Service>().expect("iceoryx2 node")
}

type Svc = iceoryx2::service::port_factory::publish_subscribe::PortFactory<ipc::Service, [u8], ()>;
fn service(node: &Node<ipc::Service>, name: &str, buffer: usize) -> Svc {
    node.service_builder(&name.try_into().unwrap())
        .publish_subscribe::<[u8]>()
        .max_publishers(1)
        .max_subscribers(1)
        .history_size(0)
        .subscriber_max_buffer_size(buffer)
        .enable_safe_overflow(false)
        .open_or_create()
        .expect("iceoryx2 service")
}

fn wait_child(pid: libc::pid_t) {
    let mut st = 0;
    unsafe { libc::waitpid(pid, &mut st, 0) };
    if !(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0) {
        eprintln!("iceoryx2-bench: side B failed ({st})");
        std::process::exit(3);
    }
}

fn pct(s: &[u64], q: f64) -> u64 { s[((q * s.len() as f64) as usize).min(s.len() - 1)] }

fn pingpong(payload: usize, iters: usize, warmup: usize, cpu_a: i32, cpu_b: i32) {
    let payload = payload.max(8);
    let tag = format!("isthmus-bench/{}", std::process::id());
    let (ping_name, pong_name) = (format!("{tag}/ping"), format!("{tag}/pong"));
    let (mut go, mut ready) = (pipe(), pipe());
    let total = (iters + warmup) as u64;
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        pin(cpu_b);
        await_signal(&mut go);
        let n = node();
        let ping = service(&n, &ping_name, 2);
        let pong = service(&n, &pong_name, 2);
        let sub = ping.subscriber_builder().create().unwrap();
        let publ = pong.publisher_builder().initial_max_slice_len(payload).create().unwrap();
        signal(&mut ready);
        loop {
            let Some(s) = sub.receive().unwrap() else { core::hint::spin_loop(); continue };
            let req = s.payload();
            let seq = u64::from_le_bytes(req[0..8].try_into().unwrap());
            let reply = publ.loan_slice_uninit(req.len()).unwrap().write_from_slice(req);
            drop(s);
            reply.send().unwrap();
            if seq == u64::MAX { break; }
        }
        unsafe { libc::_exit(0) };
    }
    pin(cpu_a);
    let n = node();
    let ping = service(&n, &ping_name, 2);
    let pong = service(&n, &pong_name, 2);
    let publ = ping.publisher_builder().initial_max_slice_len(payload).create().unwrap();
    let sub = pong.subscriber_builder().create().unwrap();
    signal(&mut go);
    await_signal(&mut ready);
    let mut src: Vec<u8> = (0..payload).map(|k| k as u8).collect();
    let timer = timer_cost();
    let mut samples = Vec::with_capacity(iters);
    let mut sink = 0u8;
    let cpu0 = cpu_ns(libc::RUSAGE_SELF);
    for i in 0..total {
        let t0 = now_ns();
        src[0..8].copy_from_slice(&i.to_le_bytes());
        publ.loan_slice_uninit(payload).unwrap().write_from_slice(&src).send().unwrap();
        let mut sent = t0;
        loop {
            if let Some(s) = sub.receive().unwrap() {
                let p = s.payload();
                if u64::from_le_bytes(p[0..8].try_into().unwrap()) == i { sink ^= p[payload - 1]; break; }
                continue;
            }
            core::hint::spin_loop();
            if now_ns() - sent > 50_000_000 {
                publ.loan_slice_uninit(payload).unwrap().write_from_slice(&src).send().unwrap();
                sent = now_ns();
            }
        }
        let rt = now_ns() - t0;
        if i >= warmup as u64 { samples.push(rt.saturating_sub(timer) / 2); }
    }
    let cpu_a_ns = cpu_ns(libc::RUSAGE_SELF) - cpu0;
    src[0..8].copy_from_slice(&u64::MAX.to_le_bytes());
    publ.loan_slice_uninit(payload).unwrap().write_from_slice(&src).send().unwrap();
    wait_child(pid);
    let cpu_b_ns = cpu_ns(libc::RUSAGE_CHILDREN);
    samples.sort_unstable();
    println!(
        "{{\"p50_ns\":{},\"p99_ns\":{},\"p999_ns\":{},\"max_ns\":{},\"samples\":{},\"timer_ns\":{},\"cpu_ns\":{},\"cpu_msgs\":{},\"sink\":{}}}",
        pct(&samples, 0.5), pct(&samples, 0.99), pct(&samples, 0.999), samples[samples.len() - 1], samples.len(), timer,
        cpu_a_ns + cpu_b_ns, total, sink
    );
}

fn throughput(payload: usize, msgs: usize, buffer: usize, cpu_a: i32, cpu_b: i32) {
    let payload = payload.max(8);
    let name = format!("isthmus-bench/{}/tp", std::process::id());
    let (mut go, mut done) = (pipe(), pipe());
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        pin(cpu_b);
        await_signal(&mut go);
        let n = node();
        let svc = service(&n, &name, buffer);
        let publ = svc.publisher_builder().initial_max_slice_len(payload)
            .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
            .create().unwrap();
        let mut src: Vec<u8> = (0..payload).map(|k| k as u8).collect();
        for i in 0..msgs as u64 {
            src[0..8].copy_from_slice(&i.to_le_bytes());
            publ.loan_slice_uninit(payload).unwrap().write_from_slice(&src).send().unwrap();
        }
        await_signal(&mut done); // keep the publisher (and its samples) until A has read all
        unsafe { libc::_exit(0) };
    }
    pin(cpu_a);
    let n = node();
    let svc = service(&n, &name, buffer);
    let sub = svc.subscriber_builder().buffer_size(buffer).create().unwrap();
    let cpu0 = cpu_ns(libc::RUSAGE_SELF);
    signal(&mut go);
    let skip = msgs / 10;
    let (mut first, mut sum, mut lost) = (0u64, 0u64, 0u64);
    let mut k = 0usize;
    // A sequence gap is counted in `lost` (seen on a loaded machine despite
    // RetryUntilDelivered); the rate counts the messages that arrived.
    while k < msgs {
        let Some(s) = sub.receive().unwrap() else { core::hint::spin_loop(); continue };
        let p = s.payload();
        let seq = u64::from_le_bytes(p[0..8].try_into().unwrap()) as usize;
        if seq < k || seq >= msgs { eprintln!("iceoryx2-bench: message {k}: sequence {seq}"); std::process::exit(1); }
        if seq > k { lost += (seq - k) as u64; k = seq; }
        sum += p.len() as u64 + p[8.min(p.len() - 1)] as u64 + p[p.len() - 1] as u64;
        if k == skip || (first == 0 && k > skip) { first = now_ns(); }
        k += 1;
    }
    let last = now_ns();
    let cpu_a_ns = cpu_ns(libc::RUSAGE_SELF) - cpu0;
    signal(&mut done);
    wait_child(pid);
    let cpu_b_ns = cpu_ns(libc::RUSAGE_CHILDREN);
    let secs = (last - first) as f64 / 1e9;
    let rate = if secs > 0.0 { ((msgs - 1 - skip) as f64 - lost as f64).max(0.0) / secs } else { 0.0 };
    println!(
        "{{\"msgs_per_s\":{:.0},\"gb_per_s\":{:.4},\"msgs\":{},\"lost\":{},\"cpu_ns\":{},\"cpu_msgs\":{},\"check\":{}}}",
        rate, rate * payload as f64 / 1e9, msgs, lost, cpu_a_ns + cpu_b_ns, msgs, sum & 0xffff
    );
}

fn main() {
    set_log_level(LogLevel::Error);
    let a: Vec<String> = std::env::args().collect();
    let num = |i: usize| -> usize { a.get(i).and_then(|s| s.parse().ok()).unwrap_or_else(|| { eprintln!("usage: iceoryx2-bench pingpong|throughput <payload> <n> <warmup|buffer> <cpuA> <cpuB>"); std::process::exit(2) }) };
    let cpu = |i: usize| -> i32 { a.get(i).and_then(|s| s.parse().ok()).unwrap_or(-1) };
    match a.get(1).map(String::as_str) {
        Some("pingpong") => pingpong(num(2), num(3), num(4), cpu(5), cpu(6)),
        Some("throughput") => throughput(num(2), num(3), num(4).max(2), cpu(5), cpu(6)),
        _ => { eprintln!("usage: iceoryx2-bench pingpong|throughput <payload> <n> <warmup|buffer> <cpuA> <cpuB>"); std::process::exit(2) }
    }
}
