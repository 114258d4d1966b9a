//go:build ignore

// W7 timeout churn, Go: 10,000 other timers armed 10-20 s away, then n
// receives from a ready channel, each under a fresh 10 s time.Timer that is
// stopped when the receive completes (see w7_async.c).  Usage: w7_go [n].
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

func cpuNs() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	var x uint32 = 42
	fired := 0
	others := make([]*time.Timer, 10000)
	for i := range others {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		others[i] = time.NewTimer(10*time.Second + time.Duration(x%1001)*10*time.Millisecond)
	}
	ready := make(chan struct{})
	close(ready)
	c0 := cpuNs()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		deadline := time.NewTimer(10 * time.Second)
		select {
		case <-ready:
		case <-deadline.C:
			fired++
		}
		deadline.Stop()
	}
	el := time.Since(t0)
	c1 := cpuNs()
	for _, t := range others {
		t.Stop()
	}
	fmt.Printf("RESULT n=%d ns_per_await=%.2f awaits_per_s=%.0f cpu_ms=%.1f fired=%d\n",
		n, float64(el.Nanoseconds())/float64(n), float64(n)*1e9/float64(el.Nanoseconds()),
		float64(c1-c0)/1e6, fired)
	if fired != 0 {
		os.Exit(1)
	}
}
