package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"clubbot/flows"
	"clubbot/store"
)

// The flows admin API (CONTRACT.md "Admin API"): admins read, edit, test and roll back the
// conversation templates without a deploy (ARCHITECTURE.md rule 4). Every save is a new
// revision; a conversation in progress finishes on the revision it started with, new ones
// use the latest at once.
//
//	GET  /api/v1/flows                          the flows, with their current revision
//	GET  /api/v1/flows/{id}[?revision=N]         the current (or revision N's) YAML
//	PUT  /api/v1/flows/{id}[?note=…]             body YAML → 200 {"revision":N} | 422 line errors
//	GET  /api/v1/flows/{id}/revisions            the history, oldest first
//	POST /api/v1/flows/{id}/rollback?revision=N  a new revision with revision N's content
//	POST /api/v1/flows/{id}/test                 run a transcript before publishing

// maxFlowBody bounds a template or transcript body. The default flow is about 12 KB; 1 MiB
// leaves room for long keyword lists and is the webhook's limit too.
const maxFlowBody = 1 << 20

// flowsAdmin serves the flows admin API.
type flowsAdmin struct {
	db    *store.DB
	flows *FlowSet
	now   func() time.Time
	b     *Bot
	// publish serialises saves, so revisions are numbered and made current in the order
	// they were committed (FlowSet.Publish updates its cache after the commit).
	publish sync.Mutex
}

// mountFlowsAdmin registers the flows admin API behind the admin bearer token. With
// admin.api_token empty nothing is registered: every path answers 404.
func (b *Bot) mountFlowsAdmin(r *gin.Engine) {
	if b.o.AdminToken == "" {
		return
	}
	a := &flowsAdmin{db: b.o.DB, flows: b.flows, now: b.o.Now, b: b}
	g := r.Group("/api/v1/flows", b.adminAuth(b.o.AdminToken))
	g.GET("", a.list)
	g.GET("/:id", a.get)
	g.PUT("/:id", a.put)
	g.GET("/:id/revisions", a.revisions)
	g.POST("/:id/rollback", a.rollback)
	g.POST("/:id/test", a.test)
}

// flowsFail answers an error: a *flows.ValidationError is the 422 body of CONTRACT.md, a
// store failure a 500 whose cause is only logged.
func (a *flowsAdmin) flowsFail(c *gin.Context, status int, err error) {
	switch {
	case status == http.StatusNotFound:
		err = &Error{Code: ENotFound, Message: err.Error(), Err: err}
	case status == http.StatusBadRequest:
		err = &Error{Code: EInvalid, Message: err.Error(), Err: err}
	case status == http.StatusRequestEntityTooLarge:
		err = &Error{Code: ETooLarge, Message: err.Error(), Err: err}
	}
	// One mapping of errors to statuses for the whole admin API (admin.go errorResponse):
	// a template's *flows.ValidationError is the 422 with line numbers.
	a.b.abortError(c, err)
}

// flowSummary is one flow of GET /api/v1/flows.
type flowSummary struct {
	ID          string    `json:"id"`
	Title       string    `json:"title,omitempty"`
	Description string    `json:"description,omitempty"`
	Revision    int       `json:"revision"` // the current one, used by new conversations
	SavedAt     time.Time `json:"saved_at"`
	SavedBy     string    `json:"saved_by,omitempty"`
	Note        string    `json:"note,omitempty"`
	NudgeAfter  string    `json:"nudge_after"`
	ExpireAfter string    `json:"expire_after"`
	Steps       []string  `json:"steps"` // stable answer names, in order: the export columns
}

func (a *flowsAdmin) list(c *gin.Context) {
	cur, err := a.db.CurrentFlows()
	if err != nil {
		a.flowsFail(c, 500, err)
		return
	}
	out := make([]flowSummary, 0, len(cur))
	for _, r := range cur {
		s := flowSummary{ID: r.FlowID, Revision: r.Revision, SavedAt: r.SavedAt, SavedBy: r.SavedBy, Note: r.Note, Steps: []string{}}
		if f, _, err := a.flows.Current(r.FlowID); err == nil && f != nil {
			s.Title, s.Description = f.Title, f.Description
			s.NudgeAfter, s.ExpireAfter = durationText(f.NudgeAfter), durationText(f.ExpireAfter)
			for _, st := range f.Steps {
				if st.Type != flows.TypeInfo && st.Type != flows.TypeConfirm {
					s.Steps = append(s.Steps, st.Name)
				}
			}
		}
		out = append(out, s)
	}
	c.JSON(http.StatusOK, gin.H{"flows": out})
}

