//! GetUsers, CreateUsers, DeleteUsers, SetUser: requests and faults around the user store.

use crate::security::users::{UserChange, UserError};
use crate::security::{Secret, UserLevel};
use crate::services::{Ctx, OpResult};
use crate::soap::{FaultCode, SoapFault};
use crate::xml::ns::{TDS, TT};
use crate::xml::{Element, XmlWriter};

impl From<UserError> for SoapFault {
    fn from(e: UserError) -> SoapFault {
        let detail = e.to_string();
        match e {
            UserError::UsernameClash(_) => {
                SoapFault::operation_prohibited(Some("ter:UsernameClash"), detail)
            }
            UserError::UsernameTooLong(_) => {
                SoapFault::operation_prohibited(Some("ter:UsernameTooLong"), detail)
            }
            UserError::UsernameTooShort => {
                SoapFault::operation_prohibited(Some("ter:UsernameTooShort"), detail)
            }
            UserError::UsernameInvalid | UserError::Repeated(_) => {
                SoapFault::invalid_arg_val(None, detail)
            }
            UserError::PasswordTooLong(_) => {
                SoapFault::operation_prohibited(Some("ter:PasswordTooLong"), detail)
            }
            UserError::PasswordTooWeak(_) => {
                SoapFault::operation_prohibited(Some("ter:PasswordTooWeak"), detail)
            }
            UserError::TooManyUsers(_) => SoapFault::new(
                FaultCode::Receiver,
                &["ter:Action", "ter:TooManyUsers"],
                detail,
            ),
            UserError::AnonymousNotAllowed => {
                SoapFault::operation_prohibited(Some("ter:AnonymousNotAllowed"), detail)
            }
            UserError::UsernameMissing(_) => {
                SoapFault::invalid_arg_val(Some("ter:UsernameMissing"), detail)
            }
            // The standard's fault for users that must stay "to ensure access to the unit".
            UserError::FixedUser(_) | UserError::LastAdministrator => {
                SoapFault::invalid_arg_val(Some("ter:FixedUser"), detail)
            }
            UserError::Storage(e) => {
                tracing::error!(error = %e, "state database write failed");
                SoapFault::action_failed(None, "the change could not be stored")
            }
        }
    }
}

/// Reads the `tds:User` elements of CreateUsers/SetUser.
fn user_changes(req: &Element) -> Result<Vec<UserChange>, SoapFault> {
    let users: Vec<&Element> = req.children_named(TDS, "User").collect();
    if users.is_empty() {
        return Err(SoapFault::missing_tag("at least one User is required"));
    }
    users
        .into_iter()
        .map(|u| {
            let username = u
                .child(TT, "Username")
                .ok_or_else(|| SoapFault::missing_tag("User/Username is required"))?;
            let level = u
                .child(TT, "UserLevel")
                .ok_or_else(|| SoapFault::missing_tag("User/UserLevel is required"))?;
            let level = match level.text_trim() {
                "Extended" => {
                    return Err(SoapFault::invalid_arg_val(
                        None,
                        "user level Extended needs user roles, which railgate does not offer",
                    ));
                }
                other => other.parse::<UserLevel>().map_err(|_| {
                    SoapFault::invalid_arg_val(None, format!("{other:?} is not a user level"))
                })?,
            };
            Ok(UserChange {
                // xs:string: the name is taken as sent, spaces included.
                username: username.text.clone(),
                password: u.child(TT, "Password").map(|p| Secret::new(p.text.clone())),
                level,
            })
        })
        .collect()
}

pub(super) async fn get_users(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tds:GetUsersResponse", &[], |w| {
        for (name, level) in ctx.app.users.list() {
            w.with("tds:User", &[], |w| {
                w.leaf("tt:Username", &name);
                w.leaf("tt:UserLevel", level.as_str());
            });
        }
    });
    Ok(w.finish())
}

pub(super) async fn create_users(ctx: &Ctx, req: &Element) -> OpResult {
    let changes = user_changes(req)?;
    let names: Vec<String> = changes.iter().map(|c| c.username.clone()).collect();
    ctx.app.users.create(changes)?;
    tracing::info!(users = ?names, by = ctx.principal.log_name(), "users created");
    Ok("<tds:CreateUsersResponse/>".into())
}

pub(super) async fn delete_users(ctx: &Ctx, req: &Element) -> OpResult {
    let names: Vec<String> = req
        .children_named(TDS, "Username")
        .map(|e| e.text.clone())
        .collect();
    if names.is_empty() {
        return Err(SoapFault::missing_tag("at least one Username is required"));
    }
    ctx.app.users.delete(names.clone())?;
    tracing::info!(users = ?names, by = ctx.principal.log_name(), "users deleted");
    Ok("<tds:DeleteUsersResponse/>".into())
}

pub(super) async fn set_user(ctx: &Ctx, req: &Element) -> OpResult {
    let changes = user_changes(req)?;
    let names: Vec<String> = changes.iter().map(|c| c.username.clone()).collect();
    ctx.app.users.set(changes)?;
    tracing::info!(users = ?names, by = ctx.principal.log_name(), "users changed");
    Ok("<tds:SetUserResponse/>".into())
}
