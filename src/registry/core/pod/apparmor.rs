//! kube's `applyAppArmorVersionSkew` (pkg/registry/core/pod/strategy.go), run when a pod is
//! created: a container's deprecated `container.apparmor.security.beta.kubernetes.io/<name>`
//! annotation becomes its `securityContext.appArmorProfile` when the container has none, and
//! the client is warned that the annotation is deprecated — here, in `PrepareForCreate`, rather
//! than with the other create warnings, because kube warns before it syncs.

use k8s_openapi::api::core::v1::{AppArmorProfile, PodSpec, SecurityContext};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::warnings::APPARMOR_ANNOTATION_PREFIX;
use crate::api::field::Path;
use crate::api::warnings::Warnings;

/// kube's `maxLocalhostProfileLength`.
const MAX_LOCALHOST_PROFILE_LENGTH: usize = 4095;

/// Copies each container's AppArmor annotation into its field where the field is unset and the
/// profile differs from the pod's, warning about every annotation it copies or cannot read.
/// Windows pods are left alone.
pub fn apply_version_skew(meta: &ObjectMeta, spec: &mut PodSpec, warnings: &Warnings) {
    if spec.os.as_ref().is_some_and(|os| os.name == "windows") {
        return;
    }
    let Some(annotations) = meta.annotations.as_ref() else {
        return;
    };
    let pod_profile = spec
        .security_context
        .as_ref()
        .and_then(|s| s.app_armor_profile.clone());
    let sync = |name: &str, security: &mut Option<SecurityContext>| {
        let key = format!("{APPARMOR_ANNOTATION_PREFIX}{name}");
        let Some(annotation) = annotations.get(&key) else {
            return;
        };
        if security
            .as_ref()
            .is_some_and(|s| s.app_armor_profile.is_some())
        {
            return;
        }
        let field = field_for_annotation(annotation);
        let mut warn = field.is_none();
        if let Some(field) = field
            && pod_profile.as_ref() != Some(&field)
        {
            security
                .get_or_insert_with(Default::default)
                .app_armor_profile = Some(field);
            warn = true;
        }
        if warn {
            let path = Path::new("metadata").child("annotations").key(&key);
            warnings.add(format!(
                r#"{path}: deprecated since v1.30; use the "appArmorProfile" field instead"#
            ));
        }
    };
    for c in spec.init_containers.iter_mut().flatten() {
        sync(&c.name, &mut c.security_context);
    }
    for c in &mut spec.containers {
        sync(&c.name, &mut c.security_context);
    }
    for c in spec.ephemeral_containers.iter_mut().flatten() {
        sync(&c.name, &mut c.security_context);
    }
}

/// kube's `ApparmorFieldForAnnotation`, keeping only profiles that pass kube's
/// `ValidateAppArmorProfileField` (a localhost profile within 4095 bytes, not padded).
fn field_for_annotation(annotation: &str) -> Option<AppArmorProfile> {
    let profile = |type_: &str, localhost: Option<&str>| AppArmorProfile {
        type_: type_.to_string(),
        localhost_profile: localhost.map(str::to_string),
    };
    match annotation {
        "unconfined" => Some(profile("Unconfined", None)),
        "runtime/default" => Some(profile("RuntimeDefault", None)),
        _ => {
            let local = annotation.strip_prefix("localhost/")?;
            let valid = !local.is_empty()
                && local.len() <= MAX_LOCALHOST_PROFILE_LENGTH
                && local.trim() == local;
            valid.then(|| profile("Localhost", Some(local)))
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::PodSpec;
    use serde_json::json;

    use super::*;

    fn run(annotations: serde_json::Value, spec: serde_json::Value) -> (PodSpec, Vec<String>) {
        let meta = ObjectMeta {
            annotations: serde_json::from_value(annotations).unwrap(),
            ..Default::default()
        };
        let mut spec: PodSpec = serde_json::from_value(spec).unwrap();
        let warnings = Warnings::default();
        apply_version_skew(&meta, &mut spec, &warnings);
        (spec, warnings.texts())
    }

    const WARNING: &str = r#"metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: deprecated since v1.30; use the "appArmorProfile" field instead"#;

    #[test]
    fn an_annotation_becomes_the_field_with_a_warning() {
        let (spec, w) = run(
            json!({ "container.apparmor.security.beta.kubernetes.io/app": "localhost/prof" }),
            json!({ "containers": [{ "name": "app" }, { "name": "other" }] }),
        );
        assert_eq!(w, [WARNING]);
        let field = spec.containers[0].security_context.as_ref().unwrap();
        assert_eq!(
            field.app_armor_profile,
            Some(AppArmorProfile {
                type_: "Localhost".into(),
                localhost_profile: Some("prof".into()),
            })
        );
        assert!(spec.containers[1].security_context.is_none());
    }

    #[test]
    fn an_unreadable_annotation_warns_without_a_field() {
        let (spec, w) = run(
            json!({ "container.apparmor.security.beta.kubernetes.io/app": "localhost/" }),
            json!({ "containers": [{ "name": "app" }] }),
        );
        assert_eq!(w, [WARNING]);
        assert!(spec.containers[0].security_context.is_none());
    }

    #[test]
    fn a_set_field_or_the_same_pod_profile_leaves_it_quiet() {
        let annotation =
            json!({ "container.apparmor.security.beta.kubernetes.io/app": "runtime/default" });
        let (_, w) = run(
            annotation.clone(),
            json!({ "containers": [{ "name": "app",
                "securityContext": { "appArmorProfile": { "type": "Unconfined" } } }] }),
        );
        assert!(w.is_empty());
        let (spec, w) = run(
            annotation.clone(),
            json!({ "securityContext": { "appArmorProfile": { "type": "RuntimeDefault" } },
                "containers": [{ "name": "app" }] }),
        );
        assert!(w.is_empty());
        assert!(spec.containers[0].security_context.is_none());
        let (_, w) = run(
            annotation,
            json!({ "os": { "name": "windows" }, "containers": [{ "name": "app" }] }),
        );
        assert!(w.is_empty());
    }
}