func durationText(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

// get answers the YAML of the current revision, or of ?revision=N, as text (so that
// GET, edit, PUT round-trips a file); ?format=json wraps it with its revision.
func (a *flowsAdmin) get(c *gin.Context) {
	id := c.Param("id")
	rev := 0
	if v := c.Query("revision"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			a.flowsFail(c, http.StatusBadRequest, fmt.Errorf("revision must be a revision number, not %q", v))
			return
		}
		rev = n
	}
	var r store.FlowRevision
	current := 0
	err := a.db.View(func(tx *store.Tx) error {
		revs, err := tx.FlowRevisions(id)
		if err != nil {
			return err
		}
		if len(revs) == 0 {
			return store.ErrNotFound
		}
		current = revs[len(revs)-1].Revision
		if rev == 0 {
			r = revs[len(revs)-1]
			return nil
		}
		r, err = tx.FlowRevision(id, rev)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound) && rev == 0:
		a.flowsFail(c, http.StatusNotFound, fmt.Errorf("no flow %q", id))
		return
	case errors.Is(err, store.ErrNotFound):
		a.flowsFail(c, http.StatusNotFound, fmt.Errorf("flow %q has no revision %d", id, rev))
		return
	case err != nil:
		a.flowsFail(c, 500, err)
		return
	}
	c.Header("X-Flow-Revision", strconv.Itoa(r.Revision))
	if c.Query("format") == "json" {
		c.JSON(http.StatusOK, gin.H{"id": r.FlowID, "revision": r.Revision, "current": r.Revision == current,
			"saved_at": r.SavedAt, "saved_by": r.SavedBy, "note": r.Note, "yaml": r.YAML})
		return
	}
	c.Data(http.StatusOK, "application/yaml; charset=utf-8", []byte(r.YAML))
}

// readBody reads at most maxFlowBody bytes; a longer body is an error.
func readBody(c *gin.Context) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(c.Request.Body, maxFlowBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxFlowBody {
		return nil, errTooLarge
	}
	return b, nil
}

var errTooLarge = errors.New("the body is over 1 MiB")

func (a *flowsAdmin) bodyFail(c *gin.Context, err error) {
	if errors.Is(err, errTooLarge) {
		a.flowsFail(c, http.StatusRequestEntityTooLarge, err)
		return
	}
	a.flowsFail(c, http.StatusBadRequest, err)
}

var idLineRE = regexp.MustCompile(`(?m)^id\s*:`)

// validateFor parses src as a template to be saved as flow id: line-numbered errors, and
// its id must be the one in the URL (a flow cannot be saved under another flow's name).
func validateFor(id string, src []byte) (*flows.Flow, error) {
	f, err := flows.Parse(src)
	if err != nil {
		return nil, err
	}
	if f.ID != id {
		line := 1
		if loc := idLineRE.FindIndex(src); loc != nil {
			line = 1 + strings.Count(string(src[:loc[0]]), "\n")
		}
		return nil, &flows.ValidationError{Errors: []flows.LineError{{Line: line,
			Message: fmt.Sprintf("id %q does not match the flow being saved (%q)", f.ID, id)}}}
	}
	return f, nil
}

// put validates and publishes a new revision; an invalid template changes nothing.
func (a *flowsAdmin) put(c *gin.Context) {
	id := c.Param("id")
	src, err := readBody(c)
	if err != nil {
		a.bodyFail(c, err)
		return
	}
	if _, err := validateFor(id, src); err != nil {
		a.flowsFail(c, http.StatusUnprocessableEntity, err)
		return
	}
	a.publish.Lock()
	rev, err := a.flows.Publish(id, src, "admin api", c.Query("note"), a.now())
	a.publish.Unlock()
	if err != nil {
		a.flowsFail(c, 500, err)
		return
	}
	log := reqLogger(c, a.b.o.Log)
	log.Info().Str("flow", id).Int("rev", rev).Msg("flow published")
	c.JSON(http.StatusOK, gin.H{"id": id, "revision": rev})
}

// revisionView is one revision in GET /api/v1/flows/{id}/revisions.
type revisionView struct {
	Revision int       `json:"revision"`
	SavedAt  time.Time `json:"saved_at"`
	SavedBy  string    `json:"saved_by,omitempty"`
	Note     string    `json:"note,omitempty"`
	Bytes    int       `json:"bytes"`
	Current  bool      `json:"current"`
}

