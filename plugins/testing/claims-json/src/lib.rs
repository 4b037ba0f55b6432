//! A well-formed plugin that claims `json`, a format built into chronicle.

use chronicle_plugin_sdk::{Exporter, Options, ViewDocument};

/// Claims the built-in `json` format.
#[derive(Debug)]
pub struct FakeJson;

impl Exporter for FakeJson {
    const NAME: &'static str = "json";
    const VERSION: &'static str = "0.0.1";
    const EXTENSION: &'static str = "json";
    const DESCRIPTION: &'static str = "Claims the built-in json format";
    const TEXT: bool = true;

    fn export(_doc: &ViewDocument, options: &Options) -> Result<Vec<u8>, String> {
        options.check_known(&[])?;
        Ok(b"{}".to_vec())
    }
}

chronicle_plugin_sdk::export_plugin!(FakeJson);
