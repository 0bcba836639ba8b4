//! GET on a collection (`list`): one page of objects as `<Kind>List`, Table or metadata list.

use axum::response::Response;
use http::StatusCode;

use super::Scope;
use crate::api::ApiError;
use crate::endpoints::negotiation::Restrictions;
use crate::endpoints::query;

/// Answers 200 with the page, carrying `resourceVersion`, `continue` and `remainingItemCount`.
pub async fn list(scope: &Scope) -> Result<Response, ApiError> {
    let writer = scope.writer(Restrictions::RESOURCE)?;
    let opts = query::list_options(&scope.query, false)?;
    if writer.writes_json_items() {
        let page = scope.rest.list_json(&scope.ctx, &opts).await?;
        return writer.json_list(scope.rest.as_ref(), StatusCode::OK, page);
    }
    let page = scope.rest.list(&scope.ctx, &opts).await?;
    writer.list(scope.rest.as_ref(), StatusCode::OK, page)
}
