use async_trait::async_trait;

use super::{CredentialKey, StoredCredential, TokenStore};
use crate::AuthError;

/// Credentials in the operating system's keyring (feature `keyring`): the Linux kernel keyutils session
/// keyring, the macOS Keychain or the Windows Credential Manager. Each credential is one entry of
/// `service` with the user name `account@host`, holding the credential as JSON.
///
/// The keyring API blocks, so every call runs on tokio's blocking pool. On Linux the keyutils keyring
/// does not survive a reboot; use [`FileStore`](crate::FileStore) where that matters.
///
/// On Linux the process needs a session keyring of its own, as a login session has (pam_keyinit). A process
/// started without one (a container, a service, a CI runner) falls back to the uid's shared user-session
/// keyring, where a save can succeed and the next load find nothing; run such processes under
/// `keyctl session -`. Every save reads the entry back, so that case is an [`AuthError::Keyring`] at save
/// time, not a lost sign-in. Account names need no escaping, but `account@host` must fit keyutils' 4,095-byte
/// description (a longer one is an [`AuthError::Keyring`], never a truncated alias).
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// A store under the keyring service name `service` (e.g. `copilot-rs`).
    pub fn new(service: impl Into<String>) -> Self {
        KeyringStore {
            service: service.into(),
        }
    }

    async fn run<T, F>(&self, key: &CredentialKey, work: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce(keyring::Entry) -> Result<T, AuthError> + Send + 'static,
    {
        let service = self.service.clone();
        let user = key.to_string();
        tokio::task::spawn_blocking(move || {
            let entry = keyring::Entry::new(&service, &user).map_err(keyring_error)?;
            work(entry)
        })
        .await
        .map_err(|e| AuthError::Keyring {
            message: e.to_string(),
        })?
    }
}

/// What a save reports when the keyring accepted the credential but does not give it back.
const UNREADABLE_AFTER_SAVE: &str = "the keyring did not keep the credential where it can be read again: on \
     Linux this process has no session keyring of its own (run it under `keyctl session -`, or use the file store)";

fn keyring_error(error: keyring::Error) -> AuthError {
    AuthError::Keyring {
        message: error.to_string(),
    }
}

#[async_trait]
impl TokenStore for KeyringStore {
    async fn load(&self, key: &CredentialKey) -> Result<Option<StoredCredential>, AuthError> {
        self.run(key, |entry| match entry.get_password() {
            Ok(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| AuthError::Keyring {
                    message: format!(
                        "the stored entry is not a valid credential ({})",
                        copilot_http::redact::json_error(&e)
                    ),
                }),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        })
        .await
    }

    async fn save(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
    ) -> Result<(), AuthError> {
        let json = serde_json::to_string(credential)
            .map_err(|e| AuthError::config(format!("cannot encode credential: {e}")))?;
        let json = secrecy::SecretString::from(json);
        self.run(key, move |entry| {
            let written = secrecy::ExposeSecret::expose_secret(&json);
            // Without a session keyring of its own, keyutils may refuse the write as "no entry" too.
            entry.set_password(written).map_err(|e| match e {
                keyring::Error::NoEntry => AuthError::Keyring {
                    message: UNREADABLE_AFTER_SAVE.to_owned(),
                },
                other => keyring_error(other),
            })?;
            // Read it back: on Linux a process without a session keyring of its own writes into a keyring
            // it cannot read again, and a save that "worked" would lose the sign-in silently.
            match entry.get_password() {
                Ok(read)
                    if copilot_http::sensitive::constant_time_eq(
                        read.as_bytes(),
                        written.as_bytes(),
                    ) =>
                {
                    Ok(())
                }
                Ok(_) | Err(keyring::Error::NoEntry) => Err(AuthError::Keyring {
                    message: UNREADABLE_AFTER_SAVE.to_owned(),
                }),
                Err(e) => Err(keyring_error(e)),
            }
        })
        .await
    }

    async fn delete(&self, key: &CredentialKey) -> Result<bool, AuthError> {
        self.run(key, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_error(e)),
        })
        .await
    }
}
