use capstan::api::options::{GetOptions, ListOptions, ResourceVersionMatch, WriteOptions};
use capstan::api::selectors::fields::FieldSelector;
use capstan::api::selectors::labels::LabelSelector;
use capstan::registry::Rest;
use serde_json::json;

use crate::fixture::*;

fn labeled(name: &str, tier: &str) -> serde_json::Value {
    json!({"metadata": {"name": name, "labels": {"tier": tier}}})
}

#[tokio::test]
async fn get_of_a_missing_object_names_the_plural() {
    let db = db().await;
    let cms = configmaps(&db);
    let err = get(cms.as_ref(), Some("default"), "nope")
        .await
        .unwrap_err();
    assert_error(&err, 404, "NotFound", Some("configmaps \"nope\" not found"));
    let details = err.to_status().details.unwrap();
    assert_eq!(details.kind.as_deref(), Some("configmaps"));
    assert_eq!(details.name.as_deref(), Some("nope"));
}

#[tokio::test]
async fn get_with_a_future_resource_version_is_a_timeout() {
    let db = db().await;
    let cms = configmaps(&db);
    create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    let opts = GetOptions {
        resource_version: Some("999".into()),
    };
    let err = cms
        .get(&ctx(Some("default")), "a", &opts)
        .await
        .unwrap_err();
    assert_error(&err, 504, "Timeout", None);
    assert!(
        err.to_string()
            .starts_with("Timeout: Too large resource version: 999, current: ")
    );
    let opts = GetOptions {
        resource_version: Some("0".into()),
    };
    cms.get(&ctx(Some("default")), "a", &opts).await.unwrap();
}

#[tokio::test]
async fn lists_are_scoped_by_namespace_and_carry_the_revision() {
    let db = db().await;
    let cms = configmaps(&db);
    create(cms.as_ref(), Some("ns1"), configmap("a", json!({}))).await;
    create(cms.as_ref(), Some("ns10"), configmap("b", json!({}))).await;
    create(cms.as_ref(), Some("ns1"), configmap("c", json!({}))).await;
    let one = list(cms.as_ref(), Some("ns1"), ListOptions::default())
        .await
        .unwrap();
    assert_eq!(names(&one.items), vec!["a", "c"]);
    assert_eq!(one.resource_version, db.revision().await.to_string());
    assert!(one.continue_token.is_none());
    let all = list(cms.as_ref(), None, ListOptions::default())
        .await
        .unwrap();
    assert_eq!(names(&all.items), vec!["a", "c", "b"]);
}

