package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"clubbot/bot"
	"clubbot/flows"
	"clubbot/store"
)

// The flow tools for admins and developers (docs/flows.md):
//
//	clubbot flows validate [dir]   every template in dir, OK or its line errors
//	clubbot flows test [dir]       every transcript in dir/transcripts, pass or fail per case
//	clubbot chat [--flow id]       a conversation in the terminal with the real engine

// defaultFlowsDir is where the shipped templates live, relative to the repository root.
const defaultFlowsDir = "templates/flows"

// chatInput is what chat reads; tests replace it.
var chatInput io.Reader = os.Stdin

const flowsUsage = `Usage:
  clubbot flows validate [dir]   check every template (*.yaml) in dir (default templates/flows)
  clubbot flows test [dir]       run every transcript in dir/transcripts against the flows in dir
`

func flowsCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, flowsUsage)
		return errors.New("flows: validate or test?")
	}
	dir := defaultFlowsDir
	if len(args) > 1 {
		dir = args[1]
	}
	if len(args) > 2 {
		fmt.Fprint(stderr, flowsUsage)
		return errors.New("flows: one folder at most")
	}
	switch args[0] {
	case "validate":
		_, bad, err := loadFlowDir(dir, stdout)
		if err != nil {
			return err
		}
		if bad > 0 {
			return fmt.Errorf("flows validate: %d invalid template(s) in %s", bad, dir)
		}
		return nil
	case "test":
		return testFlowDir(dir, stdout)
	}
	fmt.Fprint(stderr, flowsUsage)
	return fmt.Errorf("flows: unknown command %q", args[0])
}

// loadFlowDir parses every *.yaml template in dir, printing OK or the line errors of each.
// The file name must be the flow's id: the store and the admin API know a flow by it.
func loadFlowDir(dir string, out io.Writer) (map[string]*flows.Flow, int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, 0, err
	}
	if len(files) == 0 {
		return nil, 0, fmt.Errorf("flows: no templates (*.yaml) in %s", dir)
	}
	sort.Strings(files)
	parsed := map[string]*flows.Flow{}
	bad := 0
	for _, file := range files {
		name := filepath.Base(file)
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, 0, err
		}
		f, err := flows.Parse(src)
		if err == nil && f.ID != strings.TrimSuffix(name, ".yaml") {
			err = &flows.ValidationError{Errors: []flows.LineError{{Line: 1,
				Message: fmt.Sprintf("id %q does not match the file name %s (the flow is known by its file name)", f.ID, name)}}}
		}
		var ve *flows.ValidationError
		switch {
		case errors.As(err, &ve):
			bad++
			fmt.Fprintf(out, "FAIL %s\n", name)
			for _, le := range ve.Errors {
				fmt.Fprintf(out, "  %s:%d: %s\n", name, le.Line, le.Message)
			}
		case err != nil:
			return nil, 0, err
		default:
			fmt.Fprintf(out, "OK   %s (%s, %d steps, nudge after %s, expires after %s)\n", name, f.ID, len(f.Steps),
				durationOrOff(f.NudgeAfter), f.ExpireAfter)
			parsed[f.ID] = f
		}
	}
	return parsed, bad, nil
}

func durationOrOff(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.String()
}

// testFlowDir runs every transcript in dir/transcripts against the flows of dir.
func testFlowDir(dir string, out io.Writer) error {
	parsed, bad, err := loadFlowDir(dir, out)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "transcripts", "*.yaml"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return fmt.Errorf("flows test: no transcripts in %s", filepath.Join(dir, "transcripts"))
	}
	cases, failed := 0, 0
	for _, file := range files {
		name := filepath.Join("transcripts", filepath.Base(file))
		src, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		tr, err := flows.ParseTranscript(src)
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL %s: %v\n", name, err)
			continue
		}
		f := parsed[tr.Flow]
		if f == nil {
			failed += len(tr.Cases)
			cases += len(tr.Cases)
			fmt.Fprintf(out, "FAIL %s: no valid flow %q in %s\n", name, tr.Flow, dir)
			continue
		}
		failures, err := flows.RunTranscript(f, src)
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL %s: %v\n", name, err)
			continue
		}
		byCase := map[string][]flows.Failure{}
		for _, fl := range failures {
			byCase[fl.Case] = append(byCase[fl.Case], fl)
		}
		for _, c := range tr.Cases {
			cases++
			fs := byCase[c.Name]
			if len(fs) == 0 {
				fmt.Fprintf(out, "PASS %s: %s\n", name, c.Name)
				continue
			}
			failed++
			delete(byCase, c.Name) // a repeated case name is reported once
			fmt.Fprintf(out, "FAIL %s: %s\n", name, c.Name)
			for _, fl := range fs {
				fmt.Fprintf(out, "    turn %d: %s\n", fl.Turn, strings.ReplaceAll(fl.Message, "\n", "\n    "))
			}
		}
	}
	fmt.Fprintf(out, "%d case(s), %d failed\n", cases, failed)
	if failed > 0 || bad > 0 {
		return fmt.Errorf("flows test: %d case(s) failed, %d invalid template(s)", failed, bad)
	}
	return nil
}

