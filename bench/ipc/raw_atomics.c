/*
 * raw_atomics.c — the physical reference for the IPC benchmark (bench/ipc/run.ts).
 *
 * Two processes (fork) share one anonymous MAP_SHARED mapping and talk through C11
 * atomics on it, with no protocol beyond what each scenario needs. Whatever Isthmus
 * measures is compared to this.
 *
 *   raw_atomics pingpong   <payload> <iters> <warmup> <cpuA> <cpuB>
 *   raw_atomics throughput <payload> <msgs>  <capacity> <cpuA> <cpuB>
 *   raw_atomics wakeup     <iters>   <cpuA> <cpuB>
 *   raw_atomics memcpy     <payload> <iters> <cpuA>      (one process: memcpy bandwidth)
 *   raw_atomics exec <cmd> [args...]   runs cmd, then prints {"child_cpu_ns"} (wait4 rusage)
 *
 * cpuA/cpuB: the cores the parent/child pin themselves to (-1: no pinning).
 * Prints one JSON object on stdout:
 *   pingpong:   {"p50_ns","p99_ns","p999_ns","max_ns","timer_ns"}  one-way = (round trip
 *               − timer_ns) / 2, timer_ns: what one clock read adds to a timed interval
 *   throughput: {"msgs_per_s","gb_per_s","msgs"}
 *   wakeup:     {"p50_ns","p99_ns","p999_ns","max_ns"}  futex wake -> consumer running
 *
 * Build: gcc -O2 -o raw_atomics raw_atomics.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE 64

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* user + system CPU time of this process (RUSAGE_SELF) or of its waited-for children. */
static uint64_t cpu_ns(int who) {
    struct rusage ru;
    getrusage(who, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static void pin(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
}

static void *shared_map(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(2); }
    memset(p, 0, size);
    return p;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static uint64_t pct(const uint64_t *s, size_t n, double q) {
    size_t i = (size_t)(q * (double)n);
    if (i >= n) i = n - 1;
    return s[i];
}

/* cpu: CPU time of both processes (self + the waited child), msgs: messages it covers. */
static void print_latency(uint64_t *s, size_t n, uint64_t timer_ns, uint64_t cpu, size_t msgs) {
    qsort(s, n, sizeof *s, cmp_u64);
    printf("{\"p50_ns\":%llu,\"p99_ns\":%llu,\"p999_ns\":%llu,\"max_ns\":%llu,\"samples\":%zu,\"timer_ns\":%llu,\"cpu_ns\":%llu,\"cpu_msgs\":%zu}\n",
           (unsigned long long)pct(s, n, 0.50), (unsigned long long)pct(s, n, 0.99),
           (unsigned long long)pct(s, n, 0.999), (unsigned long long)s[n - 1], n,
           (unsigned long long)timer_ns, (unsigned long long)cpu, msgs);
}

/* The cost one timed interval includes for the clock itself: the median of 20 001
 * back-to-back now_ns() deltas. Ping-pong subtracts it from each round trip, as the
 * Node peers do with performance.now(), so both sides report the exchange alone. */
static uint64_t timer_cost(void) {
    enum { K = 20001 };
    static uint64_t d[K];
    for (int i = 0; i < K; i++) {
        uint64_t a = now_ns();
        d[i] = now_ns() - a;
    }
    qsort(d, K, sizeof d[0], cmp_u64);
    return d[K / 2];
}

static void wait_child(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "child failed\n");
        exit(3);
    }
}

/* ---------------------------------------------------------------------------------
 * Ping-pong. Shared layout (each field on its own cache line):
 *
 *   0     ping_seq  u32   written by A (store_release), read by B (load_acquire)
 *   64    pong_seq  u32   written by B (store_release), read by A (load_acquire)
 *   128   ping payload  [payload bytes]   written by A before its ping_seq release
 *   128+P pong payload  [payload bytes]   written by B before its pong_seq release
 *
 * A: memcpy payload -> ping slot, store_release(ping_seq, i); spin until
 *    load_acquire(pong_seq) == i. B: spin until load_acquire(ping_seq) == i, memcpy
 *    ping slot -> pong slot (the echo), store_release(pong_seq, i). Each release pairs
 *    with the other side's acquire, so the payload bytes are visible before the seq.
 * ------------------------------------------------------------------------------- */
