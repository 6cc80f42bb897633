//! Installing a verified release beside the running one and trying it (whole or rolled back):
//! 1. the program is written to `<dir>/railgate-<version>` (0755, synced, renamed into place)
//!    and `<dir>/trial.json` names it, the program running now, and the deadline;
//! 2. railgate stops cleanly and execs the new program (same process, same arguments);
//! 3. the new program, finding the trial naming it, watches the deadline on a thread of its
//!    own and asks its own HTTP endpoint for GetSystemDateAndTime once it serves: an answer
//!    confirms it (`<dir>/current` pointed at it, the trial deleted); no answer by the
//!    deadline execs the previous program again (rolled back);
//! 4. a new program that dies instead leaves the trial behind: the next start of any other
//!    program (the supervisor restarting the installed one) finds a trial that does not name
//!    it, reports the upgrade as failed and deletes it.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::package::Package;

/// The trial file in the firmware folder.
pub const TRIAL_FILE: &str = "trial.json";
/// The link to the confirmed program.
pub const CURRENT: &str = "current";

/// A release being tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// Its version.
    pub version: String,
    /// The new program.
    pub program: PathBuf,
    /// The program that installed it (what a roll-back runs).
    pub previous: PathBuf,
    /// Seconds it has to answer.
    pub deadline_secs: u64,
}

/// Writes the program and the trial; returns the trial.
pub fn install(
    dir: &Path,
    package: &Package<'_>,
    previous: &Path,
    deadline_secs: u64,
) -> std::io::Result<Trial> {
    std::fs::create_dir_all(dir)?;
    let program = dir.join(format!("railgate-{}", package.header.version));
    let tmp = program.with_extension("partial");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(package.binary)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o755))?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &program)?;
    let trial = Trial {
        version: package.header.version.clone(),
        program,
        previous: previous.to_path_buf(),
        deadline_secs,
    };
    let text = serde_json::to_string_pretty(&trial).map_err(std::io::Error::other)?;
    crate::state::datadir::replace_private_file(&dir.join(TRIAL_FILE), &text)?;
    Ok(trial)
}

/// The trial in `dir`, if any.
pub fn trial(dir: &Path) -> Option<Trial> {
    serde_json::from_str(&std::fs::read_to_string(dir.join(TRIAL_FILE)).ok()?).ok()
}

/// Ends a trial without confirming it.
pub fn abandon(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(TRIAL_FILE));
}

/// Confirms the trial: `current` points at its program, the trial is gone.
pub fn confirm(dir: &Path, trial: &Trial) -> std::io::Result<()> {
    let link = dir.join(CURRENT);
    let tmp = dir.join(format!("{CURRENT}.new"));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&trial.program, &tmp)?;
    std::fs::rename(&tmp, &link)?;
    std::fs::remove_file(dir.join(TRIAL_FILE))
}
