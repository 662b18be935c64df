//! Credentials an S3 server refuses, against moto with its IAM checks on (`POST
//! /moto-api/reset-auth` with `0`: every later request is authenticated and authorized): an
//! unknown key, and IAM users (made through moto's IAM API with the boto3 beside moto_server)
//! lacking the permission of each operation. Each is one line naming the store, the operation,
//! the bucket and key and what to do, and no secret.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::objects::{Moto, drift_env};
use crate::support::s;

/// The Python beside moto_server (its venv has boto3); `None` outside CI when moto is missing.
fn moto_python() -> PathBuf {
    let server = std::env::var_os("DRIFT_MOTO_SERVER").map(PathBuf::from);
    server
        .and_then(|p| p.parent().map(|d| d.join("python")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Makes IAM users with access keys through moto's IAM API, each with an inline policy
/// allowing `actions` (none: no policy); returns (access key id, secret) per user, in order.
fn iam_users(moto: &Moto, users: &[(&str, &[&str])]) -> Vec<(String, String)> {
    let script = r#"
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
for spec in sys.argv[2:]:
    name, _, actions = spec.partition(":")
    iam.create_user(UserName=name)
    if actions:
        doc = {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": actions.split(","), "Resource": "*"}]}
        iam.put_user_policy(UserName=name, PolicyName="drift", PolicyDocument=json.dumps(doc))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    print(key["AccessKeyId"], key["SecretAccessKey"])
"#;
    let specs: Vec<String> = users.iter().map(|(n, a)| format!("{n}:{}", a.join(","))).collect();
    let out = Command::new(moto_python()).arg("-c").arg(script).arg(&moto.endpoint).args(&specs).output().unwrap();
    assert!(out.status.success(), "IAM users: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// Turns moto's authentication and authorization on from the next request.
fn enforce_auth(moto: &Moto) {
    use std::io::{Read, Write};
    let port: u16 = moto.endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(c, "POST /moto-api/reset-auth HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 1\r\n\r\n0").unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    assert!(answer.contains(" 200 "), "{answer}");
}

/// A daemon file with one store for bucket `auth`, its keys from `AUTH_KEY` / `AUTH_SECRET`.
fn config(dir: &Path, moto: &Moto) -> PathBuf {
    let config = dir.join("drift.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"state\"\n\n[stores.auth]\nurl = \"s3://auth\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\n\
             allow_http = true\nmax_retries = 1\naccess_key_id_env = \"AUTH_KEY\"\n\
             secret_access_key_env = \"AUTH_SECRET\"\n",
            moto.endpoint
        ),
    )
    .unwrap();
    config
}

/// Runs drift with the store's keys; returns (exit code, stderr), checking the error is one
/// line without the secret.
fn refused(args: &[&str], (key, secret): &(String, String)) -> (Option<i32>, String) {
    let out = drift_env(args, &[("AUTH_KEY", key.clone()), ("AUTH_SECRET", secret.clone())]);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!err.contains(secret.as_str()), "no secret in the error: {err}");
    (out.status.code(), err)
}

#[test]
fn refused_credentials_and_missing_permissions_are_one_line_naming_what_to_set_or_grant() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("auth");
    let dir = tempfile::tempdir().unwrap();
    let file = crate::support::write(
        dir.path(),
        "in/part-0.parquet",
        vec![("x", std::sync::Arc::new(arrow_array::Float64Array::from(vec![1.0, 2.0, 3.0])) as _)],
    );
    // At the bucket's root: with its IAM checks on, moto 5.2.1 refuses the signature of a
    // listing with a prefix (SignatureDoesNotMatch) that real S3 accepts.
    moto.put(&moto.store("auth"), "part-0.parquet", std::fs::read(&file).unwrap());
    let keys = iam_users(
        &moto,
        &[("nobody", &[]), ("lister", &["s3:ListBucket"]), ("reader", &["s3:ListBucket", "s3:GetObject"])],
    );
    enforce_auth(&moto);
    let config = config(dir.path(), &moto);
    let check = ["check", "--config", s(&config), "-r", "s3://auth/", "-c", s(&file)];

    // A key the server does not know: the store and what to set.
    let wrong = ("AKIAIOSFODNN7WRONGKY".to_owned(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY".to_owned());
    let (code, err) = refused(&check, &wrong);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("s3://auth: LIST via [stores.auth]: the credentials were refused"), "{err}");
    assert!(err.contains("access_key_id_env / secret_access_key_env"), "what to set: {err}");

    // A user without any policy: the listing's permission.
    let (code, err) = refused(&check, &keys[0]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("s3://auth: LIST via [stores.auth]: access denied (403)"), "{err}");
    assert!(err.contains("lack s3:ListBucket on bucket \"auth\""), "{err}");

    // Allowed to list, not to read: the GET's permission and the key.
    let (code, err) = refused(&check, &keys[1]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("s3://auth/part-0.parquet: GET via [stores.auth]: access denied (403)"), "{err}");
    assert!(err.contains("lack s3:GetObject on bucket \"auth\", key \"part-0.parquet\""), "{err}");

    // Allowed to read, not to write: the PUT's permission.
    let (code, err) = allowed(&check, &keys[2]);
    assert!(code.is_some_and(|c| c <= 1), "{err}");
    let build = ["reference", "build", "--config", s(&config), "-i", "s3://auth/", "-o", "s3://auth/snap/ref.drift"];
    let (code, err) = refused(&build, &keys[2]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("s3://auth/snap/ref.drift: PUT via [stores.auth]: access denied (403)"), "{err}");
    assert!(err.contains("lack s3:PutObject on bucket \"auth\", key \"snap/ref.drift\""), "{err}");
}

/// Runs drift with the store's keys, expecting it to get through.
fn allowed(args: &[&str], (key, secret): &(String, String)) -> (Option<i32>, String) {
    let out = drift_env(args, &[("AUTH_KEY", key.clone()), ("AUTH_SECRET", secret.clone())]);
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}