static int pingpong(size_t payload, size_t iters, size_t warmup, int cpu_a, int cpu_b) {
    size_t pslot = (payload + LINE - 1) / LINE * LINE;
    uint8_t *m = shared_map(2 * LINE + 2 * pslot);
    _Atomic uint32_t *ping = (_Atomic uint32_t *)(m + 0);
    _Atomic uint32_t *pong = (_Atomic uint32_t *)(m + LINE);
    uint8_t *ping_buf = m + 2 * LINE, *pong_buf = ping_buf + pslot;
    size_t total = iters + warmup;

    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) {
        pin(cpu_b);
        for (uint32_t i = 1; i <= total; i++) {
            while (atomic_load_explicit(ping, memory_order_acquire) != i) cpu_relax();
            memcpy(pong_buf, ping_buf, payload);
            atomic_store_explicit(pong, i, memory_order_release);
        }
        _exit(0);
    }
    pin(cpu_a);
    uint8_t *src = malloc(payload ? payload : 1);
    for (size_t k = 0; k < payload; k++) src[k] = (uint8_t)k;
    uint64_t *samples = malloc(iters * sizeof *samples);
    volatile uint8_t sink = 0;
    uint64_t timer = timer_cost();
    for (uint32_t i = 1; i <= total; i++) {
        uint64_t t0 = now_ns();
        memcpy(ping_buf, src, payload);
        atomic_store_explicit(ping, i, memory_order_release);
        while (atomic_load_explicit(pong, memory_order_acquire) != i) cpu_relax();
        sink ^= pong_buf[payload ? payload - 1 : 0];
        uint64_t t1 = now_ns();
        uint64_t rt = t1 - t0 > timer ? t1 - t0 - timer : 0;
        if (i > warmup) samples[i - 1 - warmup] = rt / 2;
    }
    (void)sink;
    wait_child(pid);
    print_latency(samples, iters, timer, cpu_ns(RUSAGE_SELF) + cpu_ns(RUSAGE_CHILDREN), total);
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Throughput: a slot ring of `capacity` bytes, one producer (B, the child), one consumer
 * (A). Layout:
 *
 *   0    tail  u32   slots published by the producer (store_release / load_acquire)
 *   64   head  u32   slots released by the consumer  (store_release / load_acquire)
 *   128  slots: N = capacity / slot, slot = align64(8 + payload): u32 len, payload
 *
 * The producer memcpy's the payload into slot (tail % N) once head says it is free, then
 * store_release(tail); the consumer load_acquire(tail), reads the record in place (its
 * length and first/last payload byte) and store_release(head). Both sides cache the other
 * cursor and reload it only when the cached value says full/empty (as Isthmus does).
 * Rate: over the last 90 % of the messages (the first 10 % warm up), measured by the
 * consumer: (msgs − 1 − msgs/10) / (last receive − receive of message msgs/10).
 * ------------------------------------------------------------------------------- */
