//! Test-only construction of a [`SchemaModel`], so modules that read the model (strategic merge
//! patch, server-side apply) can be unit-tested before and independently of the OpenAPI loader.

use super::{Definition, FieldExtensions, SchemaModel, Shape};

impl SchemaModel {
    /// Adds (or replaces) a definition: its shape, element type (lists, maps) and properties
    /// (name, type name, extensions).
    pub(crate) fn test_define(
        &mut self,
        name: &str,
        shape: Shape,
        element: Option<&str>,
        properties: Vec<(&str, &str, FieldExtensions)>,
    ) {
        let def = Definition {
            shape: Some(shape),
            properties: properties
                .into_iter()
                .map(|(p, ty, ext)| (p.to_string(), (ty.to_string(), ext)))
                .collect(),
            element: element.map(str::to_string),
            ..Definition::default()
        };
        self.definitions.insert(name.to_string(), def);
    }

    /// Serves `definition` as the root type of group/version/kind.
    pub(crate) fn test_kind(&mut self, group: &str, version: &str, kind: &str, definition: &str) {
        self.kinds.insert(
            (group.to_string(), version.to_string(), kind.to_string()),
            definition.to_string(),
        );
    }
}
