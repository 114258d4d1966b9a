//go:build ignore

// W4 sleepers, Go: n goroutines each sleep a pseudo-random 0..1000 ms
// (bench.h's xorshift32 sequence).  Usage: w4_go [n].
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func usage() (cpuNs int64, peakKiB int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano(), ru.Maxrss
}

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	c0, rss0 := usage()
	t0 := time.Now()
	var wg sync.WaitGroup
	var x uint32 = 42
	var sum uint64
	wg.Add(n)
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		ms := x % 1001
		sum += uint64(ms)
		go func(d time.Duration) {
			time.Sleep(d)
			wg.Done()
		}(time.Duration(ms) * time.Millisecond)
	}
	spawned := time.Since(t0)
	wg.Wait()
	total := time.Since(t0)
	c1, rss1 := usage()
	fmt.Printf("RESULT n=%d created=%d total_ms=%.1f spawn_ms=%.1f cpu_ms=%.1f rss_mib=%.2f bytes_per_task=%.1f sum_ms=%d\n",
		n, n, float64(total.Nanoseconds())/1e6, float64(spawned.Nanoseconds())/1e6,
		float64(c1-c0)/1e6, float64(rss1)/1024, float64(rss1-rss0)*1024/float64(n), sum)
}
