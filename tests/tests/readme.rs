//! The README's console examples are real: each `$ graph-subs ...` line in a ```console
//! block is run, and its output (stdout then stderr) must be what the block shows.

use graph_subs_tests::{graph_subs, workspace_root};

/// Splits a shell command line on spaces, honouring single quotes (all the README uses).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            ' ' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            _ => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// (command, expected output) for each example.
fn examples(readme: &str) -> Vec<(String, String)> {
    let mut examples = Vec::new();
    let mut in_console = false;
    let mut current: Option<(String, String)> = None;
    for line in readme.lines() {
        if line.starts_with("```console") {
            in_console = true;
            continue;
        }
        if in_console && line.starts_with("```") {
            in_console = false;
            examples.extend(current.take());
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            examples.extend(current.take());
            current = Some((command.to_owned(), String::new()));
        } else if let Some((_, output)) = &mut current {
            output.push_str(line);
            output.push('\n');
        }
    }
    examples
}

#[test]
fn readme_console_examples_are_real_output() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let examples = examples(&readme);
    assert!(examples.len() >= 4, "the README shows examples");
    for (command, expected) in examples {
        let words = shell_words(&command);
        assert_eq!(words[0], "graph-subs", "{command}");
        // Paths in the README are relative to the workspace root; tests run elsewhere.
        let root = format!("{}/", workspace_root().display());
        let args: Vec<String> = words[1..]
            .iter()
            .map(|w| {
                if w.starts_with("examples/") {
                    format!("{root}{w}")
                } else {
                    w.clone()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = graph_subs(&args);
        let got = format!("{}{}", run.stdout, run.stderr).replace(&root, "");
        assert_eq!(got, expected, "README example `{command}` is out of date");
    }
}

#[test]
fn shell_words_honours_single_quotes() {
    assert_eq!(
        shell_words("graph-subs permissions 'teams/{id}/x y' --json"),
        ["graph-subs", "permissions", "teams/{id}/x y", "--json"]
    );
}
