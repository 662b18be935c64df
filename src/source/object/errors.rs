//! object_store's errors as one line a person can act on: which store, which operation on which
//! bucket and key, and what to do: the credentials to set when there are none, the permission
//! an operation needs when it is denied (a static table per cloud), a missing bucket. Signed
//! URLs and SAS tokens that an error may carry are redacted first.

use super::settings::StoreSettings;
use super::url::{Cloud, ObjectUrl};

/// What was being done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Building the client (configuration).
    Connect,
    /// Listing a prefix.
    List,
    /// Reading an object (or part of it).
    Get,
    /// Writing an object.
    Put,
}

impl Op {
    fn word(self) -> &'static str {
        match self {
            Op::Connect => "CONNECT",
            Op::List => "LIST",
            Op::Get => "GET",
            Op::Put => "PUT",
        }
    }
}

/// The permission `op` needs on `cloud` (the least-privilege grant to ask for).
pub fn permission(cloud: Cloud, op: Op) -> &'static str {
    match (cloud, op) {
        (Cloud::S3, Op::List) => "s3:ListBucket",
        (Cloud::S3, Op::Get | Op::Connect) => "s3:GetObject",
        (Cloud::S3, Op::Put) => "s3:PutObject",
        (Cloud::Gcs, Op::List) => "storage.objects.list (roles/storage.objectViewer)",
        (Cloud::Gcs, Op::Get | Op::Connect) => "storage.objects.get (roles/storage.objectViewer)",
        (Cloud::Gcs, Op::Put) => "storage.objects.create (roles/storage.objectCreator)",
        (Cloud::Azure, Op::List) => {
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read (Storage Blob Data Reader)"
        }
        (Cloud::Azure, Op::Get | Op::Connect) => {
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read (Storage Blob Data Reader)"
        }
        (Cloud::Azure, Op::Put) => {
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write (Storage Blob Data Contributor)"
        }
    }
}

/// What to set when a cloud finds no credentials (`AWS_PROFILE` read from the environment).
fn credentials_hint(cloud: Cloud) -> String {
    hint_for(cloud, std::env::var_os("AWS_PROFILE").is_some())
}

/// [`credentials_hint`], given whether `AWS_PROFILE` is set.
fn hint_for(cloud: Cloud, aws_profile: bool) -> String {
    match cloud {
        Cloud::S3 => {
            let mut hint = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the store's access_key_id_env / \
                            secret_access_key_env), or run where web identity (IRSA), container credentials (EKS \
                            Pod Identity, ECS) or instance metadata provide them"
                .to_owned();
            if aws_profile {
                hint.push_str(
                    "; AWS_PROFILE is set but profiles, SSO and credential_process are not read: run \
                     eval \"$(aws configure export-credentials --format env)\" first",
                );
            }
            hint
        }
        Cloud::Gcs => "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file (or the store's \
                       service_account_key_env / service_account_path), or run with GKE workload identity"
            .to_owned(),
        Cloud::Azure => "set AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_KEY (or \
                         the store's account and access_key_env / sas_token_env), or run with a managed or \
                         workload identity"
            .to_owned(),
    }
}

/// Whether `e` (anywhere in its chain, or flattened into a file's one line) says the object
/// changed since it was listed: a GET pinned to the listed ETag answered 412.
pub fn is_replaced(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<Replaced>().is_some()
            || c.downcast_ref::<crate::source::FileError>().is_some_and(|f| f.replaced)
    })
}

/// The object changed between its listing and a read (its ETag differs).
#[derive(Debug)]
pub struct Replaced(pub String);

impl std::fmt::Display for Replaced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Replaced {}

