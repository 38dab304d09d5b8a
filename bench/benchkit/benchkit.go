// Package benchkit holds what the load generators under bench/ share.
package benchkit

import (
	"fmt"
	"net/http"
	"time"
)

// WaitUp polls u until it answers 200, for at most about five seconds.
func WaitUp(u string) error {
	for range 500 {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s never answered", u)
}
