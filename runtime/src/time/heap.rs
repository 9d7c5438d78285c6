//! A 4-ary min-heap keyed by `when` (Go's timer heap in time.go: `siftUp4`/`siftDown4`).
//! Four children per node keep the heap shallow, so a push or pop touches fewer cache lines
//! than a binary heap of the same size.
//!
//! # Invariants
//! - `items[i].when() >= items[(i - 1) / 4].when()` for every `i > 0`.
//! - Ties are in no particular order (as in Go).

/// Something with a deadline.
pub(crate) trait When {
    /// The deadline (`nanotime`).
    fn when(&self) -> i64;
}

/// A 4-ary min-heap. See the module docs.
pub(crate) struct Heap4<T> {
    items: Vec<T>,
}

impl<T: When> Heap4<T> {
    pub(crate) const fn new() -> Heap4<T> {
        Heap4 { items: Vec::new() }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The earliest item.
    pub(crate) fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    pub(crate) fn push(&mut self, x: T) {
        self.items.push(x);
        self.sift_up(self.items.len() - 1);
    }

    /// Removes and returns the earliest item.
    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        let x = self.items.swap_remove(0);
        if !self.items.is_empty() {
            self.sift_down(0);
        }
        Some(x)
    }

    /// Keeps only the items `keep` accepts, then restores the heap order. Returns the rest
    /// (so the caller can drop them outside its lock).
    pub(crate) fn retain_split(&mut self, mut keep: impl FnMut(&T) -> bool) -> Vec<T> {
        let mut removed = Vec::new();
        let mut i = 0;
        while i < self.items.len() {
            if keep(&self.items[i]) {
                i += 1;
            } else {
                removed.push(self.items.swap_remove(i));
            }
        }
        // Floyd's heapify: sift down every internal node, last first.
        for i in (0..self.items.len().div_ceil(4)).rev() {
            self.sift_down(i);
        }
        removed
    }

    fn sift_up(&mut self, mut i: usize) {
        let when = self.items[i].when();
        while i > 0 {
            let parent = (i - 1) / 4;
            if when >= self.items[parent].when() {
                break;
            }
            self.items.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.items.len();
        let when = self.items[i].when();
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let last = (first + 4).min(n);
            let mut c = first;
            for k in first + 1..last {
                if self.items[k].when() < self.items[c].when() {
                    c = k;
                }
            }
            if when <= self.items[c].when() {
                break;
            }
            self.items.swap(i, c);
            i = c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl When for i64 {
        fn when(&self) -> i64 {
            *self
        }
    }

    fn drain(h: &mut Heap4<i64>) -> Vec<i64> {
        std::iter::from_fn(|| h.pop()).collect()
    }

    #[test]
    fn pops_in_order() {
        let mut h = Heap4::new();
        let mut x = 12345u64;
        let mut want = Vec::new();
        for _ in 0..1000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (x >> 40) as i64 % 500;
            h.push(v);
            want.push(v);
        }
        want.sort();
        assert_eq!(h.len(), 1000);
        assert_eq!(drain(&mut h), want);
    }

    #[test]
    fn retain_keeps_heap_order() {
        let mut h = Heap4::new();
        for v in (0..300).rev() {
            h.push(v);
        }
        let removed = h.retain_split(|v| v % 3 != 0);
        assert_eq!(removed.len(), 100);
        let want: Vec<i64> = (0..300).filter(|v| v % 3 != 0).collect();
        assert_eq!(drain(&mut h), want);
    }
}
