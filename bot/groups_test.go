package bot

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"clubbot/store"
)

// TestGroupAdminAPI drives GET /api/v1/groups and PUT /api/v1/groups/{id} through the real
// server, against the simulated Zalo's group list.
func TestGroupAdminAPI(t *testing.T) {
	const token = "group-admin-token-1234"
	e := startEnvT(t, func(o *Options) { o.AdminToken = token })
	e.sim.AddGroup(obGroup, "Hội NCT Hà Nội")
	e.sim.AddGroup("b0b1b2b3b4b5b6b7b8b9", "Hội NCT Huế")
	do := func(method, path, auth, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, e.base+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	bearer := "Bearer " + token
	tests := []struct {
		name, method, path, auth, body string
		want                           int
		check                          func(map[string]any) string
	}{
		{"no token", "GET", "/api/v1/groups", "", "", 401, nil},
		{"wrong token", "GET", "/api/v1/groups", "Bearer nope", "", 401, nil},
		{"token as prefix", "GET", "/api/v1/groups", bearer[:len(bearer)-2], "", 401, nil},
		{"list", "GET", "/api/v1/groups", bearer, "", 200, func(m map[string]any) string {
			gs, _ := m["groups"].([]any)
			if len(gs) != 2 || gs[0].(map[string]any)["group_id"] != obGroup || gs[0].(map[string]any)["province"] != "" {
				return "want both groups, unmapped"
			}
			return ""
		}},
		{"map by name", "PUT", "/api/v1/groups/" + obGroup, bearer, `{"province":"Hà Nội"}`, 200, func(m map[string]any) string {
			if m["province"] != "ha-noi" {
				return "want the code ha-noi"
			}
			return ""
		}},
		{"unknown province", "PUT", "/api/v1/groups/" + obGroup, bearer, `{"province":"Atlantis"}`, 422, nil},
		{"not the OA's group", "PUT", "/api/v1/groups/ffffffffffffffffffff", bearer, `{"province":"ha-noi"}`, 404, nil},
		{"bad body", "PUT", "/api/v1/groups/" + obGroup, bearer, `province=ha-noi`, 400, nil},
		{"list shows the mapping", "GET", "/api/v1/groups", bearer, "", 200, func(m map[string]any) string {
			g := m["groups"].([]any)[0].(map[string]any)
			if g["province"] != "ha-noi" || g["province_name"] == "" || g["listed"] != true {
				return "want obGroup mapped to ha-noi"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(tt.method, tt.path, tt.auth, tt.body)
			if code != tt.want {
				t.Fatalf("status %d (%v), want %d", code, body, tt.want)
			}
			if tt.check != nil {
				if msg := tt.check(body); msg != "" {
					t.Errorf("%s: got %v", msg, body)
				}
			}
		})
	}
	var ids []string
	e.db.View(func(tx *store.Tx) error { ids, _ = tx.GroupsOfProvince("ha-noi"); return nil })
	if len(ids) != 1 || ids[0] != obGroup {
		t.Errorf("GroupsOfProvince(ha-noi) = %v", ids)
	}
	if code, _ := do("PUT", "/api/v1/groups/"+obGroup, bearer, `{"province":""}`); code != 200 {
		t.Fatalf("unmap: %d", code)
	}
	if links, _ := e.db.GroupLinks(); len(links) != 0 {
		t.Errorf("after unmapping: %v", links)
	}
	e.sim.SetDown(true)
	if code, _ := do("GET", "/api/v1/groups", bearer, ""); code != http.StatusBadGateway {
		t.Errorf("Zalo down: %d, want 502", code)
	}
}

// TestGroupAdminAPIOff: without admin.api_token the group routes do not exist.
func TestGroupAdminAPIOff(t *testing.T) {
	e := startEnvT(t, nil)
	for _, m := range []string{"GET", "PUT"} {
		req, _ := http.NewRequest(m, e.base+"/api/v1/groups"+map[string]string{"GET": "", "PUT": "/" + obGroup}[m], strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer ")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", m, resp.StatusCode)
		}
	}
}
