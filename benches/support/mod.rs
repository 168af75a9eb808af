//! A small comparison harness: a subject and its baseline, measured alternately in the same run,
//! reported as a ratio of medians. Ratios, not absolute times, are what the README quotes.
#![allow(clippy::print_stdout, dead_code)]

pub(crate) mod portable;

use std::time::{Duration, Instant};

/// How many alternating samples of each side.
const SAMPLES: usize = 15;
/// Roughly how long one sample runs.
const SAMPLE_TIME: Duration = Duration::from_millis(60);

/// One measured comparison.
pub(crate) struct Comparison {
    pub(crate) name: String,
    pub(crate) baseline_ns: f64,
    pub(crate) subject_ns: f64,
}

impl Comparison {
    pub(crate) fn ratio(&self) -> f64 {
        self.subject_ns / self.baseline_ns
    }
}

fn per_op(mut run: impl FnMut(u64) -> Duration, iters: u64) -> f64 {
    run(iters).as_nanos() as f64 / iters as f64
}

fn calibrate(run: &mut impl FnMut(u64) -> Duration, sample_time: Duration) -> u64 {
    let mut iters = 1u64;
    loop {
        let t = run(iters);
        if t >= sample_time / 4 || iters >= 1 << 30 {
            let scale = sample_time.as_nanos() as f64 / t.as_nanos().max(1) as f64;
            return ((iters as f64) * scale).max(1.0) as u64;
        }
        iters *= 4;
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures `subject` against `baseline`. Each closure runs its operation `iters` times and
/// returns the time taken.
pub(crate) fn compare(
    name: &str,
    baseline: impl FnMut(u64) -> Duration,
    subject: impl FnMut(u64) -> Duration,
) -> Comparison {
    compare_with(name, SAMPLES, SAMPLE_TIME, baseline, subject)
}

/// [`compare`] with `samples` alternating samples of about `sample_time` each: for operations
/// whose timings vary more than in-process ones do (calls to emulators that share the machine).
pub(crate) fn compare_with(
    name: &str,
    samples: usize,
    sample_time: Duration,
    mut baseline: impl FnMut(u64) -> Duration,
    mut subject: impl FnMut(u64) -> Duration,
) -> Comparison {
    let base_iters = calibrate(&mut baseline, sample_time);
    let subj_iters = calibrate(&mut subject, sample_time);
    let mut b = Vec::with_capacity(samples);
    let mut s = Vec::with_capacity(samples);
    for _ in 0..samples {
        b.push(per_op(&mut baseline, base_iters));
        s.push(per_op(&mut subject, subj_iters));
    }
    let c = Comparison {
        name: name.to_owned(),
        baseline_ns: median(b),
        subject_ns: median(s),
    };
    println!(
        "| {} | {:.0} ns | {:.0} ns | {:.2}× |",
        c.name,
        c.subject_ns,
        c.baseline_ns,
        c.ratio()
    );
    c
}

/// Prints the table header.
pub(crate) fn header(title: &str, baseline: &str) {
    println!("\n{title}\n");
    println!("| operation | cloudport | {baseline} | ratio |");
    println!("|---|---|---|---|");
}

/// Times `iters` runs of an async operation on a current-thread runtime.
pub(crate) fn time_async<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, mut op: F) -> Duration
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    rt.block_on(async {
        let start = Instant::now();
        for i in 0..iters {
            op(i).await;
        }
        start.elapsed()
    })
}

/// Emulator processes a bench started, killed (by PID) and reaped when dropped.
pub(crate) struct Processes(pub(crate) Vec<std::process::Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

/// `N` distinct free ports (held open together so they differ).
pub(crate) fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("a bound address").port())
}

/// Whether every port accepts connections within `timeout`.
pub(crate) fn wait_ports(ports: &[u16], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ports
            .iter()
            .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
