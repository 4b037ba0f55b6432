//! `adjudicate`: the recorder's own best estimate of an incident's figures, with its reason
//! (an `incident_adjudicated` event; the rules: docs/event-log.md and docs/views.md).

use std::path::Path;

use chronicle_core::event::Adjudication;
use chronicle_core::{AppendContext, Payload};

use crate::write::{append_one, EventId, Recorder};

#[derive(Debug, clap::Args)]
pub struct AdjudicateArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    #[command(flatten)]
    event_id: EventId,
    /// The incident.
    #[arg(long)]
    incident: String,
    /// The best estimate of people killed (attackers excluded).
    #[arg(long, value_name = "N")]
    killed: Option<u64>,
    /// The best estimate of people wounded.
    #[arg(long, value_name = "N")]
    wounded: Option<u64>,
    /// Why: the rule or the evidence the decision rests on (kept in the log, shown by every
    /// view).
    #[arg(long)]
    reason: String,
    /// Record an estimate outside the sources' range (low to high); say why in the reason.
    #[arg(long)]
    outside_range: bool,
    /// Refuse unless the incident is at this version.
    #[arg(long, value_name = "N")]
    expect_version: Option<u64>,
}

pub fn adjudicate(db: &Path, ctx: AppendContext, args: AdjudicateArgs) -> anyhow::Result<()> {
    let payload = Payload::IncidentAdjudicated(Adjudication {
        killed: args.killed,
        wounded: args.wounded,
        reason: args.reason,
        outside_range: args.outside_range,
    });
    append_one(
        db,
        &ctx,
        &args.event_id,
        &args.incident,
        payload,
        args.expect_version,
    )
}