const chatHelp = `Type what a chairperson would type. Also:
  /photo URL      send a photo          /loc LAT,LNG   share a location
  /wait 31m       let time pass (runs the nudge and expiry rule)
  /answers        the answers so far    /quit          leave
`

// chat is a conversation with the real engine in the terminal, on a throwaway store (a
// temporary bbolt file, removed at the end): the same templates, sessions stored as JSON
// between turns and the same timeout rule as the server. It reads lines until EOF, so
// `printf 'có\n20/11\n' | clubbot chat` works too.
func chat(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stdout)
	flowID := fs.String("flow", bot.ReportFlow, "the flow to run")
	file := fs.String("file", "", "a template file to try (published in the throwaway store first)")
	clubName := fs.String("club", "Thử nghiệm", "the club name prompts use ({{.club}})")
	nowText := fs.String("now", "", "the time the chat starts, RFC 3339 (default: now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		return err
	}
	start := time.Now().In(loc)
	if *nowText != "" {
		if start, err = time.Parse(time.RFC3339, *nowText); err != nil {
			return fmt.Errorf("chat: --now: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "clubbot-chat-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "chat.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	set, err := bot.LoadFlows(db, start)
	if err != nil {
		return err
	}
	if *file != "" {
		src, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		f, err := flows.Parse(src)
		if err != nil {
			return fmt.Errorf("chat: %s:\n%w", *file, err)
		}
		if _, err := set.Publish(f.ID, src, "chat", "tried in clubbot chat", start); err != nil {
			return err
		}
		*flowID = f.ID
	}
	c := &chatSession{db: db, set: set, flowID: *flowID, vars: map[string]string{"club": *clubName}, now: start, out: stdout}
	echo := true
	if f, ok := chatInput.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			echo = false // a person at a terminal sees what they typed
		}
	}
	fmt.Fprint(stdout, chatHelp)
	if err := c.start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(chatInput)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if ctx.Err() != nil {
			return nil
		}
		line := strings.TrimSpace(sc.Text())
		if echo {
			fmt.Fprintf(stdout, "you> %s\n", line)
		}
		if line == "/quit" || line == "/exit" {
			return nil
		}
		if err := c.say(line); err != nil {
			return err
		}
	}
	return sc.Err()
}

// chatSession is one terminal conversation; the session lives in the throwaway store.
type chatSession struct {
	db     *store.DB
	set    *bot.FlowSet
	flowID string
	vars   map[string]string
	now    time.Time
	out    io.Writer
}

const chatUser = "chat"

func (c *chatSession) flow(s flows.Session) (*flows.Flow, error) {
	var f *flows.Flow
	err := c.db.View(func(tx *store.Tx) (err error) {
		f, err = c.set.Revision(tx, s.FlowID, s.Revision)
		return err
	})
	return f, err
}

func (c *chatSession) load() (flows.Session, bool, error) {
	var s flows.Session
	var ok bool
	err := c.db.View(func(tx *store.Tx) (err error) {
		s, ok, err = tx.Session(chatUser)
		return err
	})
	return s, ok && s.Status == flows.StatusActive, err
}

func (c *chatSession) save(s flows.Session) error {
	return c.db.Update(func(tx *store.Tx) error { return tx.PutSession(chatUser, s) })
}

