package bot

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/club"
	"clubbot/digest"
	"clubbot/store"
	"clubbot/templates"
)

// The weekly digest (issue 6): built by package digest from the store, delivered through
// the outbox to the province's officers and Zalo groups, once per (province, week).

// DefaultDigestSchedule is digest.schedule's default (CONTRACT.md).
const DefaultDigestSchedule = "MON 07:00"

// nationalKey is the national digest's scope in the delivery log and the admin API
// (digest.National is the empty string).
const nationalKey = "national"

// digestScanMargin: the report scan starts at reports confirmed this long before the first
// meeting date a digest reads. A report is confirmed on or after its meeting day, so a day
// would do; the month covers a clock that was set back and a correction that moved a
// meeting date later (store.Tx.ReportsRawSince relies on creation order).
const digestScanMargin = 31 * 24 * time.Hour

// uploadTimeout bounds the chart upload of one digest run: the text must not wait on a
// slow upload for long; without an attachment id the sender uploads the file itself.
const uploadTimeout = 30 * time.Second

// digestTemplates is the embedded digest wording, parsed and checked once.
var digestTemplates = sync.OnceValue(func() *digest.Templates {
	return digest.MustParseTemplates(templates.Digest())
})

// imageUploader is the part of the Zalo client a digest run uses.
type imageUploader interface {
	UploadImage(ctx context.Context, filename string, data []byte) (string, error)
}

// Digester builds and delivers the weekly digests: on schedule (Run), on demand (the admin
// API) and for an officer's "tổng hợp".
type Digester struct {
	db        *store.DB
	upload    imageUploader
	log       zerolog.Logger
	now       func() time.Time
	loc       *time.Location
	sched     digest.Schedule
	provinces *club.Provinces
	tmpl      *digest.Templates
	buttons   bool
	metrics   *Metrics
	wake      func()
	chartDir  string
}

// newDigester wires a Digester from the bot's options. digest.schedule is read in
// digest.timezone (Options.Loc).
func newDigester(b *Bot) (*Digester, error) {
	spec := b.o.DigestSchedule
	if spec == "" {
		spec = DefaultDigestSchedule
	}
	sched, err := digest.ParseSchedule(spec, b.o.Loc)
	if err != nil {
		return nil, err
	}
	return &Digester{db: b.o.DB, upload: b.client, log: b.o.Log.With().Str("component", "digest").Logger(),
		now: b.o.Now, loc: b.o.Loc, sched: sched, provinces: b.conv.Provinces, tmpl: digestTemplates(),
		buttons: b.o.Buttons, metrics: b.m, wake: b.sender.Wake,
		chartDir: filepath.Join(filepath.Dir(b.o.DB.Path()), "digests")}, nil
}

// scopeKey is a digest scope as the log and the API name it.
func scopeKey(scope string) string { return cmp.Or(scope, nationalKey) }

// allScopes is every province and the national digest, in file order.
func allScopes(p *club.Provinces) []string {
	out := []string{digest.National}
	for _, pr := range p.All() {
		out = append(out, pr.Code)
	}
	return out
}

// resolveProvince maps a stored province (a code, or a pre-2025 name in old records) to
// its code; "" when unknown.
func resolveProvince(p *club.Provinces, s string) string {
	if s == "" {
		return ""
	}
	if pr, ok := p.Lookup(s); ok {
		return pr.Code
	}
	return ""
}

// officerScope is the digest a linked user reads: their province's, the national one for
// an admin without a province. ok is false for anyone else (a chair, or a province nobody
// knows): an officer sees only their province (ARCHITECTURE.md rule 8), never the
// national digest by default.
func officerScope(p *club.Provinces, u club.User) (string, bool) {
	if u.Role != club.RoleOfficer && u.Role != club.RoleAdmin {
		return "", false
	}
	if u.Province == "" {
		return digest.National, u.Role == club.RoleAdmin
	}
	scope := resolveProvince(p, u.Province)
	return scope, scope != ""
}

