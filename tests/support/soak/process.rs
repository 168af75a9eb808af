//! Child processes of the soak: the function (this test binary, re-executed) and the emulators
//! the soak starts, restarts and stops itself — each by its PID.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running child process whose output goes to a log file.
#[derive(Debug)]
pub struct Process {
    pub name: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: tokio::process::Child,
}

impl Process {
    /// Starts `program` with exactly `env` in its environment (plus `PATH`, which scripts need to
    /// find their interpreter), stdout and stderr appended to `log`.
    pub fn spawn(
        name: &str,
        program: impl Into<PathBuf>,
        args: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> Self {
        let program = program.into();
        let child = start(&program, args, env, log);
        Self {
            name: name.to_owned(),
            program,
            args: args.to_vec(),
            env: env.to_vec(),
            log: log.to_owned(),
            child,
        }
    }

    /// The function: this test binary running only `soak_function_process` (tests/soak.rs),
    /// which runs the soak app on the host `env` describes.
    pub fn function(env: &[(String, String)], log: &Path) -> Self {
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
        let args = ["soak_function_process", "--exact", "--nocapture"].map(str::to_owned);
        Self::spawn("function", exe, &args, env, log)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// `SIGKILL`, then waits for the process to be gone.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// `SIGTERM` (a graceful stop), `SIGKILL` if it is still there after `grace`.
    pub async fn terminate(&mut self, grace: Duration) {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
            if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
                return;
            }
        }
        self.kill().await;
    }

    /// Starts the same command again (after [`kill`](Self::kill) or
    /// [`terminate`](Self::terminate)); returns the new PID.
    pub fn restart(&mut self) -> u32 {
        self.child = start(&self.program, &self.args, &self.env, &self.log);
        self.pid()
    }

    /// Waits for it to end by itself.
    pub async fn wait(&mut self) -> ExitStatus {
        self.child
            .wait()
            .await
            .unwrap_or_else(|e| panic!("wait for {}: {e}", self.name))
    }

    /// How it ended, if it did.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

fn start(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    log: &Path,
) -> tokio::process::Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap_or_else(|e| panic!("log {}: {e}", log.display()));
    let err = out
        .try_clone()
        .unwrap_or_else(|e| panic!("log {}: {e}", log.display()));
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(std::env::var("PATH").map(|p| ("PATH".to_owned(), p)))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .kill_on_drop(true);
    command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()))
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("free port: {e}"))
}

/// Waits until 127.0.0.1:`port` accepts connections; false after `within`.
pub async fn wait_port(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// The last `lines` lines of a log file, for a failure message.
pub fn tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A program named by `var` (scripts/emulators.sh exports it), else `fallback()`.
pub fn program(var: &str, fallback: impl FnOnce() -> Option<PathBuf>) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .or_else(fallback)
        .unwrap_or_else(|| {
            panic!("{var} is not set and the program was not found: run ./scripts/test.sh, or source scripts/emulators.sh and run emulators_start")
        })
}

/// `name` on `PATH`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}