static int throughput(size_t payload, size_t msgs, size_t capacity, int cpu_a, int cpu_b) {
    size_t slot = (8 + payload + LINE - 1) / LINE * LINE;
    uint32_t n = (uint32_t)(capacity / slot);
    if (n < 2) n = 2;
    uint8_t *m = shared_map(2 * LINE + (size_t)n * slot);
    _Atomic uint32_t *tail = (_Atomic uint32_t *)(m + 0);
    _Atomic uint32_t *head = (_Atomic uint32_t *)(m + LINE);
    uint8_t *slots = m + 2 * LINE;

    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) {
        pin(cpu_b);
        uint8_t *src = malloc(payload ? payload : 1);
        for (size_t k = 0; k < payload; k++) src[k] = (uint8_t)k;
        uint32_t t = 0, cached_head = 0;
        for (size_t k = 0; k < msgs; k++) {
            while (t - cached_head >= n) {
                cached_head = atomic_load_explicit(head, memory_order_acquire);
                if (t - cached_head >= n) cpu_relax();
            }
            uint8_t *s = slots + (size_t)(t % n) * slot;
            *(uint32_t *)s = (uint32_t)payload;
            memcpy(s + 8, src, payload);
            atomic_store_explicit(tail, ++t, memory_order_release);
        }
        _exit(0);
    }
    pin(cpu_a);
    uint32_t h = 0, cached_tail = 0;
    uint64_t t_first = 0, t_last = 0, sum = 0;
    for (size_t k = 0; k < msgs; k++) {
        while (h == cached_tail) {
            cached_tail = atomic_load_explicit(tail, memory_order_acquire);
            if (h == cached_tail) cpu_relax();
        }
        const uint8_t *s = slots + (size_t)(h % n) * slot;
        uint32_t len = *(const uint32_t *)s;
        sum += len + (len ? s[8] + s[8 + len - 1] : 0);
        atomic_store_explicit(head, ++h, memory_order_release);
        if (k == msgs / 10) t_first = now_ns();
    }
    t_last = now_ns();
    wait_child(pid);
    double secs = (double)(t_last - t_first) / 1e9;
    double rate = secs > 0 ? (double)(msgs - 1 - msgs / 10) / secs : 0;
    printf("{\"msgs_per_s\":%.0f,\"gb_per_s\":%.4f,\"msgs\":%zu,\"check\":%llu,\"cpu_ns\":%llu,\"cpu_msgs\":%zu}\n", rate,
           rate * (double)payload / 1e9, msgs, (unsigned long long)(sum & 0xffff),
           (unsigned long long)(cpu_ns(RUSAGE_SELF) + cpu_ns(RUSAGE_CHILDREN)), msgs);
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Wake-up latency of a parked consumer. Layout:
 *
 *   0    futex     u32  shared futex word (FUTEX_WAIT/FUTEX_WAKE without PRIVATE)
 *   64   parked    u32  consumer: round number it is about to park for
 *   128  stamp     u64  producer: CLOCK_MONOTONIC just before it bumps the futex
 *   192  done      u32  consumer: rounds finished
 *
 * Round i: the consumer stores parked = i (seq_cst), and calls FUTEX_WAIT(futex, i−1)
 * until the word changes. The producer waits for parked == i, sleeps 200 µs more so the
 * consumer is really asleep in the kernel, writes stamp, store(futex, i) (seq_cst) and
 * FUTEX_WAKE. The consumer, once running, records now − stamp. Both processes use the
 * system-wide CLOCK_MONOTONIC, so the difference is the wake → receive delay.
 * ------------------------------------------------------------------------------- */
static long futex(_Atomic uint32_t *addr, int op, uint32_t val) {
    return syscall(SYS_futex, (uint32_t *)addr, op, val, NULL, NULL, 0);
}

static int wakeup(size_t iters, int cpu_a, int cpu_b) {
    uint8_t *m = shared_map(4 * LINE);
    _Atomic uint32_t *word = (_Atomic uint32_t *)(m + 0);
    _Atomic uint32_t *parked = (_Atomic uint32_t *)(m + LINE);
    _Atomic uint64_t *stamp = (_Atomic uint64_t *)(m + 2 * LINE);
    _Atomic uint32_t *done = (_Atomic uint32_t *)(m + 3 * LINE);
    uint64_t *samples = (uint64_t *)shared_map(iters * sizeof(uint64_t));

    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) {
        pin(cpu_b);
        for (uint32_t i = 1; i <= iters; i++) {
            atomic_store(parked, i);
            while (atomic_load(word) != i) futex(word, FUTEX_WAIT, i - 1);
            uint64_t t = now_ns();
            samples[i - 1] = t - atomic_load_explicit(stamp, memory_order_acquire);
            atomic_store(done, i);
        }
        _exit(0);
    }
    pin(cpu_a);
    struct timespec nap = {0, 200000};
    for (uint32_t i = 1; i <= iters; i++) {
        while (atomic_load(parked) != i) sched_yield();
        nanosleep(&nap, NULL);
        atomic_store_explicit(stamp, now_ns(), memory_order_release);
        atomic_store(word, i);
        futex(word, FUTEX_WAKE, 1);
        while (atomic_load(done) != i) sched_yield();
    }
    wait_child(pid);
    print_latency(samples, iters, 0, cpu_ns(RUSAGE_SELF) + cpu_ns(RUSAGE_CHILDREN), iters);
    return 0;
}

