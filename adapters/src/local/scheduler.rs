//! Firing one schedule on time.

use std::sync::Arc;

use chrono::Utc;
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
    pub(super) async fn run(self, mut stop: watch::Receiver<bool>) {
        let trigger = Trigger::Schedule(self.name.clone());
        let mut after = Utc::now();
        while let Some(due) = self.schedule.next_after(after) {
            let wait = (due - Utc::now()).to_std().unwrap_or_default();
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(wait) => {}
            }
            let event = ScheduleTick::new(&self.name, due).to_cloudevent(
                "cloudport:local",
                &format!("{}-{}", self.name, due.timestamp()),
            );
            if let Err(e) = self.app.dispatch(&self.env, &trigger, event).await {
                tracing::error!(schedule = %self.name, error = %e, "schedule handler failed");
            }
            after = due;
        }
    }
}
