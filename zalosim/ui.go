package zalosim

import (
	"embed"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

//go:embed web/index.html
var webFS embed.FS

// UIHandler serves the web chat page at "/" and its JSON API under "/api/". The page uses
// relative URLs only, so it works at any prefix (the demo mounts it at /sim/ with
// http.StripPrefix("/sim", ...)).
func (s *Sim) UIHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /index.html", s.servePage)
	mux.HandleFunc("GET /api/users", s.apiUsers)
	mux.HandleFunc("POST /api/users", s.apiAddUser)
	mux.HandleFunc("GET /api/groups", s.apiGroups)
	mux.HandleFunc("GET /api/messages", s.apiMessages)
	mux.HandleFunc("POST /api/events", s.apiEvents)
	mux.HandleFunc("GET /api/calls", s.apiCalls)
	mux.HandleFunc("GET /api/stats", s.apiStats)
	mux.HandleFunc("GET /api/attachments/{id}", s.apiAttachment)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		uiError(w, http.StatusNotFound, "không có API này: "+r.Method+" "+r.URL.Path)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" {
			// Mounted with StripPrefix("/sim") and asked for "/sim": the page's relative
			// URLs need the trailing slash.
			p := r.RequestURI
			if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
				p = u.Path
			}
			http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Sim) servePage(w http.ResponseWriter, r *http.Request) {
	b, err := webFS.ReadFile("web/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func uiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// UserView is a user as the JSON API shows it.
type UserView struct {
	User
	Follower        bool   `json:"follower"`
	Unfollowed      bool   `json:"unfollowed"`
	LastInteraction string `json:"last_interaction,omitempty"` // RFC 3339; empty if never
	Shared          bool   `json:"shared"`
}

func (s *Sim) userViews() []UserView {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]UserView, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.viewLocked(s.users[id]))
	}
	return out
}

func (s *Sim) viewLocked(u *userState) UserView {
	v := UserView{User: u.User, Follower: u.follower, Unfollowed: u.unfollowed, Shared: u.shared}
	if !u.lastInter.IsZero() {
		v.LastInteraction = u.lastInter.Format("2006-01-02T15:04:05.000Z07:00")
	}
	return v
}

func (s *Sim) apiUsers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.userViews())
}

func (s *Sim) apiAddUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name  string `json:"name"`
		Phone string `json:"phone"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil {
		uiError(w, http.StatusBadRequest, "thân yêu cầu không phải JSON hợp lệ")
		return
	}
	in.Name, in.Phone = strings.TrimSpace(in.Name), strings.TrimSpace(in.Phone)
	if in.Name == "" {
		uiError(w, http.StatusBadRequest, "thiếu tên (name)")
		return
	}
	u := s.AddUser(User{Name: in.Name, Phone: in.Phone})
	s.mu.Lock()
	v := s.viewLocked(s.users[u.ID])
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, v)
}

func (s *Sim) apiGroups(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := make([]group, 0, len(s.gorder))
	for _, id := range s.gorder {
		out = append(out, *s.groups[id])
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) apiMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("user_id")
	after, err := atoiDefault(q.Get("after"), 0)
	if err != nil {
		uiError(w, http.StatusBadRequest, "after phải là số")
		return
	}
	out := s.filter(func(e *Entry) bool {
		return e.Seq > after && (id == "" || e.UserID == id || e.GroupID == id)
	})
	if out == nil {
		out = []Entry{}
	}
	writeJSON(w, http.StatusOK, out)
}

type eventRequest struct {
	UserID string   `json:"user_id"`
	Kind   string   `json:"kind"`
	Text   string   `json:"text"`
	URL    string   `json:"url"`
	Lat    *float64 `json:"lat"`
	Lng    *float64 `json:"lng"`
	Name   string   `json:"name"`
	Phone  string   `json:"phone"`
}

type eventResponse struct {
	Status  int             `json:"status"`
	MsgID   string          `json:"msg_id,omitempty"`
	Event   json.RawMessage `json:"event,omitempty"`
	Webhook string          `json:"webhook_body,omitempty"`
	Error   string          `json:"error,omitempty"`
}

func (s *Sim) apiEvents(w http.ResponseWriter, r *http.Request) {
	var in eventRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		uiError(w, http.StatusBadRequest, "thân yêu cầu không phải JSON hợp lệ")
		return
	}
	u, found := s.User(in.UserID)
	if !found {
		uiError(w, http.StatusNotFound, "không có người dùng "+strconv.Quote(in.UserID))
		return
	}
	var d Delivery
	var err error
	switch in.Kind {
	case "follow":
		d, err = s.Follow(u.ID)
	case "unfollow":
		d, err = s.Unfollow(u.ID)
	case "text":
		if strings.TrimSpace(in.Text) == "" {
			uiError(w, http.StatusBadRequest, "thiếu nội dung (text)")
			return
		}
		d, err = s.SendText(u.ID, in.Text)
	case "image":
		if in.URL == "" {
			uiError(w, http.StatusBadRequest, "thiếu địa chỉ ảnh (url)")
			return
		}
		d, err = s.SendImage(u.ID, in.URL, in.Text)
	case "location":
		if in.Lat == nil || in.Lng == nil {
			uiError(w, http.StatusBadRequest, "thiếu toạ độ (lat, lng)")
			return
		}
		name := in.Text
		if name == "" {
			name = "Vị trí của tôi"
		}
		d, err = s.SendLocation(u.ID, *in.Lat, *in.Lng, name)
	case "submit_info":
		name, phone := in.Name, in.Phone
		if name == "" {
			name = u.Name
		}
		if phone == "" {
			phone = zaloPhone(u.Phone)
		}
		d, err = s.SubmitInfo(u.ID, name, phone)
	default:
		uiError(w, http.StatusBadRequest, "kind không hợp lệ: "+strconv.Quote(in.Kind)+
			` (follow, unfollow, text, image, location, submit_info)`)
		return
	}
	resp := eventResponse{Status: d.Status, MsgID: d.MsgID, Webhook: string(d.Body)}
	if d.Event != nil {
		resp.Event = d.Event
	}
	if err != nil {
		resp.Error = err.Error()
		status := http.StatusBadGateway
		if errors.Is(err, ErrNoWebhook) {
			status = http.StatusConflict
		}
		writeJSON(w, status, resp)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// zaloPhone writes a Vietnamese phone number the way Zalo shares it: 84 instead of the
// leading 0 (fixtures/user_submit_info.json).
func zaloPhone(p string) string {
	p = strings.NewReplacer(" ", "", ".", "", "-", "").Replace(p)
	p = strings.TrimPrefix(p, "+")
	if strings.HasPrefix(p, "0") {
		return "84" + p[1:]
	}
	return p
}

func (s *Sim) apiCalls(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Calls())
}

func (s *Sim) apiStats(w http.ResponseWriter, r *http.Request) {
	st := s.Stats()
	s.mu.Lock()
	out := struct {
		Stats
		Webhook            string `json:"webhook_url"`
		Down               bool   `json:"down"`
		ButtonsUnsupported bool   `json:"buttons_unsupported"`
	}{st, s.webhook, s.down, s.noButton}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) apiAttachment(w http.ResponseWriter, r *http.Request) {
	data, ct, found := s.Attachment(r.PathValue("id"))
	if !found {
		uiError(w, http.StatusNotFound, "không có ảnh này")
		return
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(data)
}
