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
        /// A stable kebab-case code for scripts: `unknown-resource`.
        code: &'static str,
        message: String,
        causes: Vec<String>,
        hints: Vec<String>,
        exit: Exit,
    },
}

impl Report {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Report {
        Report::Problem {
            code: match exit {
                Exit::No => "no-answer",
                _ => "usage",
            },
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

    /// Adds one cause, as text.
    pub(crate) fn cause(mut self, text: impl Into<String>) -> Report {
        if let Report::Problem { causes, .. } = &mut self {
            causes.push(text.into());
        }
        self
    }

    /// Sets the code scripts see in `--json` errors.
    pub(crate) fn code(mut self, new: &'static str) -> Report {
        if let Report::Problem { code, .. } = &mut self {
            *code = new;
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
            Report::Io(_) => Exit::Output,
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

/// The error object `--json` prints on stdout when there is no answer.
#[derive(serde::Serialize)]
struct JsonError<'a> {
    error: JsonErrorBody<'a>,
}

#[derive(serde::Serialize)]
struct JsonErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    causes: &'a [String],
    hint: Option<String>,
}

impl Report {
    /// `{"error": {"code", "message", "causes", "hint"}}`, one document.
    pub(crate) fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        let Report::Problem {
            code,
            message,
            causes,
            hints,
            ..
        } = self
        else {
            return Ok(()); // stdout itself failed: nothing can be written there
        };
        let error = JsonError {
            error: JsonErrorBody {
                code,
                message,
                causes,
                hint: (!hints.is_empty()).then(|| hints.join("\n")),
            },
        };
        serde_json::to_writer_pretty(&mut *out, &error).map_err(io::Error::from)?;
        writeln!(out)
    }
}

impl From<io::Error> for Report {
    fn from(e: io::Error) -> Report {
        Report::Io(e)
    }
}
