//go:build ignore

// W3 spawn, Go: start n trivial goroutines, then wait for all of them.  Go
// has no "queue them all first": each may start at once on another P.  Pass
// 2 repeats it with the runtime warm.  Usage: w3_go [n].
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var done int64

func pass(n int) int64 {
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			atomic.AddInt64(&done, 1)
			wg.Done()
		}()
	}
	wg.Wait()
	return time.Since(t0).Nanoseconds()
}

func peakKiB() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	rss0 := peakKiB()
	cold := pass(n)
	rss1 := peakKiB()
	warm := pass(n)
	fmt.Printf("RESULT n=%d ns_per_task=%.2f ns_per_task_warm=%.2f rss_mib=%.2f bytes_per_task=%.1f\n",
		n, float64(cold)/float64(n), float64(warm)/float64(n),
		float64(peakKiB())/1024, float64(rss1-rss0)*1024/float64(n))
}