/// One line for `e`, raised while doing `op` on `url` with `store`.
pub fn explain(op: Op, url: &ObjectUrl, store: &StoreSettings, e: object_store::Error) -> anyhow::Error {
    let text = redact(&format!("{e}"));
    tracing::debug!(operation = op.word(), url = %url, error = %text, "object store error");
    let lower = text.to_ascii_lowercase();
    let what = format!("{url}: {} via {}", op.word(), store.shown());
    let word = url.cloud.bucket_word();
    match &e {
        object_store::Error::Precondition { .. } => {
            return Replaced(format!(
                "{url}: the object was replaced since it was listed (its ETag changed); it is read again as a \
                 new version"
            ))
            .into();
        }
        // A 403 can be a refused signature (a wrong key) rather than a missing permission.
        _ if ["invalidaccesskeyid", "signaturedoesnotmatch", "authenticationfailed", "failed to authenticate"]
            .iter()
            .any(|m| lower.contains(m)) =>
        {
            return anyhow::anyhow!("{what}: the credentials were refused: {}", credentials_hint(url.cloud));
        }
        object_store::Error::PermissionDenied { .. } => return denied(&what, op, url),
        object_store::Error::Unauthenticated { .. } => {
            return anyhow::anyhow!("{what}: the credentials were refused (401): {}", credentials_hint(url.cloud));
        }
        _ => {}
    }
    if lower.contains("nosuchbucket") || lower.contains("containernotfound") || lower.contains("bucket does not exist")
    {
        return anyhow::anyhow!(
            "{what}: no such {word} {:?}; check the URL and the store's region/endpoint",
            url.bucket
        );
    }
    if lower.contains("accessdenied") || lower.contains("authorizationpermissionmismatch") || lower.contains(" 403") {
        return denied(&what, op, url);
    }
    // The credential providers of last resort are metadata servers (EC2's IMDS, GCP's, Azure's
    // managed identity): asked when nothing else gave credentials, and unreachable off-cloud.
    let metadata = ["/latest/api/token", "/latest/meta-data/", "computemetadata/", "/metadata/identity/oauth2/token"];
    if lower.contains("credential")
        || lower.contains("instance metadata")
        || metadata.iter().any(|m| lower.contains(m))
        || lower.contains("token") && op == Op::Connect
    {
        return anyhow::anyhow!("{what}: no usable credentials: {}", credentials_hint(url.cloud));
    }
    if let object_store::Error::NotFound { .. } = e {
        return anyhow::anyhow!("{url}: no such object");
    }
    anyhow::anyhow!("{what}: {text}")
}

/// A 403: without a body (a HEAD) it cannot tell a refused key from a missing permission, so
/// it names both.
fn denied(what: &str, op: Op, url: &ObjectUrl) -> anyhow::Error {
    anyhow::anyhow!(
        "{what}: access denied (403): the credentials were refused or lack {} on {} {:?}{}; check them and grant \
         that permission",
        permission(url.cloud, op),
        url.cloud.bucket_word(),
        url.bucket,
        key_part(url)
    )
}

fn key_part(url: &ObjectUrl) -> String {
    if url.key.is_empty() { String::new() } else { format!(", key {:?}", url.key) }
}

/// Query strings (signed URLs, SAS tokens) and signature-like parameters cut out of `text`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // A URL's query (`?...` up to a space or quote) is where signatures and SAS tokens live.
    while let Some(i) = rest.find('?') {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let end = after.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>')).unwrap_or(after.len());
        if before.contains("://") || after[..end].contains('=') {
            out.push_str("?<redacted>");
        } else {
            out.push_str(&after[..end]);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    for marker in ["sig=", "Signature=", "X-Amz-Security-Token=", "SharedKey "] {
        while let Some(i) = out.find(marker) {
            let start = i + marker.len();
            let end = out[start..]
                .find(|c: char| c.is_whitespace() || matches!(c, '&' | '"' | ','))
                .map_or(out.len(), |e| start + e);
            if out[start..end] == *"<redacted>" {
                break;
            }
            out.replace_range(start..end, "<redacted>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_and_sas_tokens_are_redacted() {
        let e = "error sending request for url (https://acct.blob.core.windows.net/c/x.parquet?sv=2021&sig=AbC%2Fsecret) \
                 at Authorization: SharedKey acct:c2VjcmV0 more";
        let r = redact(e);
        assert!(!r.contains("AbC"), "{r}");
        assert!(!r.contains("c2VjcmV0"), "{r}");
        assert!(r.contains("x.parquet?<redacted>"), "{r}");
        assert_eq!(redact("what? nothing here"), "what? nothing here");
    }

    #[test]
    fn with_aws_profile_set_the_hint_says_how_to_export_its_credentials() {
        let export = "eval \"$(aws configure export-credentials --format env)\"";
        let with = hint_for(Cloud::S3, true);
        assert!(with.contains(export) && with.contains("AWS_PROFILE is set"), "{with}");
        assert!(with.starts_with("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), "{with}");
        assert!(!hint_for(Cloud::S3, false).contains("AWS_PROFILE"));
        assert!(!hint_for(Cloud::Gcs, true).contains("AWS_PROFILE"), "only for AWS");
    }

    #[test]
    fn every_operation_names_a_permission_per_cloud() {
        for cloud in [Cloud::S3, Cloud::Gcs, Cloud::Azure] {
            for op in [Op::List, Op::Get, Op::Put] {
                assert!(!permission(cloud, op).is_empty());
            }
        }
        assert_eq!(permission(Cloud::S3, Op::List), "s3:ListBucket");
        assert_eq!(permission(Cloud::S3, Op::Get), "s3:GetObject");
    }
}
