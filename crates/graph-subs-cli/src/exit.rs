//! The exit statuses, one table for every command (documented in the README).

use std::process::ExitCode;

/// How `graph-subs` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command did what was asked.
    Success,
    /// 1: the command ran and the answer is no: the request has errors, or nothing is
    /// documented for the resource.
    No,
    /// 2: the command could not run on its input: a bad flag, a malformed path, an
    /// unknown resource, an unreadable file, invalid JSON.
    Usage,
    /// 3: the answer could not be written: standard output is a closed pipe, or a full
    /// or failing device. A script must not take the missing output for an answer.
    Output,
    /// 4: a service could not run or be reached: the emulator cannot listen or read its
    /// state file, a server does not answer.
    Failure,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::No => 1,
            Exit::Usage => 2,
            Exit::Output => 3,
            Exit::Failure => 4,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}
