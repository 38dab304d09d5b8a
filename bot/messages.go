package bot

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// messageKeys are the wording keys the bot uses; a wording file must define each of them.
var messageKeys = []string{"greeting", "info_card_title", "info_card_subtitle", "ask_phone", "linked_chair",
	"linked_officer", "phone_not_found", "welcome_back", "menu_chair", "menu_officer", "help_chair",
	"report_saved", "report_cancelled", "not_understood", "officer_only", "not_reported",
	"correct_none", "correct_too_old", "correct_intro", "report_corrected", "reports_view", "reports_none",
	"club_unknown", "club_other_province", "club_view", "ask_province", "pending_recorded", "pending_list", "reminder", "linked_board"}

// Messages is the parsed message wording (templates/messages.yaml or an admin's edit).
type Messages struct {
	t map[string]*template.Template
}

var msgFuncs = template.FuncMap{"inc": func(i int) int { return i + 1 }}

// ParseMessages parses and checks a wording file; errors name the line.
func ParseMessages(src []byte) (*Messages, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("messages: line 1: want a mapping of key: text")
	}
	m := &Messages{t: map[string]*template.Template{}}
	known := map[string]bool{}
	for _, k := range messageKeys {
		known[k] = true
	}
	var errs []string
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if !known[k.Value] {
			errs = append(errs, fmt.Sprintf("line %d: unknown message %q", k.Line, k.Value))
			continue
		}
		if v.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Sprintf("line %d: %s must be text", v.Line, k.Value))
			continue
		}
		t, err := template.New(k.Value).Funcs(msgFuncs).Option("missingkey=error").Parse(v.Value)
		if err != nil {
			errs = append(errs, fmt.Sprintf("line %d: %s: %v", v.Line, k.Value, err))
			continue
		}
		m.t[k.Value] = t
	}
	for _, k := range messageKeys {
		if _, ok := m.t[k]; !ok && !strings.Contains(strings.Join(errs, "\n"), `"`+k+`"`) {
			errs = append(errs, fmt.Sprintf("line %d: message %q is missing", root.Line, k))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("messages:\n%s", strings.Join(errs, "\n"))
	}
	return m, nil
}

// Render fills message key with data. A template error falls back to the raw text so a user
// always gets an answer; templates are checked at load, so this only guards data mistakes.
func (m *Messages) Render(key string, data any) string {
	t, ok := m.t[key]
	if !ok {
		return key
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return t.Root.String()
	}
	return strings.TrimRight(b.String(), "\n ")
}
