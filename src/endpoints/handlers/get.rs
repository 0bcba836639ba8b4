//! GET on an item (`get`): read one object, or a subresource of it.

use axum::response::Response;
use http::StatusCode;

use super::Scope;
use crate::api::ApiError;
use crate::endpoints::negotiation::Restrictions;
use crate::endpoints::query;

/// Answers 200 with the object (or its Table or metadata, as negotiated).
pub async fn get(scope: &Scope) -> Result<Response, ApiError> {
    let name = scope.require_name()?;
    let writer = scope.writer(Restrictions::RESOURCE)?;
    let opts = query::get_options(&scope.query)?;
    let object = scope.rest.get(&scope.ctx, name, &opts).await?;
    writer.object(scope.rest.as_ref(), StatusCode::OK, object)
}