/* ---------------------------------------------------------------------------------
 * memcpy: the bandwidth floor of moving the payload once: one process, no IPC, one
 * malloc'd source and destination of `payload` bytes, `iters` memcpys (one "message" =
 * one memcpy; buffers that fit in cache stay there, as in the ping-pong). The latency
 * fields are the time of one copy (measured per batch of 64 below 64 KiB, where the clock
 * costs more than the copy); the rate is copies per second over the whole loop.
 * ------------------------------------------------------------------------------- */
static int memcpy_bench(size_t payload, size_t iters, int cpu) {
    pin(cpu);
    size_t n = payload ? payload : 1;
    uint8_t *src = malloc(n), *dst = malloc(n);
    for (size_t k = 0; k < n; k++) src[k] = (uint8_t)k;
    memset(dst, 0, n);
    size_t batch = payload < 65536 ? 64 : 1;
    size_t rounds = iters / batch ? iters / batch : 1;
    uint64_t *samples = malloc(rounds * sizeof *samples);
    uint64_t timer = timer_cost();
    uint64_t c0 = cpu_ns(RUSAGE_SELF), t_start = now_ns();
    for (size_t r = 0; r < rounds; r++) {
        uint64_t t0 = now_ns();
        for (size_t b = 0; b < batch; b++) {
            src[0] = (uint8_t)(r + b);
            memcpy(dst, src, payload);
            __asm__ __volatile__("" : : "r"(dst) : "memory");
        }
        uint64_t dt = now_ns() - t0;
        samples[r] = (dt > timer ? dt - timer : 0) / batch;
    }
    uint64_t secs_ns = now_ns() - t_start, c1 = cpu_ns(RUSAGE_SELF);
    double rate = (double)(rounds * batch) / ((double)secs_ns / 1e9);
    qsort(samples, rounds, sizeof *samples, cmp_u64);
    printf("{\"p50_ns\":%llu,\"p99_ns\":%llu,\"p999_ns\":%llu,\"max_ns\":%llu,\"samples\":%zu,\"timer_ns\":%llu,"
           "\"msgs_per_s\":%.0f,\"gb_per_s\":%.4f,\"cpu_ns\":%llu,\"cpu_msgs\":%zu,\"check\":%u}\n",
           (unsigned long long)pct(samples, rounds, 0.5), (unsigned long long)pct(samples, rounds, 0.99),
           (unsigned long long)pct(samples, rounds, 0.999), (unsigned long long)samples[rounds - 1], rounds,
           (unsigned long long)timer, rate, rate * (double)payload / 1e9, (unsigned long long)(c1 - c0),
           rounds * batch, dst[n - 1]);
    return 0;
}

/* exec: runs a command (the C ring tool) and reports its CPU time from wait4, so a peer
 * written by others is measured without touching its source. */
static int exec_wrapped(char **argv) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) { execvp(argv[0], argv); perror("execvp"); _exit(127); }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0) { perror("wait4"); return 2; }
    uint64_t cpu = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
                   (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
    printf("{\"child_cpu_ns\":%llu}\n", (unsigned long long)cpu);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "exec") == 0) return exec_wrapped(argv + 2);
    if (argc >= 5 && strcmp(argv[1], "memcpy") == 0)
        return memcpy_bench(strtoull(argv[2], 0, 10), strtoull(argv[3], 0, 10), atoi(argv[4]));
    if (argc >= 7 && strcmp(argv[1], "pingpong") == 0)
        return pingpong(strtoull(argv[2], 0, 10), strtoull(argv[3], 0, 10), strtoull(argv[4], 0, 10),
                        atoi(argv[5]), atoi(argv[6]));
    if (argc >= 7 && strcmp(argv[1], "throughput") == 0)
        return throughput(strtoull(argv[2], 0, 10), strtoull(argv[3], 0, 10), strtoull(argv[4], 0, 10),
                          atoi(argv[5]), atoi(argv[6]));
    if (argc >= 5 && strcmp(argv[1], "wakeup") == 0)
        return wakeup(strtoull(argv[2], 0, 10), atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr,
            "usage: raw_atomics pingpong <payload> <iters> <warmup> <cpuA> <cpuB>\n"
            "       raw_atomics throughput <payload> <msgs> <capacity> <cpuA> <cpuB>\n"
            "       raw_atomics wakeup <iters> <cpuA> <cpuB>\n");
    return 1;
}