func (a *flowsAdmin) revisions(c *gin.Context) {
	id := c.Param("id")
	var revs []store.FlowRevision
	err := a.db.View(func(tx *store.Tx) (err error) {
		revs, err = tx.FlowRevisions(id)
		return err
	})
	if err != nil {
		a.flowsFail(c, 500, err)
		return
	}
	if len(revs) == 0 {
		a.flowsFail(c, http.StatusNotFound, fmt.Errorf("no flow %q", id))
		return
	}
	out := make([]revisionView, len(revs))
	for i, r := range revs {
		out[i] = revisionView{Revision: r.Revision, SavedAt: r.SavedAt, SavedBy: r.SavedBy, Note: r.Note,
			Bytes: len(r.YAML), Current: i == len(revs)-1}
	}
	c.JSON(http.StatusOK, gin.H{"id": id, "current": revs[len(revs)-1].Revision, "revisions": out})
}

// rollback publishes revision N's content as a new revision: the history is kept, and
// conversations that started on the revisions in between still finish on them.
func (a *flowsAdmin) rollback(c *gin.Context) {
	id := c.Param("id")
	v := c.Query("revision")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		a.flowsFail(c, http.StatusBadRequest, fmt.Errorf("revision must be a revision number, not %q", v))
		return
	}
	var old store.FlowRevision
	err = a.db.View(func(tx *store.Tx) (err error) {
		old, err = tx.FlowRevision(id, n)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		a.flowsFail(c, http.StatusNotFound, fmt.Errorf("flow %q has no revision %d", id, n))
		return
	} else if err != nil {
		a.flowsFail(c, 500, err)
		return
	}
	// Revision N was valid when saved; it is checked again in case the engine's rules
	// became stricter since.
	if _, err := validateFor(id, []byte(old.YAML)); err != nil {
		a.flowsFail(c, http.StatusUnprocessableEntity, err)
		return
	}
	a.publish.Lock()
	rev, err := a.flows.Publish(id, []byte(old.YAML), "admin api", fmt.Sprintf("rollback to %d", n), a.now())
	a.publish.Unlock()
	if err != nil {
		a.flowsFail(c, 500, err)
		return
	}
	log := reqLogger(c, a.b.o.Log)
	log.Info().Str("flow", id).Int("rev", rev).Int("from", n).Msg("flow rolled back")
	c.JSON(http.StatusOK, gin.H{"id": id, "revision": rev, "from": n})
}

// testRequest is the JSON form of POST /api/v1/flows/{id}/test: a transcript, and
// optionally the template to test (not saved); without one the current revision is tested.
type testRequest struct {
	Template   string `json:"template"`
	Transcript string `json:"transcript"`
}

// test runs a transcript (docs/flows.md) against an edited template before it is published,
// or against the current revision: the same check `clubbot flows test` makes.
func (a *flowsAdmin) test(c *gin.Context) {
	id := c.Param("id")
	body, err := readBody(c)
	if err != nil {
		a.bodyFail(c, err)
		return
	}
	req := testRequest{Transcript: string(body)}
	if strings.HasPrefix(c.ContentType(), "application/json") {
		req = testRequest{}
		if err := json.Unmarshal(body, &req); err != nil {
			a.flowsFail(c, http.StatusBadRequest, fmt.Errorf("body: %w", err))
			return
		}
	}
	var f *flows.Flow
	rev := 0
	if strings.TrimSpace(req.Template) != "" {
		if f, err = validateFor(id, []byte(req.Template)); err != nil {
			a.flowsFail(c, http.StatusUnprocessableEntity, err)
			return
		}
	} else if f, rev, err = a.flows.Current(id); err != nil {
		a.flowsFail(c, http.StatusNotFound, fmt.Errorf("no flow %q", id))
		return
	}
	failures, err := flows.RunTranscript(f, []byte(req.Transcript))
	if err != nil {
		a.flowsFail(c, http.StatusBadRequest, err)
		return
	}
	tr, _ := flows.ParseTranscript([]byte(req.Transcript))
	if failures == nil {
		failures = []flows.Failure{}
	}
	c.JSON(http.StatusOK, gin.H{"id": id, "revision": rev, "cases": len(tr.Cases), "passed": len(failures) == 0,
		"failures": failures})
}
