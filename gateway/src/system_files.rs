//! The files railgate serves over plain HTTP beside its SOAP endpoints (GetSystemUris,
//! StartSystemRestore): their paths, methods and access classes, in one table that the URIs
//! handed to clients and the routes both read.

use crate::security::access::AccessClass;

/// A system file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemFile {
    /// GET: the system backup (`backup::create`).
    Backup,
    /// GET: the support information.
    Support,
    /// GET: the system log.
    SystemLog,
    /// GET: the access log.
    AccessLog,
    /// POST (application/octet-stream): a backup to restore.
    Restore,
    /// POST (application/octet-stream): a release package to install.
    Firmware,
}

impl SystemFile {
    /// Every one.
    pub const ALL: [SystemFile; 6] = [
        SystemFile::Backup,
        SystemFile::Support,
        SystemFile::SystemLog,
        SystemFile::AccessLog,
        SystemFile::Restore,
        SystemFile::Firmware,
    ];

    /// Its path.
    pub fn path(self) -> &'static str {
        match self {
            SystemFile::Backup => "/onvif/system/backup",
            SystemFile::Support => "/onvif/system/support",
            SystemFile::SystemLog => "/onvif/system/log/system",
            SystemFile::AccessLog => "/onvif/system/log/access",
            SystemFile::Restore => "/onvif/system/restore",
            SystemFile::Firmware => "/onvif/system/firmware",
        }
    }

    /// The file at `path`, if any.
    pub fn from_path(path: &str) -> Option<SystemFile> {
        Self::ALL.into_iter().find(|f| f.path() == path)
    }

    /// Whether it is uploaded (POST) rather than downloaded (GET).
    pub fn is_upload(self) -> bool {
        matches!(self, SystemFile::Restore | SystemFile::Firmware)
    }

    /// The name it has in logs and in the access policy.
    pub fn operation(self) -> &'static str {
        match self {
            SystemFile::Backup => "SystemBackupDownload",
            SystemFile::Support => "SupportInformationDownload",
            SystemFile::SystemLog => "SystemLogDownload",
            SystemFile::AccessLog => "AccessLogDownload",
            SystemFile::Restore => "SystemRestoreUpload",
            SystemFile::Firmware => "FirmwareUpload",
        }
    }

    /// Its access class: the same as the SOAP operation that gives the same thing
    /// (GetSystemBackup, GetSystemLog, GetSystemSupportInformation, RestoreSystem,
    /// UpgradeSystemFirmware).
    pub fn class(self) -> AccessClass {
        match self {
            SystemFile::Restore | SystemFile::Firmware => AccessClass::Unrecoverable,
            _ => AccessClass::ReadSystemSecret,
        }
    }
}
