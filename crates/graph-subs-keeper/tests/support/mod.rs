//! A throwaway PostgreSQL server for tests, from the Debian package's binaries
//! (`/usr/lib/postgresql/<version>/bin`, or `pg_config --bindir`): a fresh cluster in a
//! temporary folder, listening only on a Unix socket in it, stopped and deleted when
//! dropped. As root (CI's containers), the server runs as the `postgres` user the package
//! creates, since PostgreSQL refuses to run as root.

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
    /// `postgres://...` for sqlx, through the socket.
    pub(crate) url: String,
}

fn bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect(
            "PostgreSQL's server binaries are needed (Debian: apt-get install postgresql); .ci/run installs them",
        )
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no initdb under /usr/lib/postgresql/*/bin: apt-get install postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Postgres {
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let output = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .output()
        } else {
            Command::new(&path).args(args).output()
        }
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        assert!(
            output.status.success(),
            "{program} {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts a server with a database `keeper` owned by user `keeper`.
    pub(crate) fn start() -> Postgres {
        let bin = bindir();
        let dir = tempfile::Builder::new()
            .prefix("graph-subs-pg")
            .tempdir()
            .unwrap();
        let as_postgres = is_root();
        if as_postgres {
            // The cluster's folder must belong to the user the server runs as.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = dir.path().join("data");
        let socket = dir.path().to_str().unwrap().to_owned();
        let mut pg = Postgres {
            bin,
            dir,
            as_postgres,
            url: String::new(),
        };
        let data_arg = data.to_str().unwrap().to_owned();
        pg.run(
            "initdb",
            &[
                "-D",
                &data_arg,
                "-U",
                "keeper",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        let options = format!("-k {socket} -c listen_addresses='' -c fsync=off -p 5432");
        let log = Path::new(&socket).join("server.log");
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &data_arg,
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        pg.run(
            "createdb",
            &["-h", &socket, "-p", "5432", "-U", "keeper", "keeper"],
        );
        let encoded: String = socket
            .bytes()
            .map(|b| match b {
                b'/' => "%2F".to_owned(),
                b => (b as char).to_string(),
            })
            .collect();
        pg.url = format!("postgres://keeper@{encoded}:5432/keeper");
        pg
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run(
                "pg_ctl",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
        }));
    }
}
