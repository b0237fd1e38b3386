//! `sua export l190` and `sua export ocds`: transparency exports from the database.
//!
//! The rows are read by [`crate::export::load`] and mapped by the pure functions of [`crate::export`]; the
//! `anac` crate checks and writes. Files are written under a temporary name next to their destination and
//! moved into place only when everything was written: a refused lot leaves nothing behind.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anac::l190::{DatasetMeta, Rules, SplitOptions, write_index, write_split};
use anac::ocds::{OcdsConfig, ReleasePackage, release_package, write_package};
use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use domain::calendar::LegalCalendar;
use domain::ids::CodiceFiscale;
use domain::money::Rounding;
use uuid::Uuid;

use crate::config::Settings;
use crate::export::{self, L190Selection, Proponente, SuaIdentity};

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// The L.190/2012 art. 1 c. 32 XML dataset(s) of one reference year and their index, into a directory.
    /// Exit 1, writing nothing, when a lot breaks an ANAC rule (the lot and field are named).
    L190(L190Args),
    /// One OCDS 1.1 release package (JSON) with a release per lifecycle event of every published tender
    /// (or of one tender).
    Ocds(OcdsArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProponenteArg {
    /// The municipality the SUA runs the tender for.
    Municipality,
    /// The Province's SUA (needs --sua-codice-fiscale).
    Sua,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoundingArg {
    HalfUp,
    Truncate,
}

impl From<RoundingArg> for Rounding {
    fn from(r: RoundingArg) -> Self {
        match r {
            RoundingArg::HalfUp => Rounding::HalfUp,
            RoundingArg::Truncate => Rounding::Truncate,
        }
    }
}

/// Options both exports share: whose data, and who the SUA is.
#[derive(Args, Debug, Clone)]
pub struct SuaArgs {
    /// Only the tenders of this Province (its code, e.g. `MC`); default: all provinces.
    #[arg(long)]
    pub province: Option<String>,
    /// Codice fiscale of the SUA (provinces have none stored yet).
    #[arg(long, env = "SUA_EXPORT_SUA_CODICE_FISCALE")]
    pub sua_codice_fiscale: Option<String>,
    /// Name of the SUA (default: the Province's name).
    #[arg(long, env = "SUA_EXPORT_SUA_NAME")]
    pub sua_name: Option<String>,
    /// How a declared ribasso becomes a price in cents.
    #[arg(
        long,
        value_enum,
        default_value = "half-up",
        env = "SUA_EXPORT_PRICE_ROUNDING"
    )]
    pub price_rounding: RoundingArg,
}

impl SuaArgs {
    fn codice_fiscale(&self) -> anyhow::Result<Option<CodiceFiscale>> {
        self.sua_codice_fiscale
            .as_deref()
            .map(|s| CodiceFiscale::parse(s).map_err(|e| anyhow!("--sua-codice-fiscale: {e}")))
            .transpose()
    }
}

#[derive(Args, Debug, Clone)]
pub struct L190Args {
    /// Reference year (annoRiferimento).
    #[arg(long)]
    pub year: i32,
    /// Directory the datasets (`dataset_1.xml`, ...) and `indice.xml` are written into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub sua: SuaArgs,
    /// Public URL of the folder the files are published in (default:
    /// `{http.public_base_url}/trasparenza/l190/{year}`).
    #[arg(long, env = "SUA_EXPORT_L190_BASE_URL")]
    pub base_url: Option<String>,
    /// Who is the struttura proponente of a tender run for a municipality (the law is unclear).
    #[arg(
        long,
        value_enum,
        default_value = "municipality",
        env = "SUA_EXPORT_L190_PROPONENTE"
    )]
    pub proponente: ProponenteArg,
    /// entePubblicatore (default: the Province's name when one Province is exported).
    #[arg(long)]
    pub ente: Option<String>,
    #[arg(long, default_value = "IODL 2.0")]
    pub licenza: String,
    /// List every invited operator as a participant (the law's "operatori invitati a presentare offerte"),
    /// not only those who made an offer and did not withdraw it.
    #[arg(long, env = "SUA_EXPORT_L190_INCLUDE_INVITED")]
    pub include_invited: bool,
    /// Refuse lots without a CIG instead of writing the `0000000000` placeholder.
    #[arg(long)]
    pub no_placeholder_cig: bool,
    /// Largest dataset file, in bytes (ANAC's limit, 5 MiB, by default).
    #[arg(long, default_value_t = anac::l190::MAX_DATASET_BYTES)]
    pub max_file_bytes: u64,
}

