// Package gortcompare holds the Go twins of the benches/compare workloads that
// benches/go has no twin for: the pipeline and the yield ping. The harness
// builds this package with `go test -c` and runs each benchmark in its own
// process with -test.benchtime=Nx, as it runs benches/go's twins.
//
// Run: GOMAXPROCS=1 go test -run '^$' -bench . -benchtime 100000x
package gortcompare

import (
	"runtime"
	"sync"
	"testing"
)

// sink keeps results alive so the compiler cannot drop the work.
var sink int

// pipelineAdd is what the add stage adds to every value.
const pipelineAdd = 1

// pipeline runs generate -> square -> add -> sink over unbuffered channels
// for the values 1..n (examples/pipeline.rs on the gort side) and returns the
// sink's sum.
func pipeline(n int) int {
	gen := make(chan int)
	sq := make(chan int)
	add := make(chan int)
	go func() {
		for i := 1; i <= n; i++ {
			gen <- i
		}
		close(gen)
	}()
	go func() {
		for v := range gen {
			sq <- v * v
		}
		close(sq)
	}()
	go func() {
		for v := range sq {
			add <- v + pipelineAdd
		}
		close(add)
	}()
	res := make(chan int)
	go func() {
		s := 0
		for v := range add {
			s += v
		}
		res <- s
	}()
	return <-res
}

// pipelineExpected is the sum of i*i + pipelineAdd for i in 1..n.
func pipelineExpected(n int) int {
	return n*(n+1)*(2*n+1)/6 + n*pipelineAdd
}

// pipeline4: four stages (generator, square, add, sink), three unbuffered
// channels. op = one value through the whole pipeline.
func BenchmarkPipeline4(b *testing.B) {
	n := b.N
	b.ResetTimer()
	s := pipeline(n)
	b.StopTimer()
	if s != pipelineExpected(n) {
		b.Fatalf("pipeline sum = %d, want %d", s, pipelineExpected(n))
	}
	sink = s
}

// share is goroutine k's share when total ops are split over parts
// goroutines (as in benches/go).
func share(total, parts, k int) int {
	n := total / parts
	if k < total%parts {
		n++
	}
	return n
}

// yield: two goroutines share b.N calls of runtime.Gosched; the benchmark
// goroutine starts them and waits. op = one Gosched.
func BenchmarkYield(b *testing.B) {
	var wg sync.WaitGroup
	n := b.N
	b.ResetTimer()
	wg.Add(2)
	for k := 0; k < 2; k++ {
		go func() {
			for range share(n, 2, k) {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
}

func TestPipeline(t *testing.T) {
	for _, n := range []int{1, 2, 10, 1000} {
		if s := pipeline(n); s != pipelineExpected(n) {
			t.Fatalf("pipeline(%d) = %d, want %d", n, s, pipelineExpected(n))
		}
	}
}
