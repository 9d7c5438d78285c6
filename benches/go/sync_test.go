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

// mutex_uncontended: one goroutine. op = lock, increment the guarded
// counter, unlock.
func BenchmarkMutexUncontended(b *testing.B) {
	var mu sync.Mutex
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mu.Lock()
		n++
		mu.Unlock()
	}
	b.StopTimer()
	if n != b.N {
		b.Fatalf("counter = %d, want %d", n, b.N)
	}
}

// mutex_contended8: 8 goroutines share b.N lock/increment/unlock ops on one
// Mutex; the benchmark goroutine starts them and waits for them.
// op = one lock+unlock.
func BenchmarkMutexContended8(b *testing.B) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	count := 0
	n := b.N
	b.ResetTimer()
	wg.Add(workers)
	for k := 0; k < workers; k++ {
		go func() {
			for range share(n, workers, k) {
				mu.Lock()
				count++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	b.StopTimer()
	if count != n {
		b.Fatalf("counter = %d, want %d", count, n)
	}
}

// rwmutex_read_mostly: 8 goroutines share b.N ops on one RWMutex; every
// 100th op of a goroutine (its ops j = 0, 1, 2, ... with j%100 == 99) is a
// write lock (increment, then unlock), the others a read lock (read the
// value, then unlock). The benchmark goroutine starts them and waits for
// them. op = one lock+unlock.
func BenchmarkRWMutexReadMostly(b *testing.B) {
	var rw sync.RWMutex
	var wg sync.WaitGroup
	value := 0
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
					rw.Lock()
					value++
					rw.Unlock()
				} else {
					rw.RLock()
					s += value
					rw.RUnlock()
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
	if value != writes {
		b.Fatalf("value = %d, want %d", value, writes)
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
