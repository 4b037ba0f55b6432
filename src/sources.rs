//! `source set` and `source history`: sources described (what kind of source a name is,
//! whether a party to the conflict), as `source_described` events in the reserved stream
//! `@sources` (the rules: docs/event-log.md and docs/views.md, "Sources described").

use std::io::Write;
use std::path::Path;

use chronicle_core::source::{SourceDescription, SourceType, SOURCES_STREAM};
use chronicle_core::views::Point;
use chronicle_core::{EventLog, Invalid, Payload};

use crate::write::{append_one, EventId, Recorder};

#[derive(Debug, clap::Subcommand)]
pub enum SourceCommand {
    /// Describe a source: its type and whether it is a party to the conflict. The
    /// description is whole: it replaces the source's earlier one (kept as its history), so
    /// a source described again without --party is no longer a party.
    #[command(
        after_help = "Types: news agency, national media, local media, government, armed forces, armed group, NGO, UN, dataset, witness, secondary (case does not matter; `-` or `_` may stand for a space).\n\nExamples:\n  chronicle source set AFP --type \"news agency\"\n  chronicle source set \"Ministry of Defense\" --type government --party\n  chronicle source set \"Taliban spokesman\" --type armed-group --party --note \"Zabihullah Mujahid\""
    )]
    Set(SetArgs),
    /// Every description of a source, oldest first, with what became of each.
    History(HistoryArgs),
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    #[command(flatten)]
    event_id: EventId,
    /// The source's name, exactly as reports spell it.
    name: String,
    /// news agency, national media, local media, government, armed forces, armed group,
    /// NGO, UN, dataset, witness or secondary.
    #[arg(long = "type", value_name = "TYPE")]
    kind: String,
    /// The source is a party to the conflict (its figures are not independent
    /// confirmation). Without it, the source is described as not a party.
    #[arg(long)]
    party: bool,
    /// A remark: who the source is, why this type.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The source's name, exactly as reports spell it.
    name: String,
    /// The descriptions as of this recorded time (a bare date: the end of that day, UTC).
    #[arg(long, value_name = "TIME", conflicts_with = "at_seq")]
    as_of: Option<String>,
    /// The descriptions after event N.
    #[arg(long, value_name = "N")]
    at_seq: Option<u64>,
    /// JSON: one object per description.
    #[arg(long)]
    json: bool,
}

/// `source set`: one `source_described` event.
pub fn set(db: &Path, ctx: chronicle_core::AppendContext, args: SetArgs) -> anyhow::Result<()> {
    let payload = Payload::SourceDescribed(SourceDescription {
        name: args.name,
        kind: SourceType::parse_for("--type", &args.kind)?,
        party: args.party,
        note: args.note,
    });
    append_one(db, &ctx, &args.event_id, SOURCES_STREAM, payload, None)
}

/// `source history`.
pub fn history(db: &Path, args: HistoryArgs) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    let point = match (&args.as_of, args.at_seq) {
        (Some(t), _) => Point::AsOf(
            chronicle_core::time::parse_time_point(t)
                .map_err(|e| Invalid::new("--as-of", t, e.to_string()))?,
        ),
        (None, Some(n)) => Point::AtSeq(n),
        (None, None) => Point::Head,
    };
    let entries = log.source_history(&args.name, point)?;
    if entries.is_empty() {
        return Err(Invalid::new(
            "name",
            &args.name,
            "this source has no description at this point (names are matched exactly; describe it with `chronicle source set NAME --type TYPE`)",
        )
        .into());
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&entries)?)?;
        return Ok(out.flush()?);
    }
    writeln!(out, "Descriptions of {}", args.name)?;
    for e in &entries {
        let d = &e.described;
        let party = if d.party {
            "a party to the conflict"
        } else {
            "not a party"
        };
        let retracted = e
            .retracted_seq
            .map(|s| format!(" (seq {s})"))
            .unwrap_or_default();
        writeln!(
            out,
            "seq {}  {}  {}, {party}  [{}{retracted}]",
            d.event_seq, d.recorded_at, d.kind, e.status
        )?;
        if let Some(note) = &d.note {
            writeln!(out, "  {note}")?;
        }
    }
    Ok(out.flush()?)
}
