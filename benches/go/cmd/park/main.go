// Command park is the Go twin of gort's examples/park.rs: N goroutines (default
// 1,000,000), each parked receiving on its own channel; once all are parked it
// prints how long spawning them took and the resident memory each costs
// (/proc/self/statm), then releases and joins them all.
//
//	go run ./cmd/park [N]
//
// scripts/bench-compare.sh --programs park runs both.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssBytes is the resident memory of this process (Linux).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "park: the argument must be a number of goroutines")
			os.Exit(2)
		}
		n = v
	}
	before := rssBytes()
	start := time.Now()
	var parked, done sync.WaitGroup
	chans := make([]chan uint8, n)
	for i := range chans {
		c := make(chan uint8)
		chans[i] = c
		parked.Add(1)
		done.Add(1)
		go func() {
			parked.Done()
			<-c
			done.Done()
		}()
	}
	parked.Wait()
	spawn := time.Since(start)
	after := rssBytes()
	perG := uint64(0)
	if after > before && n > 0 {
		perG = (after - before) / uint64(n)
	}
	for _, c := range chans {
		c <- 1
	}
	done.Wait()
	fmt.Printf("park: %d goroutines parked\n", n)
	// Three decimals (microseconds): at 1,000 goroutines the spawn takes well under a
	// millisecond, and benches/compare plots it per goroutine.
	fmt.Printf("spawn: %.3f ms\n", float64(spawn.Nanoseconds())/1e6)
	fmt.Printf("rss per goroutine: %d bytes\n", perG)
	fmt.Printf("total: %.1f ms\n", float64(time.Since(start).Microseconds())/1e3)
}