#[derive(Args, Debug, Clone)]
pub struct OcdsArgs {
    /// The JSON file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Only this tender (its id).
    #[arg(long)]
    pub tender: Option<Uuid>,
    #[command(flatten)]
    pub sua: SuaArgs,
    /// The publisher's registered ocid prefix (`ocds-` + 6 lower-case letters or digits).
    #[arg(long, env = "SUA_EXPORT_OCID_PREFIX")]
    pub ocid_prefix: String,
    /// Where packages are published (default: `{http.public_base_url}/opendata/ocds`).
    #[arg(long, env = "SUA_EXPORT_OCDS_BASE_URL")]
    pub base_url: Option<String>,
    /// Publisher name (default: the SUA's name when one Province is exported).
    #[arg(long)]
    pub publisher: Option<String>,
    /// URL of the data licence.
    #[arg(long, default_value = "https://creativecommons.org/licenses/by/4.0/")]
    pub license: String,
}

pub async fn run(cmd: ExportCommand, settings: Settings) -> anyhow::Result<ExitCode> {
    match cmd {
        ExportCommand::L190(a) => l190(a, &settings).await,
        ExportCommand::Ocds(a) => ocds(a, &settings).await,
    }
}

/// A directory removed on drop unless [`TempDir::keep`] was called.
struct TempDir(Option<PathBuf>);

