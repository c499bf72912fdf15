//! Prometheus configuration keys Cairn does not act on, and what it does with each: a key whose
//! absence of effect a user would not notice is accepted with a warning naming its line
//! ([`Accepted`] fields, checked by `warn_ignored_keys`); a key whose absence of effect would
//! silently change what is scraped or sent (other service discovery, proxies, OAuth 2) is a
//! startup error explaining that Cairn does not support it ([`explain_unknown_field`] rewrites
//! serde's "unknown field" for those). Every other unknown key stays a plain error.

use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::Config;

/// A key accepted for compatibility and not acted on; present = the user wrote it.
pub type Accepted = Option<Spanned<IgnoredAny>>;

/// Service discovery mechanisms of Prometheus other than `static_configs` and `file_sd_configs`.
pub const OTHER_SD: &[&str] = &[
    "azure_sd_configs",
    "consul_sd_configs",
    "digitalocean_sd_configs",
    "docker_sd_configs",
    "dockerswarm_sd_configs",
    "dns_sd_configs",
    "ec2_sd_configs",
    "eureka_sd_configs",
    "gce_sd_configs",
    "hetzner_sd_configs",
    "http_sd_configs",
    "ionos_sd_configs",
    "kubernetes_sd_configs",
    "kuma_sd_configs",
    "lightsail_sd_configs",
    "linode_sd_configs",
    "marathon_sd_configs",
    "nerve_sd_configs",
    "nomad_sd_configs",
    "openstack_sd_configs",
    "ovhcloud_sd_configs",
    "puppetdb_sd_configs",
    "scaleway_sd_configs",
    "serverset_sd_configs",
    "stackit_sd_configs",
    "triton_sd_configs",
    "uyuni_sd_configs",
    "vultr_sd_configs",
];

/// Keys refused with a reason (besides [`OTHER_SD`]).
const REJECTED: &[(&str, &str)] = &[
    ("oauth2", "OAuth 2.0 client credentials are not implemented; use authorization or basic_auth"),
    ("proxy_url", "HTTP proxies are not implemented; Cairn connects to targets directly"),
    ("no_proxy", "HTTP proxies are not implemented; Cairn connects to targets directly"),
    ("proxy_from_environment", "HTTP proxies are not implemented; Cairn connects to targets directly"),
    ("proxy_connect_header", "HTTP proxies are not implemented; Cairn connects to targets directly"),
    ("http_headers", "custom request headers are not implemented"),
    ("sigv4", "AWS SigV4 signing is not implemented"),
];

/// Why Cairn refuses `key`, if it is a Prometheus key Cairn knows and does not support.
pub fn rejection(key: &str) -> Option<String> {
    if OTHER_SD.contains(&key) {
        return Some(format!(
            "{key} is a Prometheus service discovery Cairn does not support \
             (only static_configs and file_sd_configs; generate a file_sd file instead)"
        ));
    }
    REJECTED.iter().find(|(k, _)| *k == key).map(|(k, why)| format!("{k} is not supported by Cairn: {why}"))
}

/// Rewrites serde's `unknown field `X`, expected ...` into an explanation when `X` is a
/// Prometheus key Cairn knowingly does not support; the position prefix stays.
pub fn explain_unknown_field(message: String) -> String {
    let Some(start) = message.find("unknown field `") else { return message };
    let rest = &message[start + "unknown field `".len()..];
    let Some(end) = rest.find('`') else { return message };
    let key = &rest[..end];
    let Some(why) = rejection(key) else { return message };
    // The explanation replaces the field message up to the end of its line.
    let tail_start = start + "unknown field `".len() + end + 1;
    let line_end = message[tail_start..].find('\n').map_or(message.len(), |i| tail_start + i);
    format!("{}{why}{}", &message[..start], &message[line_end..])
}

