package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"clubbot/export"
	"clubbot/flows"
	"clubbot/store"
)

// exportPage is how many reports one read transaction of an export decodes: enough that
// the per-transaction cost vanishes, few enough (≈1 MB) that memory stays flat.
const exportPage = 500

// exportWriteTimeout replaces the server's 60 s write timeout for one export: 200,000
// reports to a slow connection take longer than that, and the limit still frees the
// handler if a client stops reading.
const exportWriteTimeout = 15 * time.Minute

// exportSlots bounds the exports running at once in the process. An XLSX export holds about
// 80 MB at its peak and each export keeps a core busy for seconds; more requests wait their
// turn (until their client gives up) rather than push the bot's memory and the webhook's
// latency out of budget.
var exportSlots = make(chan struct{}, 2)

// exportQuery selects and formats the reports of an export.
type exportQuery struct {
	From, To string // YYYY-MM-DD, inclusive; empty = unbounded
	Province string // province code; empty = all
	Format   string // "json", "csv" or "xlsx"
}

var exportTypes = map[string]string{
	"json": "application/json; charset=utf-8",
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// parseExportQuery reads and checks the query of GET /api/v1/reports.
func (b *Bot) parseExportQuery(c *gin.Context) (exportQuery, error) {
	if err := checkParams(c, "from", "to", "province", "format"); err != nil {
		return exportQuery{}, err
	}
	q := exportQuery{Format: strings.ToLower(c.DefaultQuery("format", "json"))}
	if _, ok := exportTypes[q.Format]; !ok {
		return q, invalid(fmt.Sprintf("format: “%s” không hợp lệ; dùng json, csv hoặc xlsx", q.Format))
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"from", &q.From}, {"to", &q.To}} {
		v := c.Query(p.name)
		if v == "" {
			continue
		}
		d, err := time.Parse(time.DateOnly, v)
		if err != nil || d.Format(time.DateOnly) != v {
			return q, invalid(fmt.Sprintf("%s: ngày “%s” không hợp lệ; dùng YYYY-MM-DD, ví dụ 2026-11-30", p.name, v))
		}
		*p.dst = v
	}
	if q.From != "" && q.To != "" && q.From > q.To {
		return q, invalid(fmt.Sprintf("from (%s) sau to (%s)", q.From, q.To))
	}
	var err error
	q.Province, err = b.province(c.Query("province"))
	return q, err
}

// filename is the download name of the export, e.g. bao-cao_2026-11-01_2026-11-30_tuyen-quang.csv.
func (q exportQuery) filename() string {
	parts := []string{"bao-cao"}
	if q.From != "" || q.To != "" {
		from, to := q.From, q.To
		if from == "" {
			from = "dau"
		}
		if to == "" {
			to = "nay"
		}
		parts = append(parts, from, to)
	}
	if q.Province != "" {
		parts = append(parts, q.Province)
	}
	return strings.Join(parts, "_") + "." + q.Format
}

// exportReports answers GET /api/v1/reports: the meeting reports whose meeting date lies in
// [from, to], one row per report, streamed. Errors found before the first byte is written
// get their status; after that the connection is cut, so a client never takes a truncated
// file for a whole one.
func (b *Bot) exportReports(c *gin.Context) {
	q, err := b.parseExportQuery(c)
	if err != nil {
		b.abortError(c, err)
		return
	}
	if err := http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(exportWriteTimeout)); err != nil {
		log := reqLogger(c, b.o.Log)
		log.Debug().Err(err).Msg("export: write deadline not extended")
	}
	select {
	case exportSlots <- struct{}{}:
		defer func() { <-exportSlots }()
	case <-c.Request.Context().Done():
		return // the client gave up waiting
	}
	w := &lazyWriter{c: c, start: func() {
		c.Header("Content-Type", exportTypes[q.Format])
		c.Header("Content-Disposition", `attachment; filename="`+q.filename()+`"`)
		c.Header("Cache-Control", "no-store")
		c.Status(http.StatusOK)
	}}
	n, err := b.writeReports(c.Request.Context(), w, q)
	log := reqLogger(c, b.o.Log)
	if err == nil {
		log.Info().Int("reports", n).Str("format", q.Format).Msg("reports exported")
		return
	}
	if !w.started {
		b.abortError(c, err)
		return
	}
	ev := log.Error()
	if errors.Is(err, context.Canceled) {
		ev = log.Info() // the client went away
	}
	ev.Err(err).Int("reports", n).Str("format", q.Format).Msg("export stopped while streaming; connection cut")
	panic(http.ErrAbortHandler)
}

