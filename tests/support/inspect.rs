//! The `inspect` example as a child process: its `cloudport-event: {…}` lines collected as
//! CloudEvents, its other JSON lines (metrics, logs) as they come.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A running `inspect`.
pub struct Inspect {
    pub child: tokio::process::Child,
    /// The CloudEvents its handlers received, in order.
    pub events: Arc<Mutex<Vec<Value>>>,
    /// Every other stdout line that is JSON (metrics, structured logs).
    pub json_lines: Arc<Mutex<Vec<Value>>>,
}

impl Inspect {
    /// Starts `inspect` with exactly these environment variables.
    pub fn spawn<'a>(vars: impl IntoIterator<Item = (&'a str, String)>) -> Self {
        let mut command = tokio::process::Command::new(super::binaries::example("inspect"));
        command.env_clear();
        for (k, v) in vars {
            command.env(k, v);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn inspect");
        let events = Arc::new(Mutex::new(Vec::new()));
        let json_lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let (sink, other) = (events.clone(), json_lines.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(json) = line.strip_prefix("cloudport-event: ") {
                    sink.lock()
                        .unwrap()
                        .push(serde_json::from_str(json).expect("event JSON"));
                } else if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    other.lock().unwrap().push(value);
                }
            }
        });
        Self {
            child,
            events,
            json_lines,
        }
    }

    /// Waits until `port` on 127.0.0.1 accepts connections.
    pub async fn wait_port(&self, port: u16) {
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("inspect did not listen on {port}");
    }

    /// The events received so far, taken.
    pub fn take_events(&self) -> Vec<Value> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }

    /// How many received events match.
    pub fn count(&self, pred: impl Fn(&Value) -> bool) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| pred(e))
            .count()
    }
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
