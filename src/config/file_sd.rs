//! File-based service discovery files: JSON or YAML lists of target groups
//! (`[{targets: [...], labels: {...}}]`), and expansion of `file_sd_configs.files` patterns
//! (a `*` is allowed in the last path element only). Does not watch files; the scrape manager
//! re-reads them on change or every `refresh_interval`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;
use crate::ingest::remote::write::is_valid_label_name;

/// The label file SD adds to every target: the file it came from.
pub const META_FILEPATH: &str = "__meta_filepath";

/// A group of targets sharing labels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetGroup {
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub targets: Vec<String>,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub labels: BTreeMap<String, String>,
    /// Where the group came from (file path and index), for identity across reloads.
    #[serde(skip)]
    pub source: String,
}

/// Parses one file SD file; the format follows the extension (.json, or .yml/.yaml). Every
/// group gets `__meta_filepath`.
pub fn parse_file_sd(path: &Path, content: &[u8]) -> Result<Vec<TargetGroup>, ConfigError> {
    let name = path.display().to_string();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let mut groups: Vec<TargetGroup> = match ext.as_str() {
        "json" => serde_json::from_slice(content)
            .map_err(|e| ConfigError::Syntax { path: name.clone(), message: e.to_string() })?,
        "yml" | "yaml" => {
            let text = std::str::from_utf8(content).map_err(|e| ConfigError::Syntax {
                path: name.clone(),
                message: format!("not UTF-8: {e}"),
            })?;
            if text.trim().is_empty() {
                Vec::new()
            } else {
                serde_saphyr::from_str(text)
                    .map_err(|e| ConfigError::Syntax { path: name.clone(), message: e.to_string() })?
            }
        }
        _ => {
            return Err(ConfigError::Invalid {
                path: name.clone(),
                message: "file discovery files must end in .json, .yml or .yaml".into(),
            });
        }
    };
    for (i, g) in groups.iter_mut().enumerate() {
        for l in g.labels.keys() {
            if !is_valid_label_name(l) {
                return Err(ConfigError::Invalid {
                    path: name.clone(),
                    message: format!("group {i}: {l:?} is not a valid label name"),
                });
            }
        }
        // Addresses are checked after relabeling (which may rewrite a URL-like target).
        if let Some(t) = g.targets.iter().find(|t| t.is_empty()) {
            return Err(ConfigError::Invalid {
                path: name.clone(),
                message: format!("group {i}: {t:?} is not a valid target address"),
            });
        }
        g.labels.insert(META_FILEPATH.into(), name.clone());
        g.source = format!("{name}:{i}");
    }
    Ok(groups)
}

/// The files a `file_sd_configs.files` entry names now: the path itself, or the matches of a
/// `*` pattern in its last element, sorted. Relative paths are taken from `base_dir` (the
/// directory of the configuration file).
pub fn expand_pattern(base_dir: &Path, pattern: &str) -> std::io::Result<Vec<PathBuf>> {
    let full = base_dir.join(pattern);
    let Some(file) = full.file_name().and_then(|f| f.to_str()).map(str::to_string) else {
        return Ok(Vec::new());
    };
    if !file.contains('*') {
        return Ok(if full.exists() { vec![full] } else { Vec::new() });
    }
    let dir = full.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let (prefix, suffix) = file.split_once('*').unwrap_or((&file, ""));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(n) = name.to_str() else { continue };
        if n.len() >= prefix.len() + suffix.len()
            && n.starts_with(prefix)
            && n.ends_with(suffix)
            && !n.starts_with('.')
        {
            out.push(dir.join(n));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_groups() {
        let json = br#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}]"#;
        let g = parse_file_sd(Path::new("/sd/t.json"), json).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].targets, ["a:1", "b:2"]);
        assert_eq!(g[0].labels.get("env").map(String::as_str), Some("prod"));
        assert_eq!(g[1].labels.get(META_FILEPATH).map(String::as_str), Some("/sd/t.json"));
        assert_eq!(g[1].source, "/sd/t.json:1");
        let yaml = b"- targets: ['x:9100']\n  labels:\n    team: db\n";
        let g = parse_file_sd(Path::new("t.yml"), yaml).unwrap();
        assert_eq!(g[0].targets, ["x:9100"]);
        assert!(parse_file_sd(Path::new("t.yaml"), b"").unwrap().is_empty());
    }

    #[test]
    fn bad_files() {
        let e = parse_file_sd(Path::new("t.json"), br#"[{"targets": ["a:1"], "labels": {"1x": "v"}}]"#)
            .unwrap_err();
        assert!(e.to_string().contains("\"1x\" is not a valid label name"), "{e}");
        let e = parse_file_sd(Path::new("t.json"), br#"[{"targetz": []}]"#).unwrap_err();
        assert!(e.to_string().contains("targetz"), "{e}");
        let e = parse_file_sd(Path::new("t.yml"), b"- targets: [a:1]\n  extra: 1\n").unwrap_err();
        assert!(e.to_string().contains("extra"), "{e}");
        assert!(parse_file_sd(Path::new("t.txt"), b"[]").is_err());
        assert!(parse_file_sd(Path::new("t.json"), br#"[{"targets": [""]}]"#).is_err());
        assert!(parse_file_sd(Path::new("t.json"), br#"[{"targets": ["https://probe.me"]}]"#).is_ok());
    }

    #[test]
    fn patterns_expand_in_the_last_element() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.json", "b.json", "c.yml", ".hidden.json"] {
            std::fs::write(dir.path().join(f), "[]").unwrap();
        }
        let got = expand_pattern(dir.path(), "*.json").unwrap();
        let names: Vec<_> =
            got.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_string()).collect();
        assert_eq!(names, ["a.json", "b.json"]);
        assert_eq!(expand_pattern(dir.path(), "c.yml").unwrap().len(), 1);
        assert!(expand_pattern(dir.path(), "missing.yml").unwrap().is_empty());
    }
}
