//! Database URLs: every line of `fixtures/db/urls.tsv` (expected values made
//! by SQLAlchemy's own `make_url`) parses to the same parts and masks the
//! same way; every line of `urls_err.txt` fails without leaking its password.

use std::path::{Path, PathBuf};

use aurora::db::{DatabaseUrl, DbError, SqliteTarget};
use aurora::sql::Dialect;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/db")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The parts of a parsed URL in the fixture's notation.
fn describe(url: &DatabaseUrl) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "~".to_string());
    let query: Vec<String> = url.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    vec![
        url.drivername.clone(),
        opt(url.username.clone()),
        opt(url.password().map(str::to_string)),
        opt(url.host.clone()),
        opt(url.port.map(|p| p.to_string())),
        opt(url.database.clone()),
        if query.is_empty() {
            "~".to_string()
        } else {
            query.join(" & ")
        },
        url.masked(),
    ]
}

#[test]
fn urls_parse_and_mask_as_sqlalchemy_does() {
    let text = fixture("urls.tsv");
    let mut failures = Vec::new();
    let mut count = 0;
    for line in lines(&text) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 9, "bad fixture line: {line}");
        let expected: Vec<String> = fields[1..].iter().map(|s| s.to_string()).collect();
        match DatabaseUrl::parse(fields[0]) {
            Ok(url) => {
                let got = describe(&url);
                if got != expected {
                    failures.push(format!(
                        "{}\n  expected {expected:?}\n  got      {got:?}",
                        fields[0]
                    ));
                }
                // Display and Debug show only the masked form.
                assert_eq!(url.to_string(), url.masked());
                if let Some(pw) = url.password().filter(|p| p.len() >= 4) {
                    assert!(
                        !format!("{url:?}").contains(pw),
                        "Debug leaks the password of {}",
                        fields[0]
                    );
                }
            }
            Err(e) => failures.push(format!("{}: unexpected error {e}", fields[0])),
        }
        count += 1;
    }
    assert!(count > 30, "fixture has only {count} cases");
    assert!(
        failures.is_empty(),
        "{} of {count} URLs differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn bad_urls_fail_without_leaking_the_password() {
    let text = fixture("urls_err.txt");
    let mut count = 0;
    for line in lines(&text) {
        let err = DatabaseUrl::parse(line).expect_err(line);
        let message = err.to_string();
        assert!(matches!(err, DbError::InvalidUrl { .. }), "{line}: {err:?}");
        assert!(
            !message.contains("hunter2secret"),
            "{line}: error leaks the password: {message}"
        );
        assert!(
            !format!("{err:?}").contains("hunter2secret"),
            "{line}: Debug leaks the password"
        );
        count += 1;
    }
    assert_eq!(count, 6);
}

#[test]
fn unparseable_url_gives_sqlalchemys_message() {
    let err = DatabaseUrl::parse("not a url").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Could not parse SQLAlchemy URL from given URL string"
    );
}

#[test]
fn dialects_follow_the_backend_name() {
    let cases = [
        ("sqlite://", Dialect::Sqlite),
        ("sqlite+pysqlite:///x.db", Dialect::Sqlite),
        ("postgresql://h/d", Dialect::Postgresql),
        ("postgresql+psycopg2://h/d", Dialect::Postgresql),
        ("postgresql+psycopg://h/d", Dialect::Postgresql),
        ("postgres://h/d", Dialect::Postgresql),
    ];
    for (text, dialect) in cases {
        assert_eq!(
            DatabaseUrl::parse(text).unwrap().dialect(),
            dialect,
            "{text}"
        );
    }
}

#[test]
fn sqlite_targets() {
    let cases = [
        ("sqlite://", SqliteTarget::Memory),
        ("sqlite:///", SqliteTarget::Memory),
        ("sqlite:///:memory:", SqliteTarget::Memory),
        (
            "sqlite:///relative.db",
            SqliteTarget::File(PathBuf::from("relative.db")),
        ),
        (
            "sqlite:///sub/app.db",
            SqliteTarget::File(PathBuf::from("sub/app.db")),
        ),
        (
            "sqlite:////abs/path.db",
            SqliteTarget::File(PathBuf::from("/abs/path.db")),
        ),
        (
            "sqlite:///with%20space.db",
            SqliteTarget::File(PathBuf::from("with space.db")),
        ),
    ];
    for (text, target) in cases {
        assert_eq!(
            DatabaseUrl::parse(text).unwrap().sqlite_target(),
            Some(target),
            "{text}"
        );
    }
    assert_eq!(
        DatabaseUrl::parse("postgresql://h/d")
            .unwrap()
            .sqlite_target(),
        None
    );
}

#[test]
fn unmasked_round_trips() {
    let text =
        "postgresql+psycopg2://scott:p%40ss%3Aw%2Frd@db.example.com:6543/test?sslmode=require";
    let url = DatabaseUrl::parse(text).unwrap();
    assert_eq!(
        url.unmasked(),
        "postgresql+psycopg2://scott:p%40ss%3Aw%2Frd@db.example.com:6543/test?sslmode=require"
    );
    assert_eq!(DatabaseUrl::parse(&url.unmasked()).unwrap(), url);
}

#[test]
fn scrub_hides_the_password_in_driver_messages() {
    let url = DatabaseUrl::parse("postgresql://scott:p%40ssw0rd@localhost/test").unwrap();
    assert_eq!(
        url.scrub("FATAL: bad login 'p@ssw0rd' (p%40ssw0rd)"),
        "FATAL: bad login '***' (***)"
    );
    // Too short to hide without garbling the message.
    let short = DatabaseUrl::parse("postgresql://scott:ab@localhost/test").unwrap();
    assert_eq!(short.scrub("about a table"), "about a table");
}

// One test owns DATABASE_URL: the environment is shared by the whole process.
#[test]
fn database_url_in_the_environment_wins_over_the_config() {
    std::env::remove_var("DATABASE_URL");
    let from_ini = DatabaseUrl::from_config(Some("sqlite:///ini.db")).unwrap();
    assert_eq!(from_ini.database.as_deref(), Some("ini.db"));
    assert!(matches!(
        DatabaseUrl::from_config(None),
        Err(DbError::NoUrl)
    ));

    std::env::set_var("DATABASE_URL", "postgresql://scott:tiger@envhost/envdb");
    let from_env = DatabaseUrl::from_config(Some("sqlite:///ini.db")).unwrap();
    assert_eq!(from_env.masked(), "postgresql://scott:***@envhost/envdb");
    assert_eq!(DatabaseUrl::from_config(None).unwrap(), from_env);

    // An empty variable counts as unset.
    std::env::set_var("DATABASE_URL", "");
    assert_eq!(
        DatabaseUrl::from_config(Some("sqlite:///ini.db")).unwrap(),
        from_ini
    );
    std::env::remove_var("DATABASE_URL");
}
