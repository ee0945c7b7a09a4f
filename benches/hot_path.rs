//! Placeholder group so `cargo bench --no-run` builds; the benchmark suite
//! itself is issue #4.
use criterion::{criterion_group, criterion_main, Criterion};
use std::ptr;
use zombie_frames::*;

fn hit_pair(c: &mut Criterion) {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = zf_pool_new(ptr::null());
        let code = zf_code_new(pool, 448);
        c.bench_function("acquire+release, zombie hit", |b| {
            b.iter(|| {
                let f = zf_frame_acquire(code, ptr::null_mut());
                zf_frame_release(code, std::hint::black_box(f));
            })
        });
        zf_code_free(code);
        zf_pool_free(pool);
    }
}

criterion_group!(benches, hit_pair);
criterion_main!(benches);
