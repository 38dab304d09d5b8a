package zalo

import (
	"errors"
	"fmt"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		code int
		want Class
	}{
		// retry (API.md §10)
		{-32, Retry}, {-100, Retry}, {-200, Retry}, {-234, Retry},
		// refresh token
		{-216, RefreshToken}, {-220, RefreshToken}, {-124, RefreshToken},
		// window closed: skip and hold
		{-213, WindowClosed}, {-217, WindowClosed}, {-218, WindowClosed}, {-227, WindowClosed},
		{-230, WindowClosed}, {-232, WindowClosed}, {-244, WindowClosed},
		// fallback
		{-201, Fallback}, {-210, Fallback}, {-233, Fallback}, {-240, Fallback},
		// alert
		{-204, Alert}, {-205, Alert}, {-209, Alert}, {-211, Alert}, {-212, Alert}, {-219, Alert},
		{-221, Alert}, {-223, Alert}, {-224, Alert}, {-235, Alert}, {-237, Alert}, {-238, Alert},
		{-241, Alert}, {-242, Alert}, {-248, Alert}, {-320, Alert}, {-321, Alert}, {-403, Alert},
		{-14002, Alert}, {-14003, Alert}, {-14014, Alert}, {-99999, Alert}, {-1, Alert},
	}
	for _, tc := range tests {
		if got := Classify(tc.code); got != tc.want {
			t.Errorf("Classify(%d) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Alert: "alert", Retry: "retry", RefreshToken: "refresh_token",
		WindowClosed: "window_closed", Fallback: "fallback", Class(42): "class(42)"} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(c), got, want)
		}
	}
}

func TestErrorMethods(t *testing.T) {
	cause := errors.New("dial tcp: connection refused")
	tests := []struct {
		err       *Error
		text      string
		retryable bool
		retries   int
	}{
		{&Error{Op: "send cs", Code: -230, Message: "not interacted", HTTPStatus: 200, Class: WindowClosed},
			"zalo send cs: error -230 (not interacted) [window_closed]", false, 0},
		{&Error{Op: "send cs", Code: -200, Message: "send failed", HTTPStatus: 200, Class: Retry},
			"zalo send cs: error -200 (send failed) [retry]", true, 1},
		{&Error{Op: "send cs", Code: -32, Class: Retry}, "zalo send cs: error -32 [retry]", true, DefaultMaxRetries},
		{&Error{Op: "quota", Class: Retry, Err: cause}, "zalo quota: dial tcp: connection refused [retry]", true, DefaultMaxRetries},
		{&Error{Op: "send group", Message: "server error", HTTPStatus: 502, Class: Retry},
			"zalo send group: server error [http 502] [retry]", true, DefaultMaxRetries},
		{&Error{Op: "save tokens", Message: "saving failed", Class: Retry, Err: cause},
			"zalo save tokens: saving failed: dial tcp: connection refused [retry]", true, DefaultMaxRetries},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.text {
			t.Errorf("Error() = %q, want %q", got, tc.text)
		}
		if got := tc.err.Retryable(); got != tc.retryable {
			t.Errorf("%q Retryable = %v", tc.text, got)
		}
		if got := tc.err.MaxRetries(); got != tc.retries {
			t.Errorf("%q MaxRetries = %d, want %d", tc.text, got, tc.retries)
		}
	}
	wrapped := fmt.Errorf("deliver digest: %w", &Error{Op: "x", Class: Retry, Err: cause})
	if !errors.Is(wrapped, cause) || ClassOf(wrapped) != Retry || ClassOf(cause) != Alert {
		t.Error("errors.Is / ClassOf do not see through wrapping")
	}
}
