package zalo

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of API.md §4. Zalo does not say how it counts characters; clubbot counts Unicode
// code points (Go runes), the natural reading (API.md §4.2).
const (
	MaxTextRunes         = 2000 // message text and image caption
	MaxButtonTitleRunes  = 35   // button title in v3 templates (§4.3)
	MaxInfoTitleRunes    = 100  // request_user_info element title (§4.2)
	MaxInfoSubtitleRunes = 500  // request_user_info element subtitle (§4.2)
)

// Button is a quick-reply button of type oa.query.hide: tapping it makes the user send
// Payload as an ordinary text message without showing it (API.md §2.7, §4.3).
type Button struct {
	Title   string // at most MaxButtonTitleRunes
	Payload string // prefix it ("#area:health") so it cannot be confused with free text
}

// Message is one outbound message. Exactly one form is sent:
//   - InfoCard set: the request_user_info template (Text must be empty);
//   - Buttons set: the `list` template of API.md §4.3. The first line of Text is the
//     element title, the remaining lines its subtitle. Not allowed with an image;
//   - ImageURL or AttachmentID set (not both): the media template with one image, Text as
//     the caption;
//   - otherwise plain Text.
//
// QuoteMsgID adds quote_message_id (reply to a user's message) to any form.
type Message struct {
	Text         string
	Buttons      []Button
	ImageURL     string    // media template with url
	AttachmentID string    // media template with attachment_id (from UploadImage)
	QuoteMsgID   string    // quote_message_id
	InfoCard     *InfoCard // request_user_info template
}

// InfoCard is a request_user_info card: the user's answer arrives as a user_submit_info
// event (API.md §4.2). Include an ImageURL: it is shown as the card image.
type InfoCard struct {
	Title    string // at most MaxInfoTitleRunes
	Subtitle string // at most MaxInfoSubtitleRunes
	ImageURL string
}

// The JSON shapes of API.md §4.2–§4.3 and §6.2.
type (
	sendBody struct {
		Recipient recipient  `json:"recipient"`
		Message   outMessage `json:"message"`
	}
	recipient struct {
		UserID  string `json:"user_id,omitempty"`
		GroupID string `json:"group_id,omitempty"`
	}
	outMessage struct {
		Text           string      `json:"text,omitempty"`
		QuoteMessageID string      `json:"quote_message_id,omitempty"`
		Attachment     *attachment `json:"attachment,omitempty"`
	}
	attachment struct {
		Type    string          `json:"type"`
		Payload templatePayload `json:"payload"`
	}
	templatePayload struct {
		TemplateType string      `json:"template_type"`
		Elements     []element   `json:"elements"`
		Buttons      []outButton `json:"buttons,omitempty"`
	}
	element struct {
		MediaType    string `json:"media_type,omitempty"`
		URL          string `json:"url,omitempty"`
		AttachmentID string `json:"attachment_id,omitempty"`
		Title        string `json:"title,omitempty"`
		Subtitle     string `json:"subtitle,omitempty"`
		ImageURL     string `json:"image_url,omitempty"`
	}
	outButton struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Payload string `json:"payload"`
	}
)

// buildMessage validates m and returns the JSON "message" object. group selects the
// stricter rules of group messages: no buttons, no info card (API.md §6.1).
func buildMessage(m Message, group bool) (outMessage, error) {
	out := outMessage{QuoteMessageID: m.QuoteMsgID}
	if n := utf8.RuneCountInString(m.Text); n > MaxTextRunes {
		return out, fmt.Errorf("%w: text is %d characters, over the limit of %d; split it with SplitText",
			ErrTextTooLong, n, MaxTextRunes)
	}
	hasImage := m.ImageURL != "" || m.AttachmentID != ""
	switch {
	case m.InfoCard != nil:
		if group {
			return out, fmt.Errorf("%w: an info card cannot be sent to a group", ErrInvalidMessage)
		}
		if m.Text != "" || len(m.Buttons) > 0 || hasImage {
			return out, fmt.Errorf("%w: an info card is sent alone (no text, buttons or image)", ErrInvalidMessage)
		}
		c := m.InfoCard
		if strings.TrimSpace(c.Title) == "" {
			return out, fmt.Errorf("%w: info card without a title", ErrInvalidMessage)
		}
		if n := utf8.RuneCountInString(c.Title); n > MaxInfoTitleRunes {
			return out, fmt.Errorf("%w: info card title is %d characters, over %d", ErrInvalidMessage, n, MaxInfoTitleRunes)
		}
		if n := utf8.RuneCountInString(c.Subtitle); n > MaxInfoSubtitleRunes {
			return out, fmt.Errorf("%w: info card subtitle is %d characters, over %d", ErrInvalidMessage, n, MaxInfoSubtitleRunes)
		}
		out.Attachment = &attachment{Type: "template", Payload: templatePayload{
			TemplateType: "request_user_info",
			Elements:     []element{{Title: c.Title, Subtitle: c.Subtitle, ImageURL: c.ImageURL}},
		}}
	case len(m.Buttons) > 0:
		if group {
			// Group messages never carry buttons (API.md §6.1): send numbered text.
			return out, fmt.Errorf("%w: buttons are not allowed in group messages", ErrInvalidMessage)
		}
		if hasImage {
			return out, fmt.Errorf("%w: buttons cannot be combined with an image", ErrInvalidMessage)
		}
		title, subtitle, _ := strings.Cut(strings.TrimSpace(m.Text), "\n")
		title, subtitle = strings.TrimSpace(title), strings.TrimSpace(subtitle)
		if title == "" {
			return out, fmt.Errorf("%w: buttons need a text to show above them", ErrInvalidMessage)
		}
		buttons := make([]outButton, len(m.Buttons))
		for i, b := range m.Buttons {
			if strings.TrimSpace(b.Title) == "" || b.Payload == "" {
				return out, fmt.Errorf("%w: button %d needs a title and a payload", ErrInvalidMessage, i+1)
			}
			if n := utf8.RuneCountInString(b.Title); n > MaxButtonTitleRunes {
				return out, fmt.Errorf("%w: button title %q is %d characters, over %d",
					ErrInvalidMessage, b.Title, n, MaxButtonTitleRunes)
			}
			buttons[i] = outButton{Title: b.Title, Type: "oa.query.hide", Payload: b.Payload}
		}
		out.Attachment = &attachment{Type: "template", Payload: templatePayload{
			TemplateType: "list",
			Elements:     []element{{Title: title, Subtitle: subtitle}},
			Buttons:      buttons,
		}}
	case hasImage:
		if m.ImageURL != "" && m.AttachmentID != "" {
			return out, fmt.Errorf("%w: give an image url or an attachment id, not both", ErrInvalidMessage)
		}
		out.Text = m.Text
		out.Attachment = &attachment{Type: "template", Payload: templatePayload{
			TemplateType: "media",
			Elements:     []element{{MediaType: "image", URL: m.ImageURL, AttachmentID: m.AttachmentID}},
		}}
	default:
		if strings.TrimSpace(m.Text) == "" {
			return out, fmt.Errorf("%w: empty message", ErrInvalidMessage)
		}
		out.Text = m.Text
	}
	return out, nil
}

