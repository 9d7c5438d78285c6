package gortbench

// The Go twins of benches/sync.rs.

import (
	"sync"
	"testing"
)

// workers is the number of goroutines in BenchmarkMutexContended8 and
// BenchmarkRWMutexReadMostly; in the latter, every writeEvery-th op of a
// goroutine is a write lock.
const (
	workers    = 8
	writeEvery = 100
)

// guardedCounter is the Go shape of gort's Mutex<u64>: the counter lives in
// the struct beside the mutex that guards it (how sync.Mutex is meant to be
// used), so each increment is a read-modify-write of memory next to the lock
// word, as in the Rust benchmark. (A bare local counter would be kept in a
// register: the compiler merges it with the loop counter.)
type guardedCounter struct {
	mu sync.Mutex
	n  int
}

// mutex_uncontended: one goroutine. op = lock, increment the guarded
// counter, unlock.
func BenchmarkMutexUncontended(b *testing.B) {
	var c guardedCounter
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	b.StopTimer()
	if c.n != b.N {
		b.Fatalf("counter = %d, want %d", c.n, b.N)
	}
}

// mutex_contended8: 8 goroutines share b.N lock/increment/unlock ops on one
// Mutex; the benchmark goroutine starts them and waits for them.
// op = one lock+unlock.
func BenchmarkMutexContended8(b *testing.B) {
	c := new(guardedCounter)
	var wg sync.WaitGroup
	n := b.N
	b.ResetTimer()
	wg.Add(workers)
	for k := 0; k < workers; k++ {
		go func() {
			for range share(n, workers, k) {
				c.mu.Lock()
				c.n++
				c.mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	b.StopTimer()
	if c.n != n {
		b.Fatalf("counter = %d, want %d", c.n, n)
	}
}

// guardedValue is the Go shape of gort's RwMutex<u64> (see guardedCounter).
type guardedValue struct {
	rw    sync.RWMutex
	value int
}

// rwmutex_read_mostly: 8 goroutines share b.N ops on one RWMutex; every
// 100th op of a goroutine (its ops j = 0, 1, 2, ... with j%100 == 99) is a
// write lock (increment, then unlock), the others a read lock (read the
// value, then unlock). The benchmark goroutine starts them and waits for
// them. op = one lock+unlock.
func BenchmarkRWMutexReadMostly(b *testing.B) {
	g := new(guardedValue)
	var wg sync.WaitGroup
	sums := make([]int, workers)
	n := b.N
	b.ResetTimer()
	wg.Add(workers)
	for k := 0; k < workers; k++ {
		go func() {
			s := 0
			m := share(n, workers, k)
			for j := 0; j < m; j++ {
				if j%writeEvery == writeEvery-1 {
					g.rw.Lock()
					g.value++
					g.rw.Unlock()
				} else {
					g.rw.RLock()
					s += g.value
					g.rw.RUnlock()
				}
			}
			sums[k] = s
			wg.Done()
		}()
	}
	wg.Wait()
	b.StopTimer()
	writes := 0
	for k := 0; k < workers; k++ {
		writes += share(n, workers, k) / writeEvery
		sink += sums[k]
	}
	if g.value != writes {
		b.Fatalf("value = %d, want %d", g.value, writes)
	}
}

// waitgroup: one goroutine. op = wg.Add(1) then wg.Done() on one WaitGroup;
// one wg.Wait() (the counter is then 0, so it returns at once) ends the
// timed loop.
func BenchmarkWaitGroupAddDone(b *testing.B) {
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		wg.Done()
	}
	wg.Wait()
}

// once: one goroutine; the Once has run before the timed loop.
// op = one once.Do (the fast path: its function does not run).
func BenchmarkOnce(b *testing.B) {
	var once sync.Once
	runs := 0
	f := func() { runs++ }
	once.Do(f)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		once.Do(f)
	}
	b.StopTimer()
	if runs != 1 {
		b.Fatalf("the Once ran %d times", runs)
	}
}

// pool: one goroutine; a pool of pointers to 64-byte buffers, primed with
// one Get/Put before the timed loop. op = Get, then Put the value back.
func BenchmarkPool(b *testing.B) {
	p := &sync.Pool{New: func() any { return new([64]byte) }}
	p.Put(p.Get())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := p.Get()
		p.Put(v)
	}
}
