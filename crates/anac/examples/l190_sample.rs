//! Prints a small L.190 dataset to stdout (two lots), to look at the output format.
use anac::l190::{DatasetMeta, Rules, write_dataset};

fn main() {
    let meta = DatasetMeta {
        titolo: "Pubblicazione legge 190 anno 2023".into(),
        abstract_text: "Esempio".into(),
        data_pubblicazione: chrono::NaiveDate::from_ymd_opt(2024, 1, 15).unwrap(),
        ente_pubblicatore: "Provincia di Esempio".into(),
        data_ultimo_aggiornamento: chrono::NaiveDate::from_ymd_opt(2024, 1, 15).unwrap(),
        anno_riferimento: 2023,
        licenza: "IODL 2.0".into(),
    };
    let path = std::env::args()
        .nth(1)
        .expect("usage: l190_sample FILE.xml (an L.190 dataset to re-emit)");
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("open"));
    let ds = anac::l190::read_dataset(file, &Rules::republish()).expect("read");
    for f in &ds.faults {
        eprintln!("faulty: {f}");
    }
    let stdout = std::io::stdout().lock();
    write_dataset(
        &meta,
        "https://example.invalid/d.xml",
        ds.lots.iter().take(2),
        &Rules::republish(),
        stdout,
    )
    .expect("write");
}
