//! A TTL cache, after the seed notes' "Day 4" challenge 2 (チャレンジ2: TTLキャッシュ, the
//! production-grade version): a map behind an `RwMutex`, a cleanup goroutine that wakes every
//! interval and deletes expired entries, least-recently-used eviction when the cache is full,
//! and hit/miss/eviction/expiration statistics. `close` stops the cleanup goroutine and waits
//! for it (Go: `close(stopCh); wg.Wait()`).
//!
//! Differences from the Go version, each for a reason:
//! - `get` updates the access time through an atomic under the *read* lock instead of taking
//!   the write lock a second time, so concurrent readers never serialise on a hit.
//! - Recency is a logical clock (a counter), not `time.Now()`, so two accesses in the same
//!   clock tick still have an order and eviction is deterministic.
//! - Statistics are atomics, not a second `RWMutex`.
//! - A full cache evicts only when a *new* key is inserted (Go's evicts on every `Set`).
//!
//! The program checks its own results and exits with status 1 if one is wrong. The checked
//! lines do not depend on timing: the expiry is awaited, not assumed.

use gort::sync::{RwMutex, WaitGroup};
use gort::time::{after, sleep};
use gort::Chan;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One cached value.
struct Entry<V> {
    value: V,
    expires_at: Instant,
    /// Logical time of the last access (see `TtlCache::clock`).
    accessed: AtomicU64,
}

/// Counters, readable while the cache is in use.
#[derive(Default)]
struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    expirations: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, PartialEq, Eq)]
struct StatsSnapshot {
    hits: u64,
    misses: u64,
    evictions: u64,
    expirations: u64,
}

/// Go: `ProductionTTLCache`.
struct TtlCache<V> {
    items: RwMutex<HashMap<String, Entry<V>>>,
    max_size: usize,
    default_ttl: Duration,
    stats: Stats,
    /// The logical clock for recency; ticks on every access.
    clock: AtomicU64,
    /// Closed by `close` to stop the cleanup goroutine (Go: `stopCh chan struct{}`).
    stop: Chan<()>,
    wg: Arc<WaitGroup>,
}

