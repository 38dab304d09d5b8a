// Package benchkit holds what the load generators under bench/ share.
package benchkit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
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

// MsgID is the message id of the k-th generated event: 20 hex digits in no order, as Zalo's
// are (zalo/fixtures), and the same for the same k. Ids that increase would make every
// index keyed by them an append, cheaper than the real traffic's inserts.
func MsgID(k int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(k))
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:10])
}

// TextEvent is the k-th generated user_send_text webhook body, shaped like
// testdata/zalo/user_send_text.json, with its timestamp (which the signature covers): message
// id MsgID(k), timestamp a millisecond after the previous event's.
func TextEvent(appID, oaID, senderID, appUserID, text string, k int64) (body []byte, ts string) {
	ts = strconv.FormatInt(1751100041636+k, 10)
	body = fmt.Appendf(nil, `{"app_id":"%s","sender":{"id":"%s"},"user_id_by_app":"%s","recipient":{"id":"%s"},"event_name":"user_send_text","message":{"text":%q,"msg_id":"%s"},"timestamp":"%s"}`,
		appID, senderID, appUserID, oaID, text, MsgID(k), ts)
	return body, ts
}
