//go:build ignore

// W1 count, Go: three goroutines print One, sleep, print Two.
// Usage: w1_go [seconds].  (Built only when go is installed.)
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	seconds := 1.0
	if len(os.Args) > 1 {
		seconds, _ = strconv.ParseFloat(os.Args[1], 64)
	}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Println("One")
			time.Sleep(time.Duration(seconds * float64(time.Second)))
			fmt.Println("Two")
		}()
	}
	wg.Wait()
}