impl<V: Clone + Send + Sync + 'static> TtlCache<V> {
    /// Go: `NewProductionTTLCache(maxSize, defaultTTL, cleanupInterval)`; starts the cleanup
    /// goroutine.
    fn new(max_size: usize, default_ttl: Duration, cleanup_interval: Duration) -> Arc<Self> {
        let cache = Arc::new(TtlCache {
            items: RwMutex::new(HashMap::new()),
            max_size,
            default_ttl,
            stats: Stats::default(),
            clock: AtomicU64::new(0),
            stop: gort::chan(0),
            wg: Arc::new(WaitGroup::new()),
        });
        let c = cache.clone();
        cache.wg.go(move || c.cleanup_loop(cleanup_interval));
        cache
    }

    fn tick(&self) -> u64 {
        // ORDERING: Relaxed: a unique, increasing stamp is all that is needed.
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// Go: `Get`. A hit refreshes the entry's recency.
    fn get(&self, key: &str) -> Option<V> {
        let items = self.items.read();
        match items.get(key) {
            Some(e) if Instant::now() < e.expires_at => {
                // ORDERING: Relaxed, here and for every counter below: each value is read on
                // its own (an LRU stamp, a statistic); none publishes other memory.
                e.accessed.store(self.tick(), Ordering::Relaxed);
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                Some(e.value.clone())
            }
            Some(_) => {
                drop(items);
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                self.delete(key); // expired: do not wait for the cleanup goroutine
                None
            }
            None => {
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Go: `Set`, with the default TTL.
    fn set(&self, key: &str, value: V) {
        self.set_with_ttl(key, value, self.default_ttl);
    }

    /// Go: `SetWithTTL`. Inserting a new key into a full cache evicts the least recently
    /// used entry first.
    fn set_with_ttl(&self, key: &str, value: V, ttl: Duration) {
        let mut items = self.items.write();
        if !items.contains_key(key) && items.len() >= self.max_size {
            self.evict_lru(&mut items);
        }
        let entry = Entry {
            value,
            expires_at: Instant::now() + ttl,
            accessed: AtomicU64::new(self.tick()),
        };
        items.insert(key.to_string(), entry);
    }

    /// Go: `Delete`.
    fn delete(&self, key: &str) {
        self.items.write().remove(key);
    }

    /// Go: `Size`.
    fn len(&self) -> usize {
        self.items.read().len()
    }

    /// Go: `evictLRU`; the caller holds the write lock.
    fn evict_lru(&self, items: &mut HashMap<String, Entry<V>>) {
        let oldest = items
            .iter()
            .min_by_key(|(_, e)| e.accessed.load(Ordering::Relaxed))
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            items.remove(&k);
            self.stats.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Go: `cleanupLoop`: a ticker-like loop that ends when `stop` is closed.
    fn cleanup_loop(&self, interval: Duration) {
        loop {
            gort::select! {
                recv(after(interval)) -> _ => self.cleanup(),
                recv(self.stop) -> _ => return,
            }
        }
    }

    /// Go: `cleanup`: deletes every expired entry.
    fn cleanup(&self) {
        let now = Instant::now();
        let mut items = self.items.write();
        let before = items.len();
        items.retain(|_, e| now < e.expires_at);
        let expired = (before - items.len()) as u64;
        self.stats.expirations.fetch_add(expired, Ordering::Relaxed);
    }

    /// Go: `GetStats`.
    fn stats(&self) -> StatsSnapshot {
        let s = &self.stats;
        StatsSnapshot {
            hits: s.hits.load(Ordering::Relaxed),
            misses: s.misses.load(Ordering::Relaxed),
            evictions: s.evictions.load(Ordering::Relaxed),
            expirations: s.expirations.load(Ordering::Relaxed),
        }
    }

    /// Go: `Close`: stops the cleanup goroutine and waits until it has returned.
    fn close(&self) {
        self.stop.close();
        self.wg.wait();
    }
}

fn main() {
    let ok = gort::run(|| {
        let mut ok = true;
        let mut check = |what: &str, good: bool| {
            if !good {
                eprintln!("ttl_cache: self-check failed: {what}");
                ok = false;
            }
        };

        // Go: NewProductionTTLCache(3, 5*time.Second, cleanupInterval)
        let cache = TtlCache::<String>::new(3, Duration::from_secs(5), Duration::from_millis(5));
        cache.set("user:1", "taro".to_string());
        cache.set_with_ttl(
            "session:abc",
            "active".to_string(),
            Duration::from_millis(20),
        );

        let user = cache.get("user:1");
        println!("get user:1 -> {user:?}");
        check("user:1 is cached", user.as_deref() == Some("taro"));
        check("unknown key misses", cache.get("user:2").is_none());

        // Concurrent readers share the read lock.
        let readers = Arc::new(WaitGroup::new());
        for _ in 0..8 {
            let cache = cache.clone();
            readers.go(move || {
                for _ in 0..100 {
                    assert_eq!(cache.get("user:1").as_deref(), Some("taro"));
                }
            });
        }
        readers.wait();
        println!("8 readers x 100 gets of user:1: all hits");

        // The session expires; the cleanup goroutine removes it.
        while cache.stats().expirations == 0 {
            sleep(Duration::from_millis(5));
        }
        println!("session:abc expired and the cleanup goroutine removed it");
        check(
            "the expired session misses",
            cache.get("session:abc").is_none(),
        );

        // Fill to the limit, touch user:1, then one more insert evicts the LRU entry.
        cache.set("page:1", "p1".to_string());
        cache.set("page:2", "p2".to_string());
        check("3 entries", cache.len() == 3);
        cache.get("user:1"); // now page:1 is the least recently used
        cache.set("page:3", "p3".to_string());
        let evicted = cache.get("page:1").is_none();
        let kept = cache.get("page:2").is_some() && cache.get("user:1").is_some();
        println!("inserting page:3 into a full cache evicted page:1: {evicted}");
        check(
            "page:1 evicted, others kept",
            evicted && kept && cache.len() == 3,
        );

        let started = Instant::now();
        cache.close();
        println!("cleanup goroutine stopped");

        let s = cache.stats();
        println!(
            "stats: hits {}, misses {}, evictions {}, expirations {}",
            s.hits, s.misses, s.evictions, s.expirations
        );
        let want = StatsSnapshot {
            hits: 1 + 800 + 1 + 2,
            misses: 1 + 1 + 1,
            evictions: 1,
            expirations: 1,
        };
        check("stats", s == want);
        println!("(closed in {:.1}ms)", started.elapsed().as_secs_f64() * 1e3);
        ok
    });
    if !ok {
        std::process::exit(1);
    }
}
