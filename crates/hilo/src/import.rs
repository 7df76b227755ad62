//! `hilo import`: customers from CSV and events from NDJSON (Segment messages), through
//! the same identity resolution as live traffic. Idempotent: every row has a stable key
//! (its `messageId`, or a digest of its content), so running an import twice stores
//! nothing twice. Rejected rows go to a file beside the input, with the reason.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use hilo_app::Hilo;
use hilo_app::collect::ingest::{Ingestor, Outcome};
use hilo_domain::collect::segment::{BatchDefaults, Message, parse_message};
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use hilo_domain::{SourceChannel, SourceId};
use hilo_store::access::sources::SourceRecord;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Messages handed to the writer at once.
const CHUNK: usize = 500;
/// Name of the source imports are attributed to when none is given.
pub const IMPORT_SOURCE: &str = "Import";

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub read: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub rejected_file: Option<PathBuf>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} read, {} stored, {} already imported, {} rejected",
            self.read, self.stored, self.duplicates, self.rejected
        )?;
        if let Some(path) = &self.rejected_file {
            write!(f, " (see {})", path.display())?;
        }
        Ok(())
    }
}

/// The source to attribute imported data to: the one given, or one named "Import".
pub async fn import_source(hilo: &Hilo, source: Option<&str>) -> anyhow::Result<SourceRecord> {
    if let Some(id) = source {
        let id: SourceId = id
            .parse()
            .map_err(|_| anyhow::anyhow!("{id:?} is not a source id"))?;
        return hilo
            .access()
            .source(id)
            .await
            .map_err(|_| anyhow::anyhow!("no live source with id {id}"));
    }
    if let Some(existing) = hilo.store().source_by_name(IMPORT_SOURCE).await? {
        return Ok(existing);
    }
    let (record, _) = hilo
        .access()
        .create_source(IMPORT_SOURCE, SourceChannel::Server)
        .await?;
    Ok(record)
}

/// Writes rejected rows beside the input, created on the first rejection.
pub(crate) struct Rejects {
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl Rejects {
    pub(crate) fn beside(input: &Path, suffix: &str) -> Self {
        let mut name = input.file_stem().unwrap_or_default().to_os_string();
        name.push(suffix);
        Self {
            path: input.with_file_name(name),
            out: None,
        }
    }

    pub(crate) fn write(&mut self, line: &str) -> anyhow::Result<()> {
        if self.out.is_none() {
            let file = File::create(&self.path)
                .with_context(|| format!("cannot create {}", self.path.display()))?;
            self.out = Some(BufWriter::new(file));
        }
        if let Some(out) = &mut self.out {
            writeln!(out, "{line}")?;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> anyhow::Result<Option<PathBuf>> {
        match self.out.take() {
            Some(mut out) => {
                out.flush()?;
                Ok(Some(self.path))
            }
            None => Ok(None),
        }
    }
}

/// A progress bar on stderr, by bytes of the file read.
pub(crate) struct Progress {
    total: u64,
}

impl Progress {
    pub(crate) fn for_file(path: &Path) -> Self {
        Self {
            total: std::fs::metadata(path).map_or(0, |m| m.len()),
        }
    }

    pub(crate) fn show(&self, bytes: u64, rows: u64) {
        const WIDTH: u64 = 30;
        let read = bytes.min(self.total);
        let done = (read * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
        let percent = (read * 100).checked_div(self.total).unwrap_or(100);
        let bar: String = (0..WIDTH)
            .map(|i| if i < done { '#' } else { '-' })
            .collect();
        eprint!("\r[{bar}] {percent:>3}% {rows} rows");
    }
}

fn row_key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("import-{hex}")
}

/// Imports customers from a CSV file with a header row. Columns `user_id`,
/// `anonymous_id`, `email` and `phone` are identifiers, as is any column named
/// `id:TYPE` (`id:loyalty_card`); every other column is a trait. Empty cells are skipped.
pub async fn customers(hilo: &Hilo, source: &SourceRecord, path: &Path) -> anyhow::Result<Summary> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers: Vec<String> = reader
        .headers()
        .context("the file needs a header row")?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let columns: Vec<Column> = headers.iter().map(|h| Column::of(h)).collect();
    let mut rejects = Rejects::beside(path, ".rejected.csv");
    rejects.write(&csv_line(
        headers.iter().map(String::as_str).chain(["error"]),
    ))?;
    let region = hilo.settings().default_region.clone();
    let progress = Progress::for_file(path);
    let mut summary = Summary::default();
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        line += 1;
        let row = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => &record,
            Err(error) => {
                summary.read += 1;
                summary.rejected += 1;
                rejects.write(&csv_line([
                    format!("line {line}").as_str(),
                    &error.to_string(),
                ]))?;
                continue;
            }
        };
        summary.read += 1;
        let cells: Vec<&str> = row.iter().collect();
        let outcome = customer_row(hilo, source, &columns, &cells, &region).await;
        match outcome {
            Ok(true) => summary.stored += 1,
            Ok(false) => summary.duplicates += 1,
            Err(reason) => {
                summary.rejected += 1;
                rejects.write(&csv_line(cells.iter().copied().chain([reason.as_str()])))?;
            }
        }
        if summary.read % 100 == 0 {
            progress.show(reader.position().byte(), summary.read);
        }
    }
    progress.show(u64::MAX, summary.read);
    eprintln!();
    summary.rejected_file = if summary.rejected > 0 {
        rejects.finish()?
    } else {
        let _ = rejects.finish()?.map(std::fs::remove_file);
        None
    };
    Ok(summary)
}

