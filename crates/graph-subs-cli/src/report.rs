//! Errors as the user sees them: `error:` with the whole chain of causes and a `hint:`.

use std::io::{self, Write};

use crate::Exit;

/// Why a command stopped.
#[derive(Debug)]
pub(crate) enum Report {
    /// Writing the output failed (a closed pipe is not reported).
    Io(io::Error),
    /// A problem with the user's input or with the answer.
    Problem {
        message: String,
        causes: Vec<String>,
        hints: Vec<String>,
        exit: Exit,
    },
}

impl Report {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Report {
        Report::Problem {
            message: message.into(),
            causes: Vec::new(),
            hints: Vec::new(),
            exit,
        }
    }

    /// Adds the error and its sources as causes.
    pub(crate) fn caused_by(mut self, error: &dyn std::error::Error) -> Report {
        if let Report::Problem { causes, .. } = &mut self {
            let mut next = Some(error);
            while let Some(e) = next {
                causes.push(e.to_string());
                next = e.source();
            }
        }
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Report {
        if let Report::Problem { hints, .. } = &mut self {
            hints.push(hint.into());
        }
        self
    }

    pub(crate) fn exit(&self) -> Exit {
        match self {
            Report::Io(_) => Exit::Usage,
            Report::Problem { exit, .. } => *exit,
        }
    }

    pub(crate) fn write_to(&self, err: &mut dyn Write) -> io::Result<()> {
        match self {
            Report::Io(e) => writeln!(err, "error: cannot write the output: {e}"),
            Report::Problem {
                message,
                causes,
                hints,
                ..
            } => {
                writeln!(err, "error: {message}")?;
                for cause in causes {
                    writeln!(err, "  caused by: {cause}")?;
                }
                for hint in hints {
                    writeln!(err, "hint: {hint}")?;
                }
                Ok(())
            }
        }
    }
}

impl From<io::Error> for Report {
    fn from(e: io::Error) -> Report {
        Report::Io(e)
    }
}
