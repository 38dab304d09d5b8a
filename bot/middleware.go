package bot

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
)

const ctxReqID = "req_id"

// reqIDPrefix makes request ids unique across processes (restarts, replicas): 6 random
// bytes drawn once; reqIDSeq numbers the requests of this process.
var (
	reqIDPrefix = func() string {
		var b [6]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:]) + "-"
	}()
	reqIDSeq atomic.Uint64
)

// newRequestID returns the process prefix and the next sequence number in hex: unique
// and cheap (one allocation, no crypto/rand call a request).
func newRequestID() string {
	var b [32]byte
	buf := append(b[:0], reqIDPrefix...)
	return string(strconv.AppendUint(buf, reqIDSeq.Add(1), 16))
}

// requestID takes X-Request-ID from a trusted caller or makes one, and echoes it back.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		c.Set(ctxReqID, id)
		// The canonical form of X-Request-ID, set directly: Header.Set would canonicalise
		// the key (an allocation) on every request.
		c.Writer.Header()["X-Request-Id"] = []string{id}
		c.Next()
	}
}

// reqLogger returns the logger with the request id.
func reqLogger(c *gin.Context, log zerolog.Logger) zerolog.Logger {
	return log.With().Str(ctxReqID, c.GetString(ctxReqID)).Logger()
}

// accessLog logs one line per request at debug level (info for errors). Query strings are
// not logged: admin exports carry filters only, but tokens must never reach logs.
func accessLog(log zerolog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		st := c.Writer.Status()
		ev := log.Debug()
		if st >= 500 {
			ev = log.Error()
		} else if st >= 400 {
			ev = log.Info()
		}
		ev.Str(ctxReqID, c.GetString(ctxReqID)).Str("method", c.Request.Method).Str("path", c.FullPath()).
			Int("status", st).Dur("took", time.Since(start)).Msg("http")
	}
}

// recovery turns a panic in a handler into a logged 500 instead of a dead connection.
func recovery(log zerolog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				log.Error().Str(ctxReqID, c.GetString(ctxReqID)).Interface("panic", r).
					Str("stack", string(debug.Stack())).Msg("handler panic")
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
			}
		}()
		c.Next()
	}
}