enum Column {
    Identifier(IdentifierType),
    Trait(String),
}

impl Column {
    fn of(header: &str) -> Self {
        let lower = header.to_ascii_lowercase();
        let identifier = match lower.as_str() {
            "user_id" | "userid" => Some(IdentifierType::user_id()),
            "anonymous_id" | "anonymousid" => Some(IdentifierType::anonymous_id()),
            "email" => Some(IdentifierType::email()),
            "phone" => Some(IdentifierType::phone()),
            other => other.strip_prefix("id:").and_then(|t| t.parse().ok()),
        };
        match identifier {
            Some(kind) => Self::Identifier(kind),
            None => Self::Trait(header.to_owned()),
        }
    }
}

/// Imports one row; `Ok(false)` when it was imported before, `Err` with the reason.
async fn customer_row(
    hilo: &Hilo,
    source: &SourceRecord,
    columns: &[Column],
    cells: &[&str],
    region: &str,
) -> Result<bool, String> {
    let mut identifiers = Vec::new();
    let mut traits = Map::new();
    let mut problems = Vec::new();
    for (column, cell) in columns.iter().zip(cells) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        match column {
            Column::Identifier(kind) => {
                match Identifier::normalize(kind.clone(), cell, region) {
                    Ok(identifier) => identifiers.push(identifier),
                    Err(invalid) => problems.push(format!("{kind}: {}", invalid.reason)),
                }
                if matches!(kind.as_str(), IdentifierType::EMAIL | IdentifierType::PHONE) {
                    traits.insert(kind.to_string(), Value::String(cell.to_owned()));
                }
            }
            Column::Trait(name) => {
                traits.insert(name.clone(), Value::String(cell.to_owned()));
            }
        }
    }
    if identifiers.is_empty() {
        let reason = if problems.is_empty() {
            "no identifier: fill user_id, email, phone, anonymous_id or an id:TYPE column"
                .to_owned()
        } else {
            problems.join("; ")
        };
        return Err(reason);
    }
    let key = row_key(cells);
    match hilo
        .customers()
        .import(&identifiers, &traits, source, &key)
        .await
    {
        Ok(Some(_)) => Ok(true),
        Ok(None) => Ok(false),
        Err(error) => Err(error.to_string()),
    }
}

pub(crate) fn csv_line<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    cells
        .into_iter()
        .map(|cell| {
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Imports Segment messages, one JSON object per line. A message without `messageId`
/// gets one derived from its content, so importing the file again stores nothing twice.
pub async fn events(hilo: &Hilo, source: &SourceRecord, path: &Path) -> anyhow::Result<Summary> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let ingestor = Ingestor::start(hilo.clone());
    let mut rejects = Rejects::beside(path, ".rejected.ndjson");
    let mut summary = Summary::default();
    let mut chunk: Vec<Message> = Vec::with_capacity(CHUNK);
    let progress = Progress::for_file(path);
    let mut bytes = 0u64;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read line {}", index + 1))?;
        bytes += line.len() as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        summary.read += 1;
        match event_line(&line, hilo) {
            Ok(message) => chunk.push(message),
            Err(reason) => {
                summary.rejected += 1;
                let raw: Value = serde_json::from_str(&line).unwrap_or(Value::String(line.clone()));
                rejects.write(
                    &json!({"line": index + 1, "error": reason, "message": raw}).to_string(),
                )?;
            }
        }
        if chunk.len() >= CHUNK {
            flush(&ingestor, source, &mut chunk, &mut summary).await?;
            progress.show(bytes, summary.read);
        }
    }
    flush(&ingestor, source, &mut chunk, &mut summary).await?;
    progress.show(u64::MAX, summary.read);
    eprintln!();
    summary.rejected_file = rejects.finish()?;
    Ok(summary)
}

fn event_line(line: &str, hilo: &Hilo) -> Result<Message, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let key = row_key(&[line]);
    parse_message(
        value,
        None,
        None,
        &BatchDefaults::default(),
        hilo.now(),
        || key,
    )
    .map_err(|e| e.to_string())
}

async fn flush(
    ingestor: &Ingestor,
    source: &SourceRecord,
    chunk: &mut Vec<Message>,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let outcomes = ingestor
        .submit(source.clone(), std::mem::take(chunk))
        .await
        .map_err(|e| anyhow::anyhow!("storing failed: {e}"))?;
    for outcome in outcomes {
        match outcome {
            Outcome::Stored { .. } => summary.stored += 1,
            Outcome::Duplicate | Outcome::Suppressed => summary.duplicates += 1,
        }
    }
    Ok(())
}