// loadDigestData reads, inside tx, the clubs of the scopes (nil: all) and their reports of
// meetings since from. Only the recent end of the report store is read, each record is
// filtered on its raw JSON first (meeting date, club), and only the rest is decoded: the
// weekly run over 20,000 clubs stays well under a second. A record that cannot be decoded is skipped and counted, not fatal: one bad
// record must not stop every province's digest.
func loadDigestData(tx *store.Tx, p *club.Provinces, scopes []string, from digest.Day) (digest.Data, int, error) {
	var d digest.Data
	var clubs []club.Club
	err := tx.ClubsRaw(func(raw []byte) error {
		c, err := digest.DecodeClub(raw)
		if err != nil {
			return err
		}
		clubs = append(clubs, c)
		return nil
	})
	if err != nil {
		return d, 0, fmt.Errorf("digest: read clubs: %w", err)
	}
	var keep map[string]bool // club codes wanted; nil: all
	if scopes != nil && !slices.Contains(scopes, digest.National) {
		keep = map[string]bool{}
		resolved := map[string]string{}
		for _, c := range clubs {
			code, ok := resolved[c.Province]
			if !ok {
				code = resolveProvince(p, c.Province)
				resolved[c.Province] = code
			}
			if slices.Contains(scopes, code) {
				keep[c.Code] = true
				d.Clubs = append(d.Clubs, c)
			}
		}
	} else {
		d.Clubs = clubs
	}
	horizon := from.String()
	y, m, dd := from.Date().Date()
	since := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Add(-digestScanMargin)
	bad := 0
	err = tx.ReportsRawSince(since, func(raw []byte) error {
		if md, ok := digest.Peek(raw, "meeting_date"); ok && string(md) < horizon {
			return nil
		}
		if keep != nil {
			if c, ok := digest.Peek(raw, "club"); ok && !keep[string(c)] {
				return nil
			}
		}
		r, err := digest.DecodeReport(raw)
		if err != nil {
			bad++
			return nil
		}
		d.Reports = append(d.Reports, r)
		return nil
	})
	if err != nil {
		return d, bad, fmt.Errorf("digest: read reports: %w", err)
	}
	return d, bad, nil
}

// digestOptions are the digest package's options for this bot.
func digestOptions(p *club.Provinces, loc *time.Location) digest.Options {
	return digest.Options{Provinces: p, Loc: loc}
}

// renderedDigest is one scope's digest as messages.
type renderedDigest struct {
	digest  *digest.Digest
	officer []zalo.Message // body, footer included unless it is sent with buttons
	footer  *zalo.Message  // the closing question with quick replies, sent after the chart
	group   []zalo.Message
	chart   []byte // nil when there is nothing to draw
	caption string
}

// footerButtons answer the closing question of an officer's digest; tapping one sends
// its payload as a message (API.md §2.7), which the officer commands recognise.
var footerButtons = []zalo.Button{{Title: "Chưa báo cáo", Payload: "#chuabaocao"}, {Title: "Tổng hợp", Payload: "#tonghop"}}

// renderDigest turns a digest into the messages of each audience and, if withChart, its
// chart. The chart is left out when no club has area data: an empty chart says nothing.
func renderDigest(t *digest.Templates, dg *digest.Digest, buttons, withChart bool) (renderedDigest, error) {
	out := renderedDigest{digest: dg}
	ro, err := t.Render(dg, digest.Officer)
	if err != nil {
		return out, err
	}
	if buttons {
		for _, m := range digest.Pack(ro.Sections, digest.MaxMessage) {
			out.officer = append(out.officer, zalo.Message{Text: m})
		}
		out.footer = &zalo.Message{Text: ro.Footer, Buttons: footerButtons}
	} else {
		for _, m := range ro.Messages() {
			out.officer = append(out.officer, zalo.Message{Text: m})
		}
	}
	rg, err := t.Render(dg, digest.Group)
	if err != nil {
		return out, err
	}
	for _, m := range rg.Messages() {
		out.group = append(out.group, zalo.Message{Text: m})
	}
	if withChart && dg.Clubs > 0 && len(dg.Fewest) > 0 {
		text, err := t.ChartText(dg)
		if err != nil {
			return out, err
		}
		if out.chart, err = digest.Chart(dg, text); err != nil {
			return out, err
		}
		out.caption = text.Caption
	}
	return out, nil
}

// digestNow renders the digest of scope for the week so far, inside tx: an officer's
// "tổng hợp". The chart is not part of it: drawing is cheap, but sending an image needs an
// upload, which has no place inside the worker's transaction.
func digestNow(tx *store.Tx, p *club.Provinces, loc *time.Location, scope string, now time.Time, buttons bool) (renderedDigest, error) {
	w := digest.WeekOf(now, loc)
	asOf := digest.AsOf(w, now, loc)
	d, _, err := loadDigestData(tx, p, []string{scope}, digest.HistoryStart(asOf, loc))
	if err != nil {
		return renderedDigest{}, err
	}
	dg := digest.Build(d, w, asOf, []string{scope}, digestOptions(p, loc))[scope]
	return renderDigest(digestTemplates(), dg, buttons, false)
}

