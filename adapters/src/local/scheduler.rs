//! Firing one schedule on time.

use std::sync::Arc;

use std::time::Duration;

use cloudport_core::event::ScheduleTick;
use cloudport_core::{App, Env, Schedule, Trigger};
use tokio::sync::watch;

pub(super) struct Timer {
    pub(super) app: Arc<App>,
    pub(super) env: Env,
    pub(super) name: String,
    pub(super) schedule: Schedule,
}

impl Timer {
    /// Fires at every due time on the environment's clock ([`Env::now`]): sleeping until it on
    /// the system clock, watching a virtual clock (every 10 ms) until a test moves it there. A
    /// tick whose time passed while another ran, or while a virtual clock jumped, fires once.
    pub(super) async fn run(self, mut stop: watch::Receiver<bool>) {
        let trigger = Trigger::Schedule(self.name.clone());
        let mut after = self.env.now();
        while let Some(due) = self.schedule.next_after(after) {
            loop {
                let now = self.env.now();
                if now >= due {
                    break;
                }
                let wait = if self.env.has_virtual_clock() {
                    Duration::from_millis(10)
                } else {
                    (due - now).to_std().unwrap_or_default()
                };
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
            let event = ScheduleTick::new(&self.name, due).to_cloudevent(
                "cloudport:local",
                &format!("{}-{}", self.name, due.timestamp()),
            );
            if let Err(e) = self.app.dispatch(&self.env, &trigger, event).await {
                tracing::error!(schedule = %self.name, error = %e, "schedule handler failed");
            }
            after = due.max(self.env.now());
        }
    }
}
