//! `railgate ip-filter clear`: the console recovery from an IP address filter that shuts
//! every client out. It clears the stored filter; a running railgate keeps the one it loaded
//! until it restarts.

use std::path::Path;
use std::process::ExitCode;

use super::{EX_CANTCREAT, out};

pub(crate) fn clear(data_dir: &Path) -> ExitCode {
    let cleared = railgate::state::StateDb::open(data_dir)
        .map_err(|e| e.to_string())
        .and_then(|db| railgate::security::ip_filter::clear(&db).map_err(|e| e.to_string()));
    match cleared {
        Ok(()) => {
            println!(
                "IP address filter of {} cleared: every address is admitted once railgate restarts",
                data_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            out::note(format_args!(
                "railgate: cannot clear the IP address filter: {e}"
            ));
            ExitCode::from(EX_CANTCREAT)
        }
    }
}