impl TempDir {
    fn new_in(parent: &Path, prefix: &str) -> anyhow::Result<TempDir> {
        let nanos = Utc::now().timestamp_subsec_nanos();
        let p = parent.join(format!(".{prefix}-{}-{nanos}", std::process::id()));
        fs::create_dir(&p).with_context(|| format!("--out: cannot create {}", p.display()))?;
        Ok(TempDir(Some(p)))
    }

    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

fn default_url(settings: &Settings, rest: &str) -> String {
    format!(
        "{}/{rest}",
        settings.http.public_base_url.trim_end_matches('/')
    )
}

async fn l190(a: L190Args, settings: &Settings) -> anyhow::Result<ExitCode> {
    if !(1000..=9999).contains(&a.year) {
        bail!("--year: {} is not a four-digit year", a.year);
    }
    let sua_cf = a.sua.codice_fiscale()?;
    if a.proponente == ProponenteArg::Sua && sua_cf.is_none() {
        bail!(
            "--proponente sua: the SUA's codice fiscale is unknown (provinces have none stored): pass --sua-codice-fiscale"
        );
    }
    let db = crate::runtime::open_db(settings).await?;
    let snap = export::load(&db.conn, a.sua.province.as_deref(), None).await?;
    let sel = L190Selection {
        year: a.year,
        proponente: match a.proponente {
            ProponenteArg::Municipality => Proponente::Municipality,
            ProponenteArg::Sua => Proponente::Sua,
        },
        sua_codice_fiscale: sua_cf,
        sua_name: a.sua.sua_name.clone(),
        rounding: a.sua.price_rounding.into(),
        include_invited: a.include_invited,
    };
    let selected = export::l190_lots(&snap, &sel).map_err(|e| anyhow!("{e}"))?;
    let ente = match (&a.ente, snap.provinces.as_slice()) {
        (Some(e), _) => e.clone(),
        (None, [p]) => a.sua.sua_name.clone().unwrap_or_else(|| p.name.clone()),
        (None, _) => {
            bail!("--ente: required when several provinces are exported (or pass --province)")
        }
    };
    let today = LegalCalendar::italy().local_date(Utc::now());
    let meta = DatasetMeta {
        titolo: format!("Pubblicazione 1 legge 190 anno {}", a.year),
        abstract_text: format!(
            "Dati dei contratti pubblici (art. 1 c. 32 L. 190/2012) - {ente} - anno {}",
            a.year
        ),
        data_pubblicazione: today,
        ente_pubblicatore: ente,
        data_ultimo_aggiornamento: today,
        anno_riferimento: a.year,
        licenza: a.licenza.clone(),
    };
    let base_url = a
        .base_url
        .clone()
        .unwrap_or_else(|| default_url(settings, &format!("trasparenza/l190/{}", a.year)));
    let opts = SplitOptions {
        max_bytes: a.max_file_bytes,
        ..SplitOptions::new(base_url)
    };
    let rules = Rules {
        allow_placeholder_cig: !a.no_placeholder_cig,
        ..Rules::default()
    };
    fs::create_dir_all(&a.out)
        .with_context(|| format!("--out: cannot create {}", a.out.display()))?;
    let tmp = TempDir::new_in(&a.out, "l190")?;
    let files = write_split(
        &meta,
        selected.lots.iter().map(|l| &l.lotto),
        &opts,
        &rules,
        |name| File::create(tmp.path().join(name)).map(BufWriter::new),
    )
    .map_err(|e| match e {
        // name the stored lot, not only its position in the export
        anac::l190::WriteError::Lot(le) => {
            let ids = selected.lots.get(le.index - 1).map_or(String::new(), |l| {
                format!(" [tender {}, lot {}]", l.tender_id, l.lot_id)
            });
            anyhow!("L.190 export refused: {le}{ids}")
        }
        e => anyhow!("L.190 export: {e}"),
    })?;
    let index_name = "indice.xml";
    {
        let mut w = BufWriter::new(File::create(tmp.path().join(index_name))?);
        write_index(&meta, &opts.url_for(index_name), &files, &mut w)
            .map_err(|e| anyhow!("L.190 index: {e}"))?;
        w.flush()?;
    }
    // everything written: move into place
    let mut names: Vec<&str> = files.iter().map(|f| f.file_name.as_str()).collect();
    names.push(index_name);
    for n in &names {
        fs::rename(tmp.path().join(n), a.out.join(n))
            .with_context(|| format!("--out: cannot move {n} into {}", a.out.display()))?;
    }
    drop(tmp);
    let index_bytes = fs::metadata(a.out.join(index_name))?.len();
    let lots: u64 = files.iter().map(|f| f.lots).sum();
    let bytes: u64 = files.iter().map(|f| f.bytes).sum::<u64>() + index_bytes;
    println!(
        "L.190 {}: {lots} lots in {} dataset file(s) + index, {bytes} bytes, in {}",
        a.year,
        files.len(),
        a.out.display()
    );
    for f in &files {
        println!(
            "  {} ({}): {} lots, {} bytes",
            f.file_name, f.id, f.lots, f.bytes
        );
    }
    println!(
        "  {index_name}: {index_bytes} bytes; publish and communicate {}",
        opts.url_for(index_name)
    );
    if !selected.placeholder_lots.is_empty() {
        eprintln!(
            "warning: {} lot(s) without a CIG written with the placeholder 0000000000: {}",
            selected.placeholder_lots.len(),
            join(&selected.placeholder_lots)
        );
    }
    if !selected.sealed_tenders.is_empty() {
        eprintln!(
            "note: {} tender(s) of {} left out because their offers are still sealed: {}",
            selected.sealed_tenders.len(),
            a.year,
            join(&selected.sealed_tenders)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn join(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

async fn ocds(a: OcdsArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let sua = SuaIdentity {
        codice_fiscale: a.sua.codice_fiscale()?,
        name: a.sua.sua_name.clone(),
    };
    let db = crate::runtime::open_db(settings).await?;
    let snap = export::load(&db.conn, a.sua.province.as_deref(), a.tender).await?;
    let records = export::ocds_records(&snap, &sua, a.sua.price_rounding.into())
        .map_err(|e| anyhow!("{e}"))?;
    if let Some(t) = a.tender
        && records.is_empty()
    {
        bail!("--tender: tender {t} is not published yet: nothing to export");
    }
    // the Provinces whose tenders are exported
    let provinces: Vec<&crate::db::entities::province::Model> = snap
        .provinces
        .iter()
        .filter(|p| records.iter().any(|r| r.province_id == p.id))
        .collect();
    let publisher = match (&a.publisher, provinces.as_slice()) {
        (Some(p), _) => p.clone(),
        (None, [p]) => sua.name.clone().unwrap_or_else(|| p.name.clone()),
        (None, _) => bail!(
            "--publisher: required when tenders of several provinces are exported (or pass --province)"
        ),
    };
    let base = a
        .base_url
        .clone()
        .unwrap_or_else(|| default_url(settings, "opendata/ocds"));
    let published = Utc::now();
    let mut packages: Vec<ReleasePackage> = Vec::new();
    for r in &records {
        let Some(p) = snap.provinces.iter().find(|p| p.id == r.province_id) else {
            bail!("tender {}: its province is not loaded", r.record.id);
        };
        let config = OcdsConfig {
            ocid_prefix: a.ocid_prefix.clone(),
            package_base_uri: base.clone(),
            publisher_name: publisher.clone(),
            publisher_cf: sua.codice_fiscale.clone(),
            publisher_uri: None,
            license: Some(a.license.clone()),
            publication_policy: None,
            procuring_entity: export::procuring_entity(p, &sua),
        };
        packages.push(
            release_package(&r.record, &config, published)
                .map_err(|e| anyhow!("tender {}: {e}", r.record.id))?,
        );
    }
    if packages.is_empty() {
        bail!("nothing to export: no published tender in the selection");
    }
    let releases: usize = packages.iter().map(|p| p.releases.len()).sum();
    let package = if a.tender.is_some() && packages.len() == 1 {
        packages.remove(0)
    } else {
        merge(
            packages,
            &base,
            &a,
            &publisher,
            sua.codice_fiscale.as_ref(),
            published,
        )
    };
    let parent = match a.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)
        .with_context(|| format!("--out: cannot create {}", parent.display()))?;
    let tmp = TempDir::new_in(&parent, "ocds")?;
    let tmp_file = tmp.path().join("package.json");
    {
        let mut w = BufWriter::new(File::create(&tmp_file)?);
        write_package(&package, &mut w)?;
        w.write_all(b"\n")?;
        w.flush()?;
    }
    fs::rename(&tmp_file, &a.out)
        .with_context(|| format!("--out: cannot write {}", a.out.display()))?;
    drop(tmp);
    println!(
        "OCDS: {} tender(s), {releases} release(s), {} bytes, in {}",
        records.len(),
        fs::metadata(&a.out)?.len(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// One package holding the releases of several tenders (OCDS allows releases of several ocids in a
/// package); its metadata are those every per-tender package shares.
fn merge(
    packages: Vec<ReleasePackage>,
    base: &str,
    a: &OcdsArgs,
    publisher: &str,
    publisher_cf: Option<&CodiceFiscale>,
    published: chrono::DateTime<Utc>,
) -> ReleasePackage {
    let file = a
        .out
        .file_name()
        .map_or("ocds.json".into(), |f| f.to_string_lossy().into_owned());
    ReleasePackage {
        uri: format!("{}/{file}", base.trim_end_matches('/')),
        version: "1.1",
        extensions: anac::ocds::EXTENSIONS.to_vec(),
        published_date: published.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        publisher: anac::ocds::Publisher {
            name: publisher.to_owned(),
            scheme: publisher_cf.map(|_| "IT-CF".to_owned()),
            uid: publisher_cf.map(|c| c.as_str().to_owned()),
            uri: None,
        },
        license: Some(a.license.clone()),
        publication_policy: None,
        releases: packages.into_iter().flat_map(|p| p.releases).collect(),
    }
}
