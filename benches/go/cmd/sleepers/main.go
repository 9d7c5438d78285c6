// Command sleepers is the Go twin of gort's examples/sleepers.rs: N goroutines
// each sleep D, and main waits for all of them with a WaitGroup. (The module
// says go 1.22, so this is Add/Done rather than Go 1.25's wg.Go, which the
// Rust side's WaitGroup::go mirrors.)
//
//	go run ./cmd/sleepers [N] [MS]   (default 100000 goroutines, 10 ms)
//
// scripts/bench-compare.sh --programs times both whole processes with
// hyperfine.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func arg(i int, def int) int {
	if len(os.Args) <= i {
		return def
	}
	v, err := strconv.Atoi(os.Args[i])
	if err != nil {
		fmt.Fprintf(os.Stderr, "sleepers: argument %d must be a number\n", i)
		os.Exit(2)
	}
	return v
}

func main() {
	n, ms := arg(1, 100000), arg(2, 10)
	d := time.Duration(ms) * time.Millisecond
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(d)
		}()
	}
	wg.Wait()
	fmt.Printf("sleepers: %d goroutines slept %dms each\n", n, ms)
	fmt.Printf("elapsed = %.1fms\n", float64(time.Since(start))/1e6)
}
