//! Writing Kiln models as Keras 3 `.keras` files.
//!
//! The file is what Keras's `model.save("model.keras")` writes: a zip archive, stored
//! uncompressed, of `metadata.json` (`keras_version`, `date_saved`), `config.json` (the
//! model config of [`model_to_keras_config`](crate::keras::model_to_keras_config)) and
//! `model.weights.h5` (every weight in Keras's layout, see `weights_h5`), so that
//! `keras.saving.load_model` rebuilds the model with the same weights. No optimizer
//! state or compile configuration is written.

use super::archive::{self, io_error};
use super::{import, model_to_keras_config, weights_h5};
use crate::error::Result;
use crate::model::Model;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The Keras version whose file format Kiln writes (`keras_version` of `metadata.json`).
pub const KERAS_VERSION: &str = "3.15.1";

/// Writes `model` to `path` as a Keras 3 `.keras` file, atomically. A layer Keras cannot
/// express is an error naming it.
pub fn save(model: &Model, path: &Path) -> Result<()> {
    let config = model_to_keras_config(model)?;
    let entries = weights_h5::layer_entries(&config)?;
    let name = config["config"]["name"].as_str().unwrap_or(model.name()).to_string();
    let specs = import::specs(model)?;
    let values = model.get_weights()?;
    let weights = weights_h5::write(&name, &entries, &specs, &values, path)?;
    let metadata = serde_json::json!({
        "keras_version": KERAS_VERSION,
        "date_saved": date_saved(SystemTime::now()),
        "kiln_version": env!("CARGO_PKG_VERSION"),
    });
    let json =
        |v: &serde_json::Value| serde_json::to_vec(v).map_err(|e| io_error(path, format!("cannot serialise: {e}")));
    let members = [
        (archive::METADATA, json(&metadata)?),
        (archive::CONFIG, json(&config)?),
        (archive::WEIGHTS, weights),
    ];
    let refs: Vec<(&str, &[u8])> = members.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let bytes = archive::write(&refs, path)?;
    crate::io::write_atomic(path, &bytes).map_err(|e| io_error(path, format!("cannot write the file: {e}")))
}

/// `time` as Keras writes `date_saved` (`%Y-%m-%d@%H:%M:%S`), in UTC.
fn date_saved(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}@{:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::date_saved;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn dates_as_keras_writes_them() {
        // `date -u -d @<secs> +%Y-%m-%d@%H:%M:%S`.
        assert_eq!(date_saved(UNIX_EPOCH), "1970-01-01@00:00:00");
        assert_eq!(
            date_saved(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29@00:00:00"
        );
        assert_eq!(
            date_saved(UNIX_EPOCH + Duration::from_secs(1_764_149_302)),
            "2025-11-26@09:28:22"
        );
    }
}