#[tokio::test]
async fn label_and_field_selectors_filter() {
    let db = db().await;
    let cms = configmaps(&db);
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web")] {
        create(cms.as_ref(), Some("default"), labeled(name, tier)).await;
    }
    let by_label = ListOptions {
        label_selector: LabelSelector::parse("tier=web").unwrap(),
        ..Default::default()
    };
    assert_eq!(
        names(
            &list(cms.as_ref(), Some("default"), by_label)
                .await
                .unwrap()
                .items
        ),
        vec!["a", "c"]
    );
    let by_field = ListOptions {
        field_selector: FieldSelector::parse("metadata.name!=a").unwrap(),
        ..Default::default()
    };
    assert_eq!(
        names(
            &list(cms.as_ref(), Some("default"), by_field)
                .await
                .unwrap()
                .items
        ),
        vec!["b", "c"]
    );
    let by_ns = ListOptions {
        field_selector: FieldSelector::parse("metadata.namespace=other").unwrap(),
        ..Default::default()
    };
    assert!(
        list(cms.as_ref(), None, by_ns)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn unknown_field_labels_are_bad_requests_with_kube_text() {
    let db = db().await;
    let cms = configmaps(&db);
    let opts = ListOptions {
        field_selector: FieldSelector::parse("spec.x=1").unwrap(),
        ..Default::default()
    };
    let err = list(cms.as_ref(), Some("default"), opts).await.unwrap_err();
    assert_error(
        &err,
        400,
        "BadRequest",
        Some(
            "\"spec.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
        ),
    );
    let pods = pods(&db, TestPods::default());
    let opts = ListOptions {
        field_selector: FieldSelector::parse("status.podIP=1").unwrap(),
        ..Default::default()
    };
    let err = pods.list(&ctx(Some("default")), &opts).await.unwrap_err();
    assert_error(
        &err,
        400,
        "BadRequest",
        Some("field label not supported: status.podIP"),
    );
    let mut scheduled = pod("on-node");
    scheduled["spec"]["nodeName"] = json!("n1");
    pods.create(
        &ctx(Some("default")),
        None,
        scheduled,
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    pods.create(
        &ctx(Some("default")),
        None,
        pod("pending"),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    let opts = ListOptions {
        field_selector: FieldSelector::parse("spec.nodeName=").unwrap(),
        ..Default::default()
    };
    assert_eq!(
        names(&pods.list(&ctx(Some("default")), &opts).await.unwrap().items),
        vec!["pending"]
    );
}

#[tokio::test]
async fn pages_are_pinned_to_the_first_revision() {
    let db = db().await;
    let cms = configmaps(&db);
    for name in ["a", "b", "c", "d", "e"] {
        create(cms.as_ref(), Some("default"), configmap(name, json!({}))).await;
    }
    let first = list(
        cms.as_ref(),
        Some("default"),
        ListOptions {
            limit: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(names(&first.items), vec!["a", "b"]);
    assert_eq!(first.remaining_item_count, Some(3));
    let token = first.continue_token.clone().unwrap();
    // Changes after the first page do not show in later pages.
    create(cms.as_ref(), Some("default"), configmap("bb", json!({}))).await;
    delete(cms.as_ref(), Some("default"), "d", Default::default())
        .await
        .unwrap();
    let second = list(
        cms.as_ref(),
        Some("default"),
        ListOptions {
            limit: Some(2),
            continue_token: Some(token),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(names(&second.items), vec!["c", "d"]);
    assert_eq!(second.resource_version, first.resource_version);
    let third = list(
        cms.as_ref(),
        Some("default"),
        ListOptions {
            limit: Some(2),
            continue_token: second.continue_token.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(names(&third.items), vec!["e"]);
    assert!(third.continue_token.is_none());
}

#[tokio::test]
async fn selectors_filter_while_paging() {
    let db = db().await;
    let cms = configmaps(&db);
    for (i, tier) in ["db", "db", "web", "db", "db", "web", "db", "web"]
        .iter()
        .enumerate()
    {
        create(
            cms.as_ref(),
            Some("default"),
            labeled(&format!("o{i}"), tier),
        )
        .await;
    }
    let opts = ListOptions {
        label_selector: LabelSelector::parse("tier=web").unwrap(),
        limit: Some(2),
        ..Default::default()
    };
    let page = list(cms.as_ref(), Some("default"), opts.clone())
        .await
        .unwrap();
    assert_eq!(names(&page.items), vec!["o2", "o5"]);
    assert_eq!(page.remaining_item_count, None, "unknown with a selector");
    let next = list(
        cms.as_ref(),
        Some("default"),
        ListOptions {
            continue_token: page.continue_token,
            ..opts
        },
    )
    .await
    .unwrap();
    assert_eq!(names(&next.items), vec!["o7"]);
}

/// A field selector that names the object reads that one key, as kube's store does: one item
/// (or none) and no continue token, whatever the limit; other terms still filter it, and a name
/// that is a prefix of others (`a`, `ab`) matches only itself.
#[tokio::test]
async fn a_list_narrowed_to_one_name_reads_one_key() {
    let db = db().await;
    let cms = configmaps(&db);
    for (name, tier) in [("a", "db"), ("ab", "web"), ("b", "web"), ("c", "web")] {
        create(cms.as_ref(), Some("default"), labeled(name, tier)).await;
    }
    create(cms.as_ref(), Some("other"), labeled("b", "web")).await;
    let by_name = |selector: &str, limit: Option<i64>| ListOptions {
        field_selector: FieldSelector::parse(selector).unwrap(),
        limit,
        ..Default::default()
    };
    for (selector, want) in [
        ("metadata.name=b", vec!["b"]),
        ("metadata.name=a", vec!["a"]),
        ("metadata.name=aa", vec![]),
        ("metadata.name=zz", vec![]),
    ] {
        let page = list(cms.as_ref(), Some("default"), by_name(selector, Some(1)))
            .await
            .unwrap();
        assert_eq!(names(&page.items), want, "{selector}");
        assert_eq!(page.continue_token, None, "{selector}");
        assert_eq!(page.remaining_item_count, None, "{selector}");
    }
    let narrowed = ListOptions {
        label_selector: LabelSelector::parse("tier=db").unwrap(),
        ..by_name("metadata.name=b", None)
    };
    let page = list(cms.as_ref(), Some("default"), narrowed).await.unwrap();
    assert!(page.items.is_empty());
    // Across namespaces the key is unknown: every namespace's `b`.
    let page = list(cms.as_ref(), None, by_name("metadata.name=b", None))
        .await
        .unwrap();
    assert_eq!(names(&page.items), vec!["b", "b"]);
}

#[tokio::test]
async fn resource_version_semantics() {
    let db = db().await;
    let cms = configmaps(&db);
    let a = create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    create(cms.as_ref(), Some("default"), configmap("b", json!({}))).await;
    let at = |rv: &str, m: Option<ResourceVersionMatch>, limit: Option<i64>| ListOptions {
        resource_version: Some(rv.into()),
        resource_version_match: m,
        limit,
        ..Default::default()
    };
    let exact = list(
        cms.as_ref(),
        Some("default"),
        at(&rv(&a).to_string(), Some(ResourceVersionMatch::Exact), None),
    )
    .await
    .unwrap();
    assert_eq!(names(&exact.items), vec!["a"]);
    assert_eq!(exact.resource_version, rv(&a).to_string());
    let legacy_paged = list(
        cms.as_ref(),
        Some("default"),
        at(&rv(&a).to_string(), None, Some(10)),
    )
    .await
    .unwrap();
    assert_eq!(names(&legacy_paged.items), vec!["a"]);
    let not_older = list(
        cms.as_ref(),
        Some("default"),
        at(&rv(&a).to_string(), None, None),
    )
    .await
    .unwrap();
    assert_eq!(names(&not_older.items), vec!["a", "b"]);
    let any = list(cms.as_ref(), Some("default"), at("0", None, None))
        .await
        .unwrap();
    assert_eq!(any.items.len(), 2);

    let future = (db.revision().await + 100).to_string();
    let err = list(
        cms.as_ref(),
        Some("default"),
        at(&future, Some(ResourceVersionMatch::NotOlderThan), None),
    )
    .await
    .unwrap_err();
    assert_error(&err, 504, "Timeout", None);
    let cause = err.to_status().details.unwrap().causes.unwrap().remove(0);
    assert_eq!(cause.reason.as_deref(), Some("ResourceVersionTooLarge"));
    let err = list(
        cms.as_ref(),
        Some("default"),
        at(&future, Some(ResourceVersionMatch::Exact), None),
    )
    .await
    .unwrap_err();
    assert_error(&err, 504, "Timeout", None);

    let err = list(cms.as_ref(), Some("default"), at("abc", None, None))
        .await
        .unwrap_err();
    assert_error(&err, 400, "BadRequest", None);
    let err = list(
        cms.as_ref(),
        Some("default"),
        at("0", Some(ResourceVersionMatch::Exact), None),
    )
    .await
    .unwrap_err();
    assert_error(&err, 422, "Invalid", None);
    let err = list(
        cms.as_ref(),
        Some("default"),
        ListOptions {
            resource_version_match: Some(ResourceVersionMatch::Exact),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_error(&err, 422, "Invalid", None);
}

#[tokio::test]
async fn compacted_revisions_are_410_expired() {
    let db = db().await;
    let cms = configmaps(&db);
    let a = create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    for name in ["b", "c", "d"] {
        create(cms.as_ref(), Some("default"), configmap(name, json!({}))).await;
    }
    let page = list(
        cms.as_ref(),
        Some("default"),
        ListOptions {
            limit: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    create(cms.as_ref(), Some("default"), configmap("e", json!({}))).await;
    db.storage.compact(db.revision().await).await.unwrap();

    let exact = ListOptions {
        resource_version: Some(rv(&a).to_string()),
        resource_version_match: Some(ResourceVersionMatch::Exact),
        ..Default::default()
    };
    let err = list(cms.as_ref(), Some("default"), exact)
        .await
        .unwrap_err();
    assert_error(
        &err,
        410,
        "Expired",
        Some("The resourceVersion for the provided list is too old."),
    );

    let stale = ListOptions {
        limit: Some(2),
        continue_token: page.continue_token,
        ..Default::default()
    };
    let err = list(cms.as_ref(), Some("default"), stale)
        .await
        .unwrap_err();
    assert_error(&err, 410, "Expired", None);
    assert!(
        err.to_string()
            .starts_with("The provided continue parameter is too old")
    );
    // The fresh token continues after the same key, at the latest revision.
    let fresh = err.to_status().metadata.continue_.unwrap();
    let rest = list(
        cms.as_ref(),
        Some("default"),
        ListOptions {
            limit: Some(10),
            continue_token: Some(fresh),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(names(&rest.items), vec!["c", "d", "e"]);
}

#[tokio::test]
async fn continue_tokens_are_checked() {
    let db = db().await;
    let cms = configmaps(&db);
    let err = list(
        cms.as_ref(),
        Some("default"),
        ListOptions {
            continue_token: Some("garbage!".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_error(&err, 400, "BadRequest", None);
    assert!(err.to_string().starts_with("invalid continue token: "));
    let token = capstan::api::options::encode_continue(
        "/capstan/core/configmaps/default/x",
        "/capstan/core/configmaps/default/",
        1,
    )
    .unwrap();
    let err = list(
        cms.as_ref(),
        Some("default"),
        ListOptions {
            continue_token: Some(token),
            resource_version: Some("5".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_error(
        &err,
        400,
        "BadRequest",
        Some("specifying resource version is not allowed when using continue"),
    );
}

/// A plain JSON list (`Rest::list_json`, the stored bytes with their resourceVersion spliced in)
/// carries exactly the text of the value list, page by page and under selectors.
#[tokio::test]
async fn json_lists_match_value_lists() {
    let db = db().await;
    let cms = configmaps(&db);
    for (i, tier) in ["db", "web", "db", "web", "web"].iter().enumerate() {
        let mut body = labeled(&format!("o{i}"), tier);
        body["data"] = json!({"k": format!("v\"{i}é"), "z": ""});
        body["metadata"]["annotations"] = json!({"a": "b"});
        create(cms.as_ref(), Some("default"), body).await;
    }
    for opts in [
        ListOptions::default(),
        ListOptions {
            limit: Some(2),
            ..Default::default()
        },
        ListOptions {
            label_selector: LabelSelector::parse("tier=web").unwrap(),
            limit: Some(2),
            ..Default::default()
        },
        ListOptions {
            field_selector: FieldSelector::parse("metadata.name!=o1").unwrap(),
            ..Default::default()
        },
    ] {
        let values = list(cms.as_ref(), Some("default"), opts.clone())
            .await
            .unwrap();
        let texts = cms.list_json(&ctx(Some("default")), &opts).await.unwrap();
        let as_text: Vec<String> = values
            .items
            .iter()
            .map(|v| serde_json::to_string(v).unwrap())
            .collect();
        let texts_items: Vec<&str> = texts.items.iter().map(|t| t.as_str()).collect();
        assert!(!as_text.is_empty());
        assert_eq!(texts_items, as_text, "{opts:?}");
        assert_eq!(texts.resource_version, values.resource_version);
        assert_eq!(texts.continue_token, values.continue_token);
        assert_eq!(texts.remaining_item_count, values.remaining_item_count);
    }
}
