package zalo

import (
	"errors"
	"fmt"
)

// Class says what the caller should do about a failed call (API.md §10).
type Class int

// The classes of API.md §10. Alert is the zero value on purpose: an error nobody
// classified needs a person and must not be retried blindly.
const (
	// Alert: a person must look (bad request, OA or app misconfigured, unknown code);
	// do not retry.
	Alert Class = iota
	// Retry: try again later with backoff (rate limit, transport failure, Zalo-side
	// send failure).
	Retry
	// RefreshToken: the access token is invalid or expired; refresh once and retry the
	// call once. The Client does this itself, so a caller sees it only when the retry
	// failed the same way.
	RefreshToken
	// WindowClosed: the user is outside the interaction window or refuses messages;
	// do not retry, hold the message until the user next writes.
	WindowClosed
	// Fallback: resend in a simpler form (plain text, without quote, split text).
	Fallback
)

// String returns the class name used in logs and metrics.
func (c Class) String() string {
	switch c {
	case Alert:
		return "alert"
	case Retry:
		return "retry"
	case RefreshToken:
		return "refresh_token"
	case WindowClosed:
		return "window_closed"
	case Fallback:
		return "fallback"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Classify maps a Zalo error code to the action of the table in API.md §10. Codes the
// table does not list are Alert ("any other negative: unknown; alert").
func Classify(code int) Class {
	switch code {
	case -32, -100, -200, -234:
		return Retry
	case -216, -220, -124:
		return RefreshToken
	case -213, -217, -218, -227, -230, -232, -244:
		return WindowClosed
	case -201, -210, -233, -240:
		return Fallback
	}
	return Alert
}

// DefaultMaxRetries is how many times a Retry-class failure is worth retrying, except
// -200 ("send message failed"), which API.md §10 allows to be retried only once before
// alerting.
const DefaultMaxRetries = 5

// Sentinel causes, reachable with errors.Is through Error.Err.
var (
	// ErrTextTooLong: the text is over MaxTextRunes; split it with SplitText.
	ErrTextTooLong = errors.New("text too long")
	// ErrInvalidMessage: the message cannot be expressed for this endpoint (for
	// example buttons in a group, an empty message, a button title over 35 characters).
	ErrInvalidMessage = errors.New("invalid message")
	// ErrNoTokens: neither the store nor the configuration holds a token pair.
	ErrNoTokens = errors.New("no zalo tokens configured")
	// ErrNeedsReauth: a token refresh failed with an OAuth error; an OA admin must
	// authorise the app again (API.md §7.3 rule 6).
	ErrNeedsReauth = errors.New("zalo needs re-authorisation")
)

// Error is the one error type of the package: a Zalo error code, a transport failure or a
// request rejected before sending, with the action to take.
type Error struct {
	Op         string // what was being done: "send cs", "refresh token", ...
	Code       int    // Zalo error code (negative); 0 for transport and local errors
	Message    string // Zalo's message, or a description of the failure
	HTTPStatus int    // HTTP status of the response; 0 when there was none
	Class      Class
	Err        error // underlying cause (transport error or a sentinel above)
}

// Error implements error. It never contains tokens: callers only put codes, Zalo's
// message and transport errors (whose URLs carry no token: the token is a header).
func (e *Error) Error() string {
	s := "zalo " + e.Op + ": "
	switch {
	case e.Code != 0:
		s += fmt.Sprintf("error %d", e.Code)
		if e.Message != "" {
			s += " (" + e.Message + ")"
		}
	case e.Message != "":
		s += e.Message
	case e.Err != nil:
		s += e.Err.Error()
	default:
		s += "failed"
	}
	if e.Code == 0 && e.Message != "" && e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.HTTPStatus != 0 && e.HTTPStatus != 200 {
		s += fmt.Sprintf(" [http %d]", e.HTTPStatus)
	}
	return s + " [" + e.Class.String() + "]"
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the failed call may be tried again later (class Retry).
func (e *Error) Retryable() bool { return e.Class == Retry }

// MaxRetries returns how many retries the failure is worth: 0 unless Retryable, 1 for
// -200 (API.md §10: "retry once, then alert"), DefaultMaxRetries otherwise.
func (e *Error) MaxRetries() int {
	switch {
	case e.Class != Retry:
		return 0
	case e.Code == -200:
		return 1
	}
	return DefaultMaxRetries
}

// AsError returns err as an *Error if it is one (possibly wrapped).
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// ClassOf returns the class of err: the Class of an *Error, Alert for anything else.
func ClassOf(err error) Class {
	if e, ok := AsError(err); ok {
		return e.Class
	}
	return Alert
}
