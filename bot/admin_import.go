package bot

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"clubbot/club"
	"clubbot/store"
)

// MaxImportBody is the largest CSV an import accepts. 20 MB holds about 150,000 club rows,
// far more than the 20,000 clubs planned by 2035; the body is read whole because every row
// is checked before anything is written.
const MaxImportBody = 20 << 20

// importReadTimeout replaces the server's 15 s read timeout for an import body: 20 MB over
// a provincial office's connection can take a minute or two.
const importReadTimeout = 3 * time.Minute

// readImport reads a CSV body: 413 over MaxImportBody, 422 when it is not UTF-8.
func readImport(c *gin.Context) ([]byte, error) {
	tooLarge := &Error{Code: ETooLarge, Message: fmt.Sprintf("tệp quá lớn: tối đa %d MB", MaxImportBody>>20)}
	if c.Request.ContentLength > MaxImportBody {
		return nil, tooLarge
	}
	// Not every writer supports deadlines (test recorders do not); the server's own
	// timeout then applies.
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(importReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxImportBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge
	}
	if err != nil {
		return nil, invalid("không đọc được nội dung: " + err.Error())
	}
	if !utf8.Valid(body) {
		bad := 0
		for len(body[bad:]) > 0 {
			r, n := utf8.DecodeRune(body[bad:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			bad += n
		}
		line := 1 + bytes.Count(body[:bad], []byte("\n"))
		return nil, &Error{Code: EUnprocessable, Rows: []club.RowError{{Line: line, Field: "",
			Message: "tệp không phải UTF-8: trong Excel chọn Lưu thành “CSV UTF-8 (Comma delimited)”"}}}
	}
	return body, nil
}

// csvRow is one data row of an import with its line: the values of the columns asked for.
type csvRow struct {
	line int
	vals []string
}

// scanRows reads the rows the way club.ParseClubs and ParseOfficers do (header by name,
// blank rows and unreadable rows skipped), so row i here is row i of their result. It gives
// the line numbers of rows for the checks against the store.
func scanRows(body []byte, cols ...string) []csvRow {
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil
	}
	pos := make([]int, len(cols))
	for i, col := range cols {
		pos[i] = -1
		for j, h := range header {
			if strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) == col {
				pos[i] = j
			}
		}
	}
	var out []csvRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			continue
		}
		line, _ := cr.FieldPos(0)
		blank := true
		for _, v := range rec {
			if strings.TrimSpace(v) != "" {
				blank = false
			}
		}
		if blank {
			continue
		}
		row := csvRow{line: line, vals: make([]string, len(cols))}
		for i, p := range pos {
			if p >= 0 && p < len(rec) {
				row.vals[i] = strings.TrimSpace(rec[p])
			}
		}
		out = append(out, row)
	}
}

// importErrors turns conflicts with the store into row errors and, with the errors of the
// file itself, answers 422 listing them all by line.
func importErrors(rows []csvRow, fileErrs []club.RowError, conflicts []store.Conflict) error {
	errs := append([]club.RowError(nil), fileErrs...)
	for _, cf := range conflicts {
		line := 0
		if cf.Row < len(rows) {
			line = rows[cf.Row].line
		}
		errs = append(errs, club.RowError{Line: line, Field: cf.Field, Message: cf.Message})
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return &Error{Code: EUnprocessable, Rows: errs}
}

// fileErrors returns the row errors of a parse, or the error itself when it is not about
// the rows.
func fileErrors(err error) ([]club.RowError, error) {
	if err == nil {
		return nil, nil
	}
	var ie *club.ImportError
	if errors.As(err, &ie) {
		return ie.Errors, nil
	}
	return nil, err
}

// importClubs answers POST /api/v1/clubs/import (CONTRACT.md): every row is checked, in
// the file and against the store, before anything is written; any bad row → 422 with all
// of them and nothing written; else {"created":N,"updated":N}.
func (b *Bot) importClubs(c *gin.Context) {
	body, err := readImport(c)
	if err != nil {
		b.abortError(c, err)
		return
	}
	rows := scanRows(body, "code", "chair_phone")
	clubs, perr := club.ParseClubs(bytes.NewReader(body), b.conv.Provinces)
	fileErrs, err := fileErrors(perr)
	if err != nil {
		b.abortError(c, err)
		return
	}
	keys := make([]store.ClubKey, len(rows))
	for i, r := range rows {
		keys[i].Code = r.vals[0]
		keys[i].ChairPhone, _ = club.NormalizePhone(r.vals[1])
	}
	b.finishImport(c, "clubs", len(clubs), rows, fileErrs,
		func() ([]store.Conflict, error) { return b.o.DB.CheckClubs(keys) },
		func() (int, int, []store.Conflict, error) { return b.o.DB.ImportClubs(clubs, b.o.Now()) })
}

// importOfficers answers POST /api/v1/officers/import, with the same rules as clubs.
func (b *Bot) importOfficers(c *gin.Context) {
	body, err := readImport(c)
	if err != nil {
		b.abortError(c, err)
		return
	}
	rows := scanRows(body, "phone")
	officers, perr := club.ParseOfficers(bytes.NewReader(body), b.conv.Provinces)
	fileErrs, err := fileErrors(perr)
	if err != nil {
		b.abortError(c, err)
		return
	}
	phones := make([]string, len(rows))
	for i, r := range rows {
		phones[i], _ = club.NormalizePhone(r.vals[0])
	}
	b.finishImport(c, "officers", len(officers), rows, fileErrs,
		func() ([]store.Conflict, error) { return b.o.DB.CheckOfficers(phones) },
		func() (int, int, []store.Conflict, error) { return b.o.DB.ImportOfficers(officers) })
}

// finishImport is the common end of an import: with errors in the file, answer 422 with
// them and with the clashes against the store (check), so one round lists every bad line;
// otherwise write (which checks the clashes again inside its transaction and writes
// nothing if there are any).
func (b *Bot) finishImport(c *gin.Context, what string, n int, rows []csvRow, fileErrs []club.RowError,
	check func() ([]store.Conflict, error), write func() (created, updated int, conflicts []store.Conflict, err error)) {
	if len(fileErrs) > 0 {
		conflicts, err := check()
		if err != nil {
			b.abortError(c, err)
			return
		}
		b.abortError(c, importErrors(rows, fileErrs, conflicts))
		return
	}
	created, updated, conflicts, err := write()
	if err != nil {
		b.abortError(c, err)
		return
	}
	if len(conflicts) > 0 {
		b.abortError(c, importErrors(rows, nil, conflicts))
		return
	}
	log := reqLogger(c, b.o.Log)
	log.Info().Int("rows", n).Int("created", created).Int("updated", updated).Msg(what + " imported")
	c.JSON(http.StatusOK, gin.H{"created": created, "updated": updated})
}
