//! The results table: one row per comparison, printed to stdout and written as Markdown.

use std::fmt::Write as _;

/// Whether a row's goal was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The goal was met.
    Met,
    /// The goal was not met.
    NotMet,
    /// The row has no goal (informational).
    NoGoal,
    /// The measurement could not be made.
    Failed,
}

impl Verdict {
    /// `yes` / `**NO**` / `–` / `failed`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Met => "yes",
            Verdict::NotMet => "**NO**",
            Verdict::NoGoal => "–",
            Verdict::Failed => "failed",
        }
    }

    /// `Met` when `ok`, else `NotMet`.
    pub fn from_bool(ok: bool) -> Self {
        if ok { Verdict::Met } else { Verdict::NotMet }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured, with its unit.
    pub name: String,
    /// Our figure (median and spread).
    pub ours: String,
    /// The baselines' figures, `name: value` separated by `; `.
    pub baselines: String,
    /// Ours relative to the main baseline (or the limit).
    pub ratio: String,
    /// The goal, in words.
    pub goal: String,
    /// Whether the goal was met.
    pub verdict: Verdict,
}

/// All rows plus notes, in run order.
#[derive(Debug, Default)]
pub struct Report {
    /// The rows.
    pub rows: Vec<Row>,
    /// Footnotes (how a figure was made, what was substituted, failures).
    pub notes: Vec<String>,
}

impl Report {
    /// Adds a row.
    pub fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Adds a note.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The table and notes as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str("| benchmark | ours | baseline(s) | ratio | goal | met? |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.name,
                row.ours,
                row.baselines,
                row.ratio,
                row.goal,
                row.verdict.label()
            );
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

/// The machine the run happened on: `nproc`, CPU model, memory.
pub fn machine_description() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                let kib: u64 = l
                    .strip_prefix("MemTotal:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()?;
                Some(format!("{:.1} GiB RAM", kib as f64 / 1024.0 / 1024.0))
            })
        })
        .unwrap_or_else(|| "unknown memory".into());
    format!("{cpus} CPUs available (nproc), {cpu}, {memory}")
}