func (c *chatSession) start() error {
	f, rev, err := c.set.Current(c.flowID)
	if err != nil {
		return err
	}
	s, replies := flows.Start(f, rev, c.vars, c.now)
	c.print(replies)
	return c.save(s)
}

func (c *chatSession) print(replies []flows.Reply) {
	for _, r := range replies {
		fmt.Fprintf(c.out, "bot> %s\n", strings.ReplaceAll(r.Text, "\n", "\n     "))
		if len(r.Buttons) > 0 {
			var titles []string
			for _, b := range r.Buttons {
				titles = append(titles, "["+b.Title+"]")
			}
			fmt.Fprintf(c.out, "     %s\n", strings.Join(titles, " "))
		}
	}
}

// say handles one line as the bot's worker would: a message to the conversation in
// progress, "báo cáo" to start one (or, during one, the offer to continue), /commands.
func (c *chatSession) say(line string) error {
	c.now = c.now.Add(time.Minute)
	s, active, err := c.load()
	if err != nil {
		return err
	}
	in := flows.Input{Text: line}
	switch {
	case line == "/answers":
		b, _ := json.MarshalIndent(s.Answers, "     ", "  ")
		fmt.Fprintf(c.out, "     %s\n", b)
		return nil
	case strings.HasPrefix(line, "/wait"):
		d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(line, "/wait")))
		if err != nil || d < 0 {
			fmt.Fprintln(c.out, "     (/wait takes a duration, e.g. /wait 31m)")
			return nil
		}
		c.now = c.now.Add(d)
		if !active {
			return nil
		}
		f, err := c.flow(s)
		if err != nil {
			return err
		}
		ns, replies, kind := flows.Tick(f, s, c.now)
		switch kind {
		case flows.TimeoutNudge:
			fmt.Fprintf(c.out, "     (%s later: the nudge)\n", d)
			c.print(replies)
		case flows.TimeoutExpire:
			fmt.Fprintf(c.out, "     (%s later: the conversation expired; nothing is sent)\n", d)
		}
		return c.save(ns)
	case strings.HasPrefix(line, "/photo "):
		in = flows.Input{Photos: []string{strings.TrimSpace(strings.TrimPrefix(line, "/photo "))}}
	case strings.HasPrefix(line, "/loc "):
		lat, lng, _ := strings.Cut(strings.TrimPrefix(line, "/loc "), ",")
		in = flows.Input{Lat: strings.TrimSpace(lat), Lng: strings.TrimSpace(lng)}
	case strings.HasPrefix(line, "/"):
		fmt.Fprint(c.out, chatHelp)
		return nil
	}
	report := isReportCommand(line)
	if !active {
		if s.Status == flows.StatusExpired && !report {
			f, err := c.flow(s)
			if err != nil {
				return err
			}
			_, replies, _ := flows.Advance(f, s, in, c.now)
			c.print(replies)
			return c.db.Update(func(tx *store.Tx) error { return tx.DeleteSession(chatUser) })
		}
		if report {
			return c.start()
		}
		fmt.Fprintln(c.out, "bot> (no conversation in progress: type “báo cáo” to start one, /quit to leave)")
		return nil
	}
	f, err := c.flow(s)
	if err != nil {
		return err
	}
	if report {
		ns, replies := flows.Offer(f, s, c.now)
		c.print(replies)
		return c.save(ns)
	}
	ns, replies, effects := flows.Advance(f, s, in, c.now)
	c.print(replies)
	for _, e := range effects {
		switch e.Kind {
		case flows.EffectSubmit:
			b, _ := json.MarshalIndent(ns.Answers, "     ", "  ")
			fmt.Fprintf(c.out, "     (submitted on revision %d; the stored answers:)\n     %s\n", ns.Revision, b)
		case flows.EffectCancel:
			fmt.Fprintln(c.out, "     (cancelled; nothing stored)")
		}
	}
	return c.save(ns)
}

// isReportCommand is the bot's "báo cáo" command (CONTRACT.md).
func isReportCommand(text string) bool {
	switch strings.Trim(flows.Fold(text), " .!?") {
	case "bao cao", "bc", "#baocao", "baocao":
		return true
	}
	return false
}
