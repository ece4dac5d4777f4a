//! Where the library's `tracing` events go on the command line: one `warning: …` or `note: …`
//! line on stderr per event of this crate, as the portal's operators read them in job logs.
//! Other crates' events (HTTP and S3 clients) are left out.

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Formats an event as `{level word}: {message}`.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let word = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            _ => "note",
        };
        write!(writer, "{word}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Installs the stderr subscriber; a second call (tests running the CLI in-process) keeps
/// the first.
pub fn init() {
    let ours = tracing_subscriber::filter::filter_fn(|meta| {
        meta.target().starts_with(env!("CARGO_CRATE_NAME")) && *meta.level() <= Level::INFO
    });
    let layer = tracing_subscriber::fmt::layer()
        .event_format(Plain)
        .with_writer(std::io::stderr)
        .with_filter(ours);
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
}