// lazyWriter sets the response headers on the first write, so an error before any byte
// still gets a proper status.
type lazyWriter struct {
	c       *gin.Context
	start   func()
	started bool
}

func (w *lazyWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.started = true
		w.start()
	}
	return w.c.Writer.Write(p)
}

// reportWriter is export.Writer; the XLSX writer is in this package (it needs temp files).
type reportWriter = export.Writer

// writeReports writes the meeting reports selected by q to w and returns how many it
// wrote. Reports are read a page at a time (store.ReportPage), each page in its own short
// read transaction, and written before the next is read: memory holds one page, the
// registry's club names and the users' names, never the whole export.
func (b *Bot) writeReports(ctx context.Context, w io.Writer, q exportQuery) (int, error) {
	layout, err := b.reportLayout()
	if err != nil {
		return 0, err
	}
	clubNames, reporters, err := b.exportNames()
	if err != nil {
		return 0, err
	}
	loc := b.o.Loc
	filter := store.ReportFilter{From: q.From, To: q.To, Province: q.Province, FlowID: ReportFlow}
	// Read the first page before writing anything, so a failing store is a 500.
	page, next, done, err := b.o.DB.ReportPage(filter, 0, exportPage, nil)
	if err != nil {
		return 0, err
	}
	var out reportWriter
	switch q.Format {
	case "csv":
		out, err = export.NewCSV(w, layout, loc)
	case "xlsx":
		out, err = newXLSX(w, layout, b.conv.Provinces, loc)
	default:
		out, err = export.NewJSON(w, layout)
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		for i := range page {
			r := &page[i]
			m := export.Meta{ClubName: clubNames[r.ClubCode], ProvinceName: b.conv.Provinces.Name(r.Province),
				Reporter: reporters[r.ReporterID]}
			if m.Reporter == "" {
				m.Reporter = r.ReporterID
			}
			if err := out.Write(r, m); err != nil {
				closeQuietly(out)
				return n, fmt.Errorf("export report %d: %w", r.ID, err)
			}
			n++
		}
		if done {
			break
		}
		if err := ctx.Err(); err != nil {
			closeQuietly(out)
			return n, fmt.Errorf("export: %w", err)
		}
		clear(page) // drop the answers maps before the next page reuses the slice
		if page, next, done, err = b.o.DB.ReportPage(filter, next, exportPage, page[:0]); err != nil {
			closeQuietly(out)
			return n, err
		}
	}
	return n, out.Close()
}

// closeQuietly releases a writer after a failure (the XLSX writer removes its temp files).
func closeQuietly(w reportWriter) {
	if x, ok := w.(*xlsxWriter); ok {
		x.discard()
	}
}

// reportLayout builds the export columns from every revision of the report flow.
func (b *Bot) reportLayout() (*export.Layout, error) {
	var revs []*flows.Flow
	err := b.o.DB.View(func(tx *store.Tx) error {
		all, err := tx.FlowRevisions(ReportFlow)
		if err != nil {
			return err
		}
		for _, r := range all {
			f, err := b.flows.Revision(tx, ReportFlow, r.Revision)
			if err != nil {
				return err
			}
			revs = append(revs, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export: read flow %s: %w", ReportFlow, err)
	}
	return export.NewLayout(revs), nil
}

// exportNames returns club names by code and reporters' names by Zalo id.
func (b *Bot) exportNames() (map[string]string, map[string]string, error) {
	clubs, err := b.o.DB.Clubs("")
	if err != nil {
		return nil, nil, fmt.Errorf("export: read clubs: %w", err)
	}
	users, err := b.o.DB.Users()
	if err != nil {
		return nil, nil, fmt.Errorf("export: read users: %w", err)
	}
	names := make(map[string]string, len(clubs))
	for _, c := range clubs {
		names[c.Code] = c.Name
	}
	people := make(map[string]string, len(users))
	for _, u := range users {
		if u.Name != "" {
			people[u.ID] = u.Name
		}
	}
	return names, people, nil
}