// recipients returns, per scope wanted, the active linked officers and admins of the
// province (national: the admins without a province) and the Zalo groups mapped to it,
// officers first, each list in a stable order.
func (d *Digester) recipients(scopes []string) (map[string][]store.DigestRecipient, error) {
	out := map[string][]store.DigestRecipient{}
	users, err := d.db.Users()
	if err != nil {
		return nil, fmt.Errorf("digest recipients: %w", err)
	}
	for _, u := range users {
		if !u.Active {
			continue
		}
		scope, ok := officerScope(d.provinces, u)
		if ok && slices.Contains(scopes, scope) {
			out[scope] = append(out[scope], store.DigestRecipient{UserID: u.ID, Name: u.Name, Role: u.Role})
		}
	}
	for s := range out {
		slices.SortFunc(out[s], func(a, b store.DigestRecipient) int {
			return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.UserID, b.UserID))
		})
	}
	err = d.db.View(func(tx *store.Tx) error {
		for _, s := range scopes {
			if s == digest.National {
				continue
			}
			groups, err := tx.GroupsOfProvince(s)
			if err != nil {
				return err
			}
			for _, g := range groups {
				out[s] = append(out[s], store.DigestRecipient{GroupID: g, Role: "group"})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("digest recipients: groups: %w", err)
	}
	return out, nil
}

// DigestResult is the delivery of one scope's digest for one week, as the admin API
// answers it.
type DigestResult struct {
	Province    string            `json:"province"` // code, or "national"
	Name        string            `json:"name"`
	Week        string            `json:"week"`
	Queued      bool              `json:"queued"` // this call queued messages
	Note        string            `json:"note,omitempty"`
	Runs        int               `json:"runs"` // deliveries so far (1 + forced ones)
	DeliveredAt time.Time         `json:"delivered_at,omitzero"`
	Trigger     string            `json:"trigger,omitempty"`
	Chart       string            `json:"chart,omitempty"`
	Recipients  []RecipientStatus `json:"recipients"`
}

// RecipientStatus is where one recipient's digest stands, from its outbox items: "sent"
// when all went out, "held" when the officer is outside the interaction window (sent when
// they next write, API.md §5.2), "queued" while waiting, "failed" when one failed for good.
type RecipientStatus struct {
	UserID   string `json:"user_id,omitempty"`
	GroupID  string `json:"group_id,omitempty"`
	Name     string `json:"name,omitempty"`
	Role     string `json:"role"`
	Status   string `json:"status"`
	Messages int    `json:"messages"`
	Sent     int    `json:"sent"`
	Held     int    `json:"held,omitempty"`
	Queued   int    `json:"queued,omitempty"`
	Failed   int    `json:"failed,omitempty"`
}

// result reads the statuses of a delivery's last run inside tx.
func (d *Digester) result(tx *store.Tx, log store.DigestDelivery) (DigestResult, error) {
	res := DigestResult{Province: log.Scope, Week: log.Week, Runs: len(log.Runs), Recipients: []RecipientStatus{}}
	res.Name = "Toàn quốc"
	if log.Scope != nationalKey {
		res.Name = d.provinces.Name(log.Scope)
	}
	if len(log.Runs) == 0 {
		return res, nil
	}
	run := log.Runs[len(log.Runs)-1]
	res.DeliveredAt, res.Trigger, res.Chart = run.At.In(d.loc), run.Trigger, run.Chart
	for _, rc := range run.Recipients {
		st := RecipientStatus{UserID: rc.UserID, GroupID: rc.GroupID, Name: rc.Name, Role: rc.Role, Messages: len(rc.Items)}
		for _, id := range rc.Items {
			it, err := tx.OutboxItem(id)
			if err != nil {
				return res, fmt.Errorf("digest status: outbox item %d: %w", id, err)
			}
			switch it.Status {
			case store.OutSent:
				st.Sent++
			case store.OutHeld:
				st.Held++
			case store.OutFailed:
				st.Failed++
			default:
				st.Queued++
			}
		}
		switch {
		case st.Failed > 0:
			st.Status = store.OutFailed
		case st.Held > 0:
			st.Status = store.OutHeld
		case st.Queued > 0:
			st.Status = store.OutQueued
		default:
			st.Status = store.OutSent
		}
		res.Recipients = append(res.Recipients, st)
	}
	return res, nil
}

// delivered reports whether a digest reached anyone. A run without recipients (no officer
// linked yet) is logged, so the schedule does not rebuild it every hour, but does not
// count as delivered: an admin can run it once officers have linked, without force.
func delivered(log store.DigestDelivery) bool {
	for _, r := range log.Runs {
		if len(r.Recipients) > 0 {
			return true
		}
	}
	return false
}

// Deliver builds and delivers week w's digest of each scope (nil: every province and the
// national one) that has not gone out yet, or again for all of them with force. It
// returns each scope's delivery. A scope already delivered is left alone unless force.
// Each scope's outbox items and its log entry are written
// in one transaction that first checks the log, so concurrent runs (the schedule and an
// admin) cannot send a digest twice.
func (d *Digester) Deliver(ctx context.Context, w digest.Week, scopes []string, force bool, trigger string) ([]DigestResult, error) {
	if scopes == nil {
		scopes = allScopes(d.provinces)
	}
	week := w.String()
	results := map[string]DigestResult{}
	var todo []string
	err := d.db.View(func(tx *store.Tx) error {
		for _, s := range scopes {
			log, _, err := tx.DigestDelivery(scopeKey(s), week)
			if err != nil {
				return err
			}
			if delivered(log) && !force {
				res, err := d.result(tx, log)
				if err != nil {
					return err
				}
				res.Note = "đã gửi trước đó; thêm force=1 để gửi lại"
				results[s] = res
				continue
			}
			todo = append(todo, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("digest %s: read the delivery log: %w", week, err)
	}
	if len(todo) > 0 {
		if err := d.deliver(ctx, w, todo, force, trigger, results); err != nil {
			return nil, err
		}
	}
	out := make([]DigestResult, 0, len(scopes))
	for _, s := range scopes {
		out = append(out, results[s])
	}
	return out, nil
}

func (d *Digester) deliver(ctx context.Context, w digest.Week, scopes []string, force bool, trigger string, results map[string]DigestResult) error {
	start := time.Now()
	now := d.now()
	asOf := digest.AsOf(w, now, d.loc)
	week := w.String()
	var data digest.Data
	var bad int
	err := d.db.View(func(tx *store.Tx) error {
		var err error
		data, bad, err = loadDigestData(tx, d.provinces, scopes, digest.HistoryStart(asOf, d.loc))
		return err
	})
	if err != nil {
		return err
	}
	if bad > 0 {
		d.log.Warn().Int("records", bad).Msg("digest: reports that could not be read were left out")
	}
	built := digest.Build(data, w, asOf, scopes, digestOptions(d.provinces, d.loc))
	recipients, err := d.recipients(scopes)
	if err != nil {
		return err
	}
	d.log.Info().Str("week", week).Int("scopes", len(scopes)).Int("clubs", len(data.Clubs)).
		Int("reports", len(data.Reports)).Dur("took", time.Since(start)).Msg("digests built")
	// Render and upload first (network, outside any transaction), then record every
	// scope in one transaction: a run is logged whole or not at all, with one fsync.
	type prepared struct {
		r     renderedDigest
		image *OutMessage
		chart string
	}
	prep := make(map[string]prepared, len(scopes))
	for _, s := range scopes {
		if err := ctx.Err(); err != nil {
			// Stopping: nothing is logged, so the run is done again after the restart.
			return fmt.Errorf("digest %s: %w", week, err)
		}
		r, err := renderDigest(d.tmpl, built[s], d.buttons, len(recipients[s]) > 0)
		if err != nil {
			return err
		}
		image, note := d.prepareChart(ctx, s, week, r)
		prep[s] = prepared{r, image, note}
	}
	err = d.db.Update(func(tx *store.Tx) error {
		for _, s := range scopes {
			log, _, err := tx.DigestDelivery(scopeKey(s), week)
			if err != nil {
				return err
			}
			if delivered(log) && !force {
				// Another run delivered it since we looked: nothing new.
				res, err := d.result(tx, log)
				res.Note = "đã gửi trước đó; thêm force=1 để gửi lại"
				results[s] = res
				if err != nil {
					return err
				}
				continue
			}
			p := prep[s]
			run := store.DigestRun{At: now, Trigger: trigger, Chart: p.chart, Recipients: []store.DigestRecipient{}}
			for _, rc := range recipients[s] {
				if rc.Items, err = d.enqueue(tx, rc, p.r, p.image, now, scopeKey(s)+":"+week); err != nil {
					return err
				}
				run.Recipients = append(run.Recipients, rc)
			}
			log.Runs = append(log.Runs, run)
			if err := tx.PutDigestDelivery(log); err != nil {
				return err
			}
			res, err := d.result(tx, log)
			if err != nil {
				return err
			}
			res.Queued = len(run.Recipients) > 0
			results[s] = res
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("digest %s: record the run: %w", week, err)
	}
	for _, s := range scopes {
		if r := results[s]; r.Queued {
			d.log.Info().Str("scope", r.Province).Str("week", week).Str("trigger", trigger).
				Int("recipients", len(r.Recipients)).Str("chart", r.Chart).Msg("digest queued")
		}
	}
	if d.wake != nil {
		d.wake()
	}
	return nil
}

// prepareChart saves the chart next to the store and uploads it. The outbox item carries
// both: the attachment id for the sender to use now, and the file for the sender to upload
// again when the id has expired (7 days, API.md §8) — a digest held for an officer outside
// the window may go out later than that.
func (d *Digester) prepareChart(ctx context.Context, scope, week string, r renderedDigest) (*OutMessage, string) {
	if r.chart == nil {
		return nil, "none"
	}
	m := &OutMessage{Message: zalo.Message{Text: r.caption}}
	name := scopeKey(scope) + "-" + week + ".png"
	path := filepath.Join(d.chartDir, name)
	if err := os.MkdirAll(d.chartDir, 0o750); err != nil {
		d.log.Warn().Err(err).Msg("digest chart: create folder")
	} else if err := os.WriteFile(path, r.chart, 0o640); err != nil {
		d.log.Warn().Err(err).Msg("digest chart: save")
	} else {
		m.ImageFile = path
	}
	if d.upload == nil {
		return m, "saved"
	}
	uctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	id, err := d.upload.UploadImage(uctx, name, r.chart)
	if err != nil {
		d.log.Warn().Err(err).Str("scope", scopeKey(scope)).Msg("digest chart upload failed; the sender will upload it")
		if m.ImageFile == "" {
			return nil, "upload failed: " + err.Error()
		}
		return m, "upload failed: " + err.Error()
	}
	m.AttachmentID, m.UploadedAt = id, d.now()
	return m, "uploaded"
}

// enqueue records one recipient's messages in send order: the text, the chart, then the
// closing question with buttons (officers, when quick replies are on). Groups get text
// and image only: no buttons in groups (API.md §6.1).
func (d *Digester) enqueue(tx *store.Tx, rc store.DigestRecipient, r renderedDigest, image *OutMessage, now time.Time, ref string) ([]uint64, error) {
	item := store.OutboxItem{UserID: rc.UserID, GroupID: rc.GroupID, Kind: "digest", Priority: store.PriorityBulk,
		Proactive: rc.UserID != "", CreatedAt: now, Ref: "digest:" + ref}
	msgs := r.officer
	if rc.GroupID != "" {
		msgs = r.group
	}
	var out []OutMessage
	for _, m := range msgs {
		out = append(out, OutMessage{Message: m})
	}
	if image != nil {
		out = append(out, *image)
	}
	if rc.GroupID == "" && r.footer != nil {
		out = append(out, OutMessage{Message: *r.footer})
	}
	var ids []uint64
	for _, m := range out {
		got, err := EnqueueMessage(tx, item, m, d.metrics)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// Preview renders week w's digest of one scope as it would be sent now, with its chart.
func (d *Digester) Preview(w digest.Week, scope string) (renderedDigest, error) {
	asOf := digest.AsOf(w, d.now(), d.loc)
	var data digest.Data
	err := d.db.View(func(tx *store.Tx) error {
		var err error
		data, _, err = loadDigestData(tx, d.provinces, []string{scope}, digest.HistoryStart(asOf, d.loc))
		return err
	})
	if err != nil {
		return renderedDigest{}, err
	}
	dg := digest.Build(data, w, asOf, []string{scope}, digestOptions(d.provinces, d.loc))[scope]
	return renderDigest(d.tmpl, dg, d.buttons, true)
}
