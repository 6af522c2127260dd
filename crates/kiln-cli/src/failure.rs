//! How `kiln` fails: one line on stderr, `kiln: error: <file>: <problem>`, and exit status 1.

use kiln::KilnError;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;

/// The message of the last panic, recorded by the hook instead of printed: panics the
/// library catches itself (engine failures it turns into errors) stay silent, and one the
/// command line catches is reported as one line.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Installs the panic hook that records the message (no backtrace, no output).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(format!("{message}{place}; please report this"));
        }
    }));
}

/// The last panic's message.
pub fn last_panic() -> String {
    LAST_PANIC
        .lock()
        .ok()
        .and_then(|m| m.clone())
        .unwrap_or_else(|| "a panic".into())
}

/// Prints the error (if any) as one line and gives the exit status.
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = format!("{e:#}");
            let line: Vec<&str> = text.split_whitespace().collect();
            eprintln!("kiln: error: {}", line.join(" "));
            ExitCode::from(1)
        }
    }
}

/// `err` as an error about the file `path`: its own message if it already names the file,
/// else `path: message`.
pub fn at(path: &Path, err: KilnError) -> anyhow::Error {
    let shown = path.display().to_string();
    let text = err.to_string();
    if text.starts_with(&format!("{shown}: ")) {
        anyhow::anyhow!(text)
    } else {
        anyhow::anyhow!("{shown}: {text}")
    }
}

/// The device to run on: `--device` if given, else the default (`KILN_DEVICE`, else `cpu`).
pub fn device(arg: Option<&str>) -> anyhow::Result<kiln::Device> {
    match arg {
        Some(s) => s.parse().map_err(|e: KilnError| anyhow::anyhow!("--device {s}: {e}")),
        None => kiln::Device::default_device().map_err(|e| anyhow::anyhow!("{e}")),
    }
}

/// Loads the model file at `path` onto `device` (Kiln or Keras, by extension).
pub fn load(path: &Path, device: &kiln::Device) -> anyhow::Result<kiln::Model> {
    kiln::Model::load(path, device).map_err(|e| at(path, e))
}
