// Package gortbench holds the Go twins of gort's criterion benchmarks
// (benches/sched.rs and benches/chan.rs). Each benchmark here does the same
// work per op as the Rust benchmark of the same workload, so that
// scripts/bench-compare.sh can put the two ns/op figures side by side.
//
// Run: GOMAXPROCS=1 go test -run '^$' -bench . -count 5
package gortbench

import (
	"sync"
	"testing"
)

// sink keeps results alive so the compiler cannot drop the work.
var sink int

// batchSize is the number of goroutines spawned before waiting in
// BenchmarkSpawnJoinBatch1000.
const batchSize = 1000

// sievePrimes is how many primes BenchmarkSieve2000 computes per op, and
// sieveLimit is the sievePrimes-th prime (checked by TestSieve).
const (
	sievePrimes = 2000
	sieveLimit  = 17389
)

// spawn_join: spawn one goroutine that produces a value, wait for it.
// op = one goroutine spawned and joined.
func BenchmarkSpawnJoin(b *testing.B) {
	var wg sync.WaitGroup
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		go func() {
			sink = i
			wg.Done()
		}()
		wg.Wait()
	}
}

// spawn_join_batch1000: spawn 1000 goroutines, then wait for all of them.
// op = one goroutine (b.N counts goroutines; the last batch may be short).
// Each goroutine writes its own result slot, as a JoinHandle<T> carries its
// own result on the Rust side.
func BenchmarkSpawnJoinBatch1000(b *testing.B) {
	var wg sync.WaitGroup
	res := make([]int, batchSize)
	for n := 0; n < b.N; n += batchSize {
		k := min(batchSize, b.N-n)
		wg.Add(k)
		for j := 0; j < k; j++ {
			go func() {
				res[j] = n + j
				wg.Done()
			}()
		}
		wg.Wait()
	}
	sink = res[0]
}

// pingpong_unbuffered: two goroutines, two unbuffered channels.
// op = one round trip (ping then pong).
func BenchmarkPingPongUnbuffered(b *testing.B) {
	ping := make(chan int)
	pong := make(chan int)
	done := make(chan struct{})
	go func() {
		for v := range ping {
			pong <- v
		}
		close(done)
	}()
	b.ResetTimer()
	s := 0
	for i := 0; i < b.N; i++ {
		ping <- i
		s += <-pong
	}
	b.StopTimer()
	close(ping)
	<-done
	sink = s
}

// spsc_buffered: one producer sends b.N ints into a channel of capacity 1024
// and closes it; the consumer (the benchmark goroutine) receives until the
// channel is closed and drained. op = one message.
func BenchmarkSPSCBuffered(b *testing.B) {
	c := make(chan int, 1024)
	n := b.N
	b.ResetTimer()
	go func() {
		for i := 0; i < n; i++ {
			c <- i
		}
		close(c)
	}()
	s := 0
	for v := range c {
		s += v
	}
	b.StopTimer()
	sink = s
}

// The concurrent prime sieve of go.dev/doc/play/sieve.go, made to end so
// that no goroutine outlives its op: generate stops after the last number
// needed and closes its channel, and each filter closes its output once its
// input is closed and drained. The channel traffic for the primes asked for
// is the same as in the classic program.

// generate sends 2, 3, 4, ..., limit to ch, then closes it.
func generate(ch chan<- int, limit int) {
	for i := 2; i <= limit; i++ {
		ch <- i
	}
	close(ch)
}

// filter copies the values from in to out, removing those divisible by prime.
func filter(in <-chan int, out chan<- int, prime int) {
	for i := range in {
		if i%prime != 0 {
			out <- i
		}
	}
	close(out)
}

// sieve returns the n-th prime; limit must be at least that prime.
func sieve(n, limit int) int {
	ch := make(chan int)
	go generate(ch, limit)
	prime := 0
	for i := 0; i < n; i++ {
		prime = <-ch
		ch1 := make(chan int)
		go filter(ch, ch1, prime)
		ch = ch1
	}
	// Drain the last filter's output: when it is closed, every goroutine of
	// this sieve has finished its work.
	for range ch {
	}
	return prime
}

// sieve_2000: the concurrent prime sieve computing the first 2000 primes.
// op = the whole sieve (one generator and 2000 filter goroutines).
func BenchmarkSieve2000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if p := sieve(sievePrimes, sieveLimit); p != sieveLimit {
			b.Fatalf("sieve: prime #%d = %d, want %d", sievePrimes, p, sieveLimit)
		}
	}
}

// TestSieve checks that sieveLimit is the sievePrimes-th prime, and the sieve.
func TestSieve(t *testing.T) {
	count, last := 0, 0
	for n := 2; count < sievePrimes; n++ {
		isPrime := true
		for d := 2; d*d <= n; d++ {
			if n%d == 0 {
				isPrime = false
				break
			}
		}
		if isPrime {
			count++
			last = n
		}
	}
	if last != sieveLimit {
		t.Fatalf("prime #%d is %d, sieveLimit is %d", sievePrimes, last, sieveLimit)
	}
	if p := sieve(10, 29); p != 29 {
		t.Fatalf("sieve(10) = %d, want 29", p)
	}
	if p := sieve(sievePrimes, sieveLimit); p != sieveLimit {
		t.Fatalf("sieve(%d) = %d, want %d", sievePrimes, p, sieveLimit)
	}
}
