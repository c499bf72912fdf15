//! Relabeling tests: each action on the cases of Prometheus's relabel semantics, validation
//! messages, and YAML loading with defaults.

use cairn_format::Labels;

use super::*;

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn yaml(text: &str) -> Vec<RelabelConfig> {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

fn yaml_err(text: &str) -> String {
    match serde_saphyr::from_str::<Vec<RelabelConfig>>(text) {
        Ok(c) => panic!("accepted {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn replace_with_captures_and_separator() {
    let input = l(&[("a", "foo"), ("b", "bar"), ("c", "baz")]);
    let c = yaml("- source_labels: [a]\n  regex: f(.*)\n  target_label: d\n  replacement: ch${1}-ch${1}\n");
    assert_eq!(relabel(&input, &c), Some(l(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "choo-choo")])));
    let c =
        yaml("- source_labels: [a, b]\n  regex: f(.*);(.*)r\n  target_label: a\n  replacement: b${1}${2}m\n");
    assert_eq!(relabel(&input, &c), Some(l(&[("a", "boobam"), ("b", "bar"), ("c", "baz")])));
    let c = yaml(
        "- source_labels: [a, b]\n  separator: '|'\n  regex: '(.*)\\|(.*)'\n  target_label: e\n  replacement: $2-$1\n",
    );
    assert_eq!(relabel(&input, &c).unwrap().get("e"), Some("bar-foo"));
}

#[test]
fn replace_edge_cases() {
    let input = l(&[("a", "foo")]);
    // No match: nothing happens (the regex is anchored, so "o" does not match "foo").
    assert_eq!(
        relabel(&input, &yaml("- source_labels: [a]\n  regex: o\n  target_label: b\n")),
        Some(input.clone())
    );
    // Empty result deletes the target label.
    let c = yaml("- source_labels: [x]\n  target_label: a\n");
    assert_eq!(relabel(&input, &c), Some(Labels::empty()));
    // Target expanding to an invalid name: nothing happens.
    let odd = l(&[("a", "some-name-value")]);
    let c = yaml("- source_labels: [a]\n  regex: (.*)\n  target_label: ${1}\n  replacement: x\n");
    assert_eq!(relabel(&odd, &c), Some(odd.clone()));
    // Target built from a capture.
    let c = yaml("- source_labels: [a]\n  regex: (f)(.*)\n  target_label: ${1}${2}_x\n  replacement: $2\n");
    assert_eq!(relabel(&input, &c).unwrap().get("foo_x"), Some("oo"));
    // `$1_x` names group "1_x" (Go's rule): it expands to nothing.
    let c = yaml("- source_labels: [a]\n  target_label: b\n  replacement: $1_x\n");
    assert_eq!(relabel(&input, &c), Some(input.clone()));
    // `.` matches newline.
    let nl = l(&[("a", "x\ny")]);
    assert_eq!(relabel(&nl, &yaml("- source_labels: [a]\n  regex: x.y\n  action: drop\n")), None);
}

#[test]
fn keep_drop_and_equal_variants() {
    let input = l(&[("a", "foo"), ("b", "foo"), ("c", "bar")]);
    assert_eq!(relabel(&input, &yaml("- source_labels: [a]\n  regex: '.*o.*'\n  action: drop\n")), None);
    assert_eq!(
        relabel(&input, &yaml("- source_labels: [a]\n  regex: 'f.*'\n  action: keep\n")),
        Some(input.clone())
    );
    assert_eq!(relabel(&input, &yaml("- source_labels: [a]\n  regex: 'no-match'\n  action: keep\n")), None);
    // Keep on a missing label matches the empty string.
    assert_eq!(
        relabel(&input, &yaml("- source_labels: [z]\n  regex: ''\n  action: keep\n")),
        Some(input.clone())
    );
    assert_eq!(
        relabel(&input, &yaml("- source_labels: [a]\n  target_label: b\n  action: keepequal\n")),
        Some(input.clone())
    );
    assert_eq!(
        relabel(&input, &yaml("- source_labels: [a]\n  target_label: c\n  action: keepequal\n")),
        None
    );
    assert_eq!(
        relabel(&input, &yaml("- source_labels: [a]\n  target_label: b\n  action: dropequal\n")),
        None
    );
    assert_eq!(
        relabel(&input, &yaml("- source_labels: [a]\n  target_label: c\n  action: DropEqual\n")),
        Some(input.clone())
    );
}

#[test]
fn hashmod_matches_prometheus() {
    let input = l(&[("a", "foo"), ("b", "bar"), ("c", "baz")]);
    let c = yaml("- source_labels: [c]\n  target_label: d\n  modulus: 1000\n  action: hashmod\n");
    assert_eq!(relabel(&input, &c).unwrap().get("d"), Some("976"));
    let c = yaml("- source_labels: [a]\n  target_label: d\n  modulus: 1000\n  action: hashmod\n");
    assert_eq!(relabel(&input, &c).unwrap().get("d"), Some("696"));
}

#[test]
fn label_actions() {
    let input = l(&[("__meta_x", "1"), ("__meta_y", "2"), ("job", "j"), ("b1", "v"), ("b2", "w")]);
    let c = yaml("- regex: __meta_(.+)\n  action: labelmap\n");
    let out = relabel(&input, &c).unwrap();
    assert_eq!((out.get("x"), out.get("y"), out.get("__meta_x")), (Some("1"), Some("2"), Some("1")));
    let c = yaml("- regex: __meta_(.+)\n  replacement: m_$1\n  action: labelmap\n");
    assert_eq!(relabel(&input, &c).unwrap().get("m_y"), Some("2"));
    let c = yaml("- regex: b.\n  action: labeldrop\n");
    assert_eq!(relabel(&input, &c), Some(l(&[("__meta_x", "1"), ("__meta_y", "2"), ("job", "j")])));
    let c = yaml("- regex: b.|job\n  action: labelkeep\n");
    assert_eq!(relabel(&input, &c), Some(l(&[("b1", "v"), ("b2", "w"), ("job", "j")])));
    let c = yaml(
        "- source_labels: [job, b1]\n  target_label: up\n  action: uppercase\n- source_labels: [up]\n  target_label: low\n  action: lowercase\n",
    );
    let out = relabel(&input, &c).unwrap();
    assert_eq!((out.get("up"), out.get("low")), (Some("J;V"), Some("j;v")));
}

#[test]
fn defaults_from_yaml() {
    let c = &yaml("- target_label: x\n")[0];
    assert_eq!(c.action, Action::Replace);
    assert_eq!((c.separator.as_str(), c.regex.as_str(), c.replacement.as_str()), (";", "(.*)", "$1"));
    assert_eq!(c.modulus, 0);
    assert!(c.source_labels.is_empty());
}

#[test]
fn validation_messages() {
    assert!(
        yaml_err("- source_labels: [a]\n  action: hashmod\n  target_label: b\n")
            .contains("requires non-zero modulus")
    );
    assert!(yaml_err("- source_labels: [a]\n").contains("replace action requires 'target_label' value"));
    assert!(
        yaml_err("- source_labels: [a]\n  target_label: 0abc\n")
            .contains("\"0abc\" is invalid 'target_label' for replace action")
    );
    assert!(
        yaml_err("- source_labels: [a]\n  target_label: b\n  replacement: x\n  action: lowercase\n")
            .contains("'replacement' can not be set for lowercase action")
    );
    assert!(
        yaml_err("- regex: x\n  replacement: 1bad\n  action: labelmap\n")
            .contains("is invalid 'replacement' for labelmap action")
    );
    assert!(
        yaml_err("- source_labels: [a]\n  regex: x\n  action: labeldrop\n")
            .contains("labeldrop action requires only 'regex'")
    );
    assert!(
        yaml_err("- source_labels: [a]\n  target_label: b\n  regex: x\n  action: keepequal\n")
            .contains("keepequal action requires only 'source_labels'")
    );
    assert!(yaml_err("- action: explode\n").contains("unknown relabel action \"explode\""));
    assert!(
        yaml_err("- source_labels: [a]\n  regex: '(('\n  action: drop\n").contains("invalid regex \"((\"")
    );
    assert!(
        yaml_err("- source_labels: ['1a']\n  action: drop\n").contains("\"1a\" is not a valid label name")
    );
    assert!(yaml_err("- source_labels: [a]\n  action: drop\n  colour: red\n").contains("colour"));
}
