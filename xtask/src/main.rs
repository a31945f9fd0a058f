//! Project automation: `cargo xtask <task>`. See `cargo xtask help`.

mod image_writer;
mod testdata;

use std::path::PathBuf;

use anyhow::{Result, bail};

const HELP: &str = "\
cargo xtask <task>

tasks:
  testdata      regenerate the committed fixtures under testdata/
";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_else(|| "help".to_owned());
    match task.as_str() {
        "testdata" => testdata::generate(&project_root()),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown task {other:?}\n\n{HELP}"),
    }
}

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}