// SplitText splits s into parts of at most max runes for sending as several messages
// (API.md §4.2: text ≤ 2,000 characters; split preferably on line boundaries). Whole lines
// are packed into each part; a line longer than max is cut at the last space that fits,
// or, for a word longer than max, between runes (never before a combining mark or inside a
// zero-width-joiner sequence when that can be avoided). Line breaks at the edges of a part
// are dropped, and no part is empty or only white space. A max below 1 means
// MaxTextRunes. An empty or blank s gives no parts.
func SplitText(s string, max int) []string {
	if max < 1 {
		max = MaxTextRunes
	}
	var parts []string
	emit := func(p string) {
		p = strings.Trim(p, "\r\n")
		if strings.TrimSpace(p) != "" {
			parts = append(parts, p)
		}
	}
	var cur []string // lines of the part being packed
	curN := 0        // its length in runes, line breaks included
	flush := func() {
		emit(strings.Join(cur, "\n"))
		cur, curN = nil, 0
	}
	for _, line := range strings.Split(s, "\n") {
		n := utf8.RuneCountInString(line)
		if n > max {
			flush()
			chunks := splitLine(line, max)
			for _, c := range chunks[:len(chunks)-1] {
				emit(c)
			}
			last := chunks[len(chunks)-1]
			cur, curN = []string{last}, utf8.RuneCountInString(last)
			continue
		}
		if len(cur) > 0 && curN+1+n > max {
			flush()
		}
		if len(cur) > 0 {
			curN++ // the line break
		}
		cur = append(cur, line)
		curN += n
	}
	flush()
	return parts
}

// splitLine cuts one overlong line into chunks of at most max runes: at the last white
// space that fits (the space itself is dropped), else between runes. It returns at least
// one chunk (possibly empty).
func splitLine(line string, max int) []string {
	r := []rune(line)
	var chunks []string
	for len(r) > max {
		cut := -1
		for i := max; i > 0; i-- {
			if unicode.IsSpace(r[i]) {
				cut = i
				break
			}
		}
		if cut > 0 && strings.TrimSpace(string(r[:cut])) != "" {
			chunks = append(chunks, strings.TrimRightFunc(string(r[:cut]), unicode.IsSpace))
			r = []rune(strings.TrimLeftFunc(string(r[cut:]), unicode.IsSpace))
			continue
		}
		cut = runeCut(r, max)
		chunks = append(chunks, string(r[:cut]))
		r = r[cut:]
	}
	return append(chunks, string(r))
}

// runeCut returns where to cut r so that r[:cut] has at most max runes, moving the cut
// back so as not to separate a letter from its combining marks (Vietnamese in NFD) or to
// break an emoji sequence (variation selector, skin tone, zero-width joiner), as long as
// some text remains before the cut.
func runeCut(r []rune, max int) int {
	cut := max
	for cut > 1 && (joinsPrevious(r[cut]) || r[cut-1] == '\u200d') {
		cut--
	}
	if cut <= 1 && (joinsPrevious(r[cut]) || r[cut-1] == '\u200d') {
		return max // one huge cluster: a rune boundary is the best we can do
	}
	return cut
}

// joinsPrevious reports whether c attaches to the rune before it.
func joinsPrevious(c rune) bool {
	return unicode.Is(unicode.Mn, c) || unicode.Is(unicode.Me, c) ||
		c == '\u200d' || (c >= '\ufe00' && c <= '\ufe0f') || (c >= 0x1f3fb && c <= 0x1f3ff)
}
