//! Last.fm's API error codes, by name: one list for the adapter (which reads
//! them from Last.fm) and musiqued's Last.fm-compatible endpoint (which answers
//! with them).

/// An error code of the Last.fm API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 2: this service does not exist.
    InvalidService,
    /// 3: no method with that name.
    InvalidMethod,
    /// 4: authentication failed (wrong password or token).
    AuthenticationFailed,
    /// 5: the format asked for does not exist.
    InvalidFormat,
    /// 6: a parameter is missing or wrong (also "not found").
    InvalidParameters,
    /// 7: the resource does not exist.
    InvalidResource,
    /// 8: the backend failed; try again.
    OperationFailed,
    /// 9: the session key is invalid or revoked.
    InvalidSessionKey,
    /// 10: the API key is invalid.
    InvalidApiKey,
    /// 11: the service is offline for now.
    ServiceOffline,
    /// 13: the method signature is invalid.
    InvalidSignature,
    /// 14: the token has not been authorized yet.
    UnauthorizedToken,
    /// 15: the token has expired.
    TokenExpired,
    /// 16: a temporary error; try again.
    TemporaryError,
    /// 17: the user's data is private (login required).
    LoginRequired,
    /// 26: the API key is suspended.
    SuspendedApiKey,
    /// 29: too many requests; slow down.
    RateLimitExceeded,
}

/// Every code, for lookups.
const ALL: [(ErrorCode, u32); 17] = [
    (ErrorCode::InvalidService, 2),
    (ErrorCode::InvalidMethod, 3),
    (ErrorCode::AuthenticationFailed, 4),
    (ErrorCode::InvalidFormat, 5),
    (ErrorCode::InvalidParameters, 6),
    (ErrorCode::InvalidResource, 7),
    (ErrorCode::OperationFailed, 8),
    (ErrorCode::InvalidSessionKey, 9),
    (ErrorCode::InvalidApiKey, 10),
    (ErrorCode::ServiceOffline, 11),
    (ErrorCode::InvalidSignature, 13),
    (ErrorCode::UnauthorizedToken, 14),
    (ErrorCode::TokenExpired, 15),
    (ErrorCode::TemporaryError, 16),
    (ErrorCode::LoginRequired, 17),
    (ErrorCode::SuspendedApiKey, 26),
    (ErrorCode::RateLimitExceeded, 29),
];

impl ErrorCode {
    /// The number Last.fm sends.
    pub fn code(self) -> u32 {
        ALL.iter().find(|(code, _)| *code == self).map(|(_, number)| *number).expect("every code is listed")
    }

    /// The code of a number, when it is one of Last.fm's.
    pub fn from_code(number: i64) -> Option<ErrorCode> {
        ALL.iter().find(|(_, known)| i64::from(*known) == number).map(|(code, _)| *code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for (code, number) in ALL {
            assert_eq!(code.code(), number);
            assert_eq!(ErrorCode::from_code(i64::from(number)), Some(code));
        }
        assert_eq!(ErrorCode::from_code(12), None);
        assert_eq!(ErrorCode::RateLimitExceeded.code(), 29);
    }
}
