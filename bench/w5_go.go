//go:build ignore

// W5 timer accuracy, Go: time.Sleep(1 ms) n times in a row, recording by
// how much each overshot.  Usage: w5_go [n].
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
)

// Nearest rank, the same integer rank as bench.h: ceil(pm*n/1000)-1.
func percentile(v []float64, pm int) float64 {
	k := (pm*len(v) + 999) / 1000
	if k < 1 {
		k = 1
	}
	return v[k-1]
}

func main() {
	n := 1000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	over := make([]float64, n)
	for i := range over {
		t := time.Now()
		time.Sleep(time.Millisecond)
		over[i] = float64(time.Since(t).Nanoseconds()-1000000) / 1e3
	}
	sort.Float64s(over)
	fmt.Printf("RESULT n=%d median_us=%.1f p99_us=%.1f max_us=%.1f\n",
		n, percentile(over, 500), percentile(over, 990), over[n-1])
}
