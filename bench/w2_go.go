//go:build ignore

// W2 yield, Go: two goroutines on one P (GOMAXPROCS=1, so they really take
// turns) call runtime.Gosched until n switches have happened.
// Usage: w2_go [n].
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

func main() {
	n := 10000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	runtime.GOMAXPROCS(1)
	half := n / 2
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < half; i++ {
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	ns := float64(time.Since(t0).Nanoseconds())
	fmt.Printf("RESULT n=%d elapsed_s=%.6f ns_per_switch=%.3f\n", half*2, ns/1e9, ns/float64(half*2))
}
