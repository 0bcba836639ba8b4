use std::collections::{BTreeMap, BTreeSet};

use kube::core::{Expression, Selector};

use super::LabelSelector;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn exprs(s: &str) -> Selector {
    LabelSelector::parse(s).unwrap().0
}

fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| v.to_string()).collect()
}

#[test]
fn empty_selects_everything() {
    assert!(LabelSelector::parse("").unwrap().is_empty());
    assert!(LabelSelector::parse("   ").unwrap().is_empty());
}

#[test]
fn every_operator_becomes_a_kube_core_expression() {
    let expected: Selector = [
        Expression::Equal("a".into(), "1".into()),
        Expression::Equal("b".into(), "2".into()),
        Expression::NotEqual("c".into(), "3".into()),
        Expression::In("d".into(), set(&["x", "y"])),
        Expression::NotIn("e".into(), set(&["z"])),
        Expression::Exists("f".into()),
        Expression::DoesNotExist("g".into()),
    ]
    .into_iter()
    .collect();
    assert_eq!(exprs("a=1,b==2,c!=3,d in (x,y),e notin (z),f,!g"), expected);
}

#[test]
fn requirements_are_sorted_by_key() {
    let expected: Selector = [
        Expression::Exists("a".into()),
        Expression::Equal("b".into(), "1".into()),
    ]
    .into_iter()
    .collect();
    assert_eq!(exprs("b=1,a"), expected);
}

#[test]
fn whitespace_and_keywords_as_values() {
    let expected: Selector = [Expression::In("x".into(), set(&["in", "notin"]))]
        .into_iter()
        .collect();
    assert_eq!(exprs(" x  in ( in , notin ) "), expected);
}

#[test]
fn empty_values() {
    assert_eq!(
        exprs("a="),
        [Expression::Equal("a".into(), String::new())]
            .into_iter()
            .collect()
    );
    assert_eq!(
        exprs("a in ()"),
        [Expression::In("a".into(), set(&[""]))]
            .into_iter()
            .collect()
    );
    assert_eq!(
        exprs("a in (,b)"),
        [Expression::In("a".into(), set(&["", "b"]))]
            .into_iter()
            .collect()
    );
    assert_eq!(
        exprs("a in (b,)"),
        [Expression::In("a".into(), set(&["", "b"]))]
            .into_iter()
            .collect()
    );
}

#[test]
fn matching_uses_label_semantics() {
    let sel = LabelSelector::parse("env!=prod,tier notin (db),!legacy").unwrap();
    assert!(sel.matches(&labels(&[])));
    assert!(sel.matches(&labels(&[("env", "dev")])));
    assert!(!sel.matches(&labels(&[("env", "prod")])));
    assert!(!sel.matches(&labels(&[("tier", "db")])));
    assert!(!sel.matches(&labels(&[("legacy", "")])));
    let sel = LabelSelector::parse("app in (a,b),x").unwrap();
    assert!(sel.matches(&labels(&[("app", "b"), ("x", "")])));
    assert!(!sel.matches(&labels(&[("app", "b")])));
}

#[test]
fn syntax_errors_carry_kube_text() {
    let err = |s: &str| LabelSelector::parse(s).unwrap_err();
    assert_eq!(
        err("a b"),
        "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
    );
    assert_eq!(err("a,"), "found '', expected: identifier after ','");
    assert_eq!(
        err("=a"),
        "found '=', expected: !, identifier, or 'end of string'"
    );
    assert_eq!(
        err("a in b"),
        "unable to parse requirement: found 'b' expected: '('"
    );
    assert_eq!(
        err("a in (b"),
        "unable to parse requirement: found '', expected: ',' or ')'"
    );
    assert_eq!(
        err("a in (b c)"),
        "unable to parse requirement: found 'c', expected: ',' or ')'"
    );
    assert_eq!(
        err("a (b)"),
        "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"
    );
    assert_eq!(
        err("a=(b)"),
        "unable to parse requirement: found '(', expected: identifier"
    );
    assert_eq!(err("!a=b"), "found '=', expected: ',' or 'end of string'");
}

#[test]
fn invalid_keys_and_values_are_refused_with_field_paths() {
    let err = LabelSelector::parse("-a=b").unwrap_err();
    assert!(
        err.starts_with(
            "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of"
        ),
        "{err}"
    );
    let err = LabelSelector::parse("a=b c").unwrap_err();
    assert_eq!(err, "found 'c', expected: ',' or 'end of string'");
    let err = LabelSelector::parse("app=-x").unwrap_err();
    assert!(
        err.starts_with("unable to parse requirement: values[0][app]: Invalid value: \"-x\": a valid label must be an empty string"),
        "{err}"
    );
    let long = "v".repeat(64);
    let err = LabelSelector::parse(&format!("a in (x,{long})")).unwrap_err();
    // Values are sorted before they are checked, as in kube.
    assert!(err.contains("values[0][a]: Invalid value"), "{err}");
    assert!(err.contains("must be no more than 63 bytes"), "{err}");
}

#[test]
fn numeric_comparisons_are_refused_not_mismatched() {
    let err = LabelSelector::parse("replicas>1").unwrap_err();
    assert!(err.contains("\"gt\" is not supported"), "{err}");
}