/// Adds a warning for `field` if the file sets it.
pub fn warn_accepted(warnings: &mut Vec<String>, field: &Accepted, key: &str, whose: &str, why: &str) {
    if let Some(s) = field {
        warnings.push(format!("line {}: {whose}{key} is accepted but ignored: {why}", s.referenced.line()));
    }
}

/// Warnings (into `cfg.warnings`) for keys Prometheus has and Cairn accepts without acting on.
pub(super) fn warn_ignored_keys(cfg: &mut Config) {
    let w = &mut cfg.warnings;
    warn_accepted(w, &cfg.tracing, "tracing", "", "Cairn exports no traces");
    warn_accepted(w, &cfg.storage.exemplars, "storage.exemplars", "", "Cairn stores no exemplars");
    let g = &cfg.global;
    for (f, k, why) in [
        (&g.target_limit, "target_limit", "the number of targets is not limited"),
        (&g.keep_dropped_targets, "keep_dropped_targets", "all dropped targets are kept"),
        (&g.scrape_failure_log_file, "scrape_failure_log_file", "Cairn writes no scrape failure log"),
        (&g.metric_name_validation_scheme, "metric_name_validation_scheme", "Cairn accepts UTF-8 names"),
        (&g.metric_name_escaping_scheme, "metric_name_escaping_scheme", "names are not escaped"),
        (
            &g.always_scrape_classic_histograms,
            "always_scrape_classic_histograms",
            "classic histograms are always scraped",
        ),
        (
            &g.convert_classic_histograms_to_nhcb,
            "convert_classic_histograms_to_nhcb",
            "Cairn has no native histograms",
        ),
    ] {
        warn_accepted(w, f, k, "global.", why);
    }
    for sc in &cfg.scrape_configs {
        let whose = format!("job {:?}: ", sc.job());
        for (f, k, why) in [
            (&sc.target_limit, "target_limit", "the number of targets is not limited"),
            (&sc.keep_dropped_targets, "keep_dropped_targets", "all dropped targets are kept"),
            (
                &sc.native_histogram_bucket_limit,
                "native_histogram_bucket_limit",
                "Cairn has no native histograms",
            ),
            (
                &sc.native_histogram_min_bucket_factor,
                "native_histogram_min_bucket_factor",
                "Cairn has no native histograms",
            ),
            (
                &sc.scrape_classic_histograms,
                "scrape_classic_histograms",
                "classic histograms are always scraped",
            ),
            (
                &sc.always_scrape_classic_histograms,
                "always_scrape_classic_histograms",
                "classic histograms are always scraped",
            ),
            (
                &sc.convert_classic_histograms_to_nhcb,
                "convert_classic_histograms_to_nhcb",
                "Cairn has no native histograms",
            ),
            (&sc.scrape_failure_log_file, "scrape_failure_log_file", "Cairn writes no scrape failure log"),
            (&sc.metric_name_validation_scheme, "metric_name_validation_scheme", "Cairn accepts UTF-8 names"),
            (&sc.metric_name_escaping_scheme, "metric_name_escaping_scheme", "names are not escaped"),
        ] {
            warn_accepted(w, f, k, &whose, why);
        }
        if sc.track_timestamps_staleness {
            w.push(format!(
                "line {}: {whose}track_timestamps_staleness is accepted but ignored: samples with explicit timestamps get no stale markers",
                sc.line()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_known_keys_and_leaves_others() {
        let m =
            "error: line 3 column 5: unknown field `kubernetes_sd_configs`, expected one of `a`, `b`\n --> x";
        let e = explain_unknown_field(m.into());
        assert!(
            e.starts_with("error: line 3 column 5: kubernetes_sd_configs is a Prometheus service discovery"),
            "{e}"
        );
        assert!(e.ends_with("\n --> x"), "{e}");
        let m = "error: line 2 column 1: unknown field `scrape_intervall`, expected one of `a`";
        assert_eq!(explain_unknown_field(m.into()), m);
        assert!(rejection("oauth2").unwrap().contains("not supported"));
    }
}
