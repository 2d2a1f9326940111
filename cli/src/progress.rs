//! A byte progress bar on a TTY; nothing otherwise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stella_analyzers::Progress;

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar for `total` bytes of layer blobs, drawn only when stderr is a terminal.
    pub fn new(total: u64, enabled: bool) -> Bar {
        let bar = ProgressBar::with_draw_target(
            Some(total),
            if enabled {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} scanning layers {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Bar { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn bytes_read(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn layer_finished(&self, index: u32) {
        self.bar.set_message(format!("layer {index} done"));
    }
}
