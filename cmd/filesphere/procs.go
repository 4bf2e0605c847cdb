package main

import (
	"os"
	"runtime"
)

// procsPerCPU is how many Go processors (Ps) the server runs per CPU the
// runtime would give it. A request that comes back from a blocking system
// call (fsync, pread, the Raft log's fdatasync) needs a P; with one P per
// CPU it queues behind goroutines hashing and encoding large bodies until
// the scheduler preempts them (up to 10 ms each), which made STAT and GET
// of the mixed load wait on CPU, not on the disk (execution trace: 45 s
// runnable against 2.1 s running per 3 s window). With two, the kernel
// time-slices the threads instead: the same suite on 2 cores measured
// mixed 1 MiB +37-50 %, 64 MiB PUT +15-40 %, 4 KiB PUT +20 %, 4 KiB GET
// +12-30 %, 64 MiB GET unchanged (four Ps per CPU made 64 MiB GETs slower).
const procsPerCPU = 2

// serverProcs returns the GOMAXPROCS the server sets, or 0 to leave the
// runtime's choice: an explicit GOMAXPROCS in the environment wins.
func serverProcs(env string, runtimeDefault int) int {
	if env != "" {
		return 0
	}
	return procsPerCPU * runtimeDefault
}

// setServerProcs applies serverProcs and returns the GOMAXPROCS in effect.
func setServerProcs() int {
	if n := serverProcs(os.Getenv("GOMAXPROCS"), runtime.GOMAXPROCS(0)); n > 0 {
		runtime.GOMAXPROCS(n)
	}
	return runtime.GOMAXPROCS(0)
}
