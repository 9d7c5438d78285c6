// Package gortbench holds the Go twins of gort's criterion benchmarks
// (benches/sched.rs and benches/chan.rs here, benches/sync.rs in
// sync_test.go). Each benchmark here does the same work per op as the Rust
// benchmark of the same workload, so that scripts/bench-compare.sh can put
// the two ns/op figures side by side.
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

// bufCap is the capacity of the buffered channels of the Buffered1024 and
// Select benchmarks.
const bufCap = 1024

// share is goroutine k's share when total ops are split over parts
// goroutines: total/parts, plus one for the first total%parts goroutines.
func share(total, parts, k int) int {
	n := total / parts
	if k < total%parts {
		n++
	}
	return n
}

// benchNxM: senders goroutines send b.N messages in all (split by share) on
// one channel of capacity capacity, and receivers goroutines receive them
// (split the same way); the benchmark goroutine starts the senders, then the
// receivers, and waits for all of them. op = one message.
func benchNxM(b *testing.B, capacity, senders, receivers int) {
	c := make(chan int, capacity)
	sums := make([]int, receivers)
	var wg sync.WaitGroup
	n := b.N
	b.ResetTimer()
	wg.Add(senders + receivers)
	for k := 0; k < senders; k++ {
		go func() {
			for i := range share(n, senders, k) {
				c <- i
			}
			wg.Done()
		}()
	}
	for k := 0; k < receivers; k++ {
		go func() {
			s := 0
			for range share(n, receivers, k) {
				s += <-c
			}
			sums[k] = s
			wg.Done()
		}()
	}
	wg.Wait()
	b.StopTimer()
	for _, s := range sums {
		sink += s
	}
}

// unbuffered_1x1: one sender, one receiver, an unbuffered channel.
func BenchmarkUnbuffered1x1(b *testing.B) { benchNxM(b, 0, 1, 1) }

// unbuffered_4x4: four senders, four receivers, one unbuffered channel.
func BenchmarkUnbuffered4x4(b *testing.B) { benchNxM(b, 0, 4, 4) }

// buffered1024_1x1: one sender, one receiver, a channel of capacity 1024.
func BenchmarkBuffered1024_1x1(b *testing.B) { benchNxM(b, bufCap, 1, 1) }

// buffered1024_4x4: four senders, four receivers, one channel of capacity
// 1024.
func BenchmarkBuffered1024_4x4(b *testing.B) { benchNxM(b, bufCap, 4, 4) }

// startProducers starts one producer goroutine per channel, producer k
// sending its share of n ints on cs[k]; wg counts them.
func startProducers(n int, cs []chan int, wg *sync.WaitGroup) {
	wg.Add(len(cs))
	for k, c := range cs {
		go func() {
			for i := range share(n, len(cs), k) {
				c <- i
			}
			wg.Done()
		}()
	}
}

// select2: the benchmark goroutine loops on a select over 2 channels of
// capacity 1024, each fed by its own producer goroutine. op = one message
// received through the select.
func BenchmarkSelect2(b *testing.B) {
	cs := []chan int{make(chan int, bufCap), make(chan int, bufCap)}
	c0, c1 := cs[0], cs[1]
	var wg sync.WaitGroup
	s := 0
	b.ResetTimer()
	startProducers(b.N, cs, &wg)
	for i := 0; i < b.N; i++ {
		select {
		case v := <-c0:
			s += v
		case v := <-c1:
			s += v
		}
	}
	wg.Wait()
	b.StopTimer()
	sink = s
}

// select4: as select2, over 4 channels and 4 producers.
func BenchmarkSelect4(b *testing.B) {
	cs := []chan int{make(chan int, bufCap), make(chan int, bufCap),
		make(chan int, bufCap), make(chan int, bufCap)}
	c0, c1, c2, c3 := cs[0], cs[1], cs[2], cs[3]
	var wg sync.WaitGroup
	s := 0
	b.ResetTimer()
	startProducers(b.N, cs, &wg)
	for i := 0; i < b.N; i++ {
		select {
		case v := <-c0:
			s += v
		case v := <-c1:
			s += v
		case v := <-c2:
			s += v
		case v := <-c3:
			s += v
		}
	}
	wg.Wait()
	b.StopTimer()
	sink = s
}

// fanin4: Go's fan-in (merge) pattern. 4 producers, each with its own
// unbuffered channel that it closes when done; one forwarding goroutine per
// producer copies into a shared unbuffered output channel; a closer goroutine
// closes the output once every forwarder has returned; the benchmark
// goroutine receives until the output is closed and drained.
// op = one message at the consumer.
func BenchmarkFanIn4(b *testing.B) {
	const producers = 4
	out := make(chan int)
	var wg sync.WaitGroup
	n := b.N
	s := 0
	b.ResetTimer()
	wg.Add(producers)
	for k := 0; k < producers; k++ {
		c := make(chan int)
		go func() {
			for i := range share(n, producers, k) {
				c <- i
			}
			close(c)
		}()
		go func() {
			for v := range c {
				out <- v
			}
			wg.Done()
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	for v := range out {
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
