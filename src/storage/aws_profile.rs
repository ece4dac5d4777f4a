//! The shared AWS config files (`~/.aws/credentials`, `~/.aws/config`), for what
//! `object_store` does not read itself: static keys and the region of the profile named by
//! `AWS_PROFILE` (default `default`). Environment variables, web identity, container and
//! instance credentials are `object_store`'s own chain and take precedence.

use std::collections::HashMap;
use std::path::PathBuf;

/// Static keys of a profile.
pub struct ProfileCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

fn profile() -> String {
    std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_string())
}

fn aws_file(env: &str, name: &str) -> Option<PathBuf> {
    std::env::var_os(env)
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".aws").join(name)))
}

/// The `key = value` pairs of section `section` of an INI file.
fn section(text: &str, section: &str) -> HashMap<String, String> {
    let mut current = None::<String>;
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim().to_string());
            continue;
        }
        if current.as_deref() == Some(section) {
            if let Some((k, v)) = line.split_once('=') {
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    out
}

/// Keys of the profile in the credentials file, if it has them.
pub fn credentials() -> Option<ProfileCredentials> {
    let text =
        std::fs::read_to_string(aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")?).ok()?;
    let s = section(&text, &profile());
    Some(ProfileCredentials {
        access_key_id: s.get("aws_access_key_id")?.clone(),
        secret_access_key: s.get("aws_secret_access_key")?.clone(),
        session_token: s.get("aws_session_token").cloned(),
    })
}

/// The profile's region in the config file (`[default]` or `[profile NAME]`).
pub fn region() -> Option<String> {
    let text = std::fs::read_to_string(aws_file("AWS_CONFIG_FILE", "config")?).ok()?;
    let name = profile();
    let header = if name == "default" {
        name
    } else {
        format!("profile {name}")
    };
    section(&text, &header).get("region").cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_read_by_name() {
        let text = "[default]\nregion = us-west-2\n# x\n[profile dev]\nregion=eu-west-1\n";
        assert_eq!(section(text, "default")["region"], "us-west-2");
        assert_eq!(section(text, "profile dev")["region"], "eu-west-1");
        assert!(section(text, "other").is_empty());
    }
}
