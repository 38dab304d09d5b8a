package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is clubbot's configuration (CONTRACT.md "Configuration"). Every key can be
// overridden by CLUBBOT_<SECTION>_<KEY>.
type Config struct {
	HTTP struct {
		Addr           string `yaml:"addr"`
		PublicURL      string `yaml:"public_url"`
		TrustedProxies string `yaml:"trusted_proxies"`
	} `yaml:"http"`
	Store struct {
		Path string `yaml:"path"`
	} `yaml:"store"`
	Redis struct {
		URL string `yaml:"url"`
	} `yaml:"redis"`
	Zalo struct {
		AppID        string `yaml:"app_id"`
		OAID         string `yaml:"oa_id"`
		OASecretKey  string `yaml:"oa_secret_key" secret:"true"`
		AppSecret    string `yaml:"app_secret" secret:"true"`
		APIBase      string `yaml:"api_base"`
		OAuthBase    string `yaml:"oauth_base"`
		AccessToken  string `yaml:"access_token" secret:"true"`
		RefreshToken string `yaml:"refresh_token" secret:"true"`
		QuickReplies bool   `yaml:"quick_replies"`
	} `yaml:"zalo"`
	Admin struct {
		APIToken string `yaml:"api_token" secret:"true"`
	} `yaml:"admin"`
	Digest struct {
		Timezone string `yaml:"timezone"`
		Schedule string `yaml:"schedule"`
	} `yaml:"digest"`
	Reminders struct {
		DayOfMonth int    `yaml:"day_of_month"`
		Time       string `yaml:"time"`
	} `yaml:"reminders"`
	Log struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`
}

// defaultConfig holds the defaults of CONTRACT.md.
func defaultConfig() Config {
	var c Config
	c.HTTP.Addr = ":8080"
	c.Store.Path = "data/clubbot.db"
	c.Zalo.APIBase = "https://openapi.zalo.me"
	c.Zalo.OAuthBase = "https://oauth.zaloapp.com"
	c.Digest.Timezone = "Asia/Ho_Chi_Minh"
	c.Digest.Schedule = "MON 07:00"
	c.Reminders.DayOfMonth = 25
	c.Reminders.Time = "09:00"
	c.Log.Level = "info"
	c.Log.Format = "json"
	return c
}

// loadConfig reads path (if not empty) over the defaults, then applies environment
// overrides, then validates. Unknown keys in the file are errors, so a typo cannot silently
// leave a default in place.
func loadConfig(path string, env []string) (Config, error) {
	c := defaultConfig()
	if path != "" {
		src, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(src))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // an empty file keeps the defaults
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return c, err
	}
	return c, c.validate()
}

// fields walks the config's sections and keys: "zalo.api_base" → the field.
func fields(c *Config, fn func(key string, f reflect.Value, sf reflect.StructField)) {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sec := t.Field(i)
		sv := v.Field(i)
		for j := 0; j < sec.Type.NumField(); j++ {
			kf := sec.Type.Field(j)
			fn(sec.Tag.Get("yaml")+"."+kf.Tag.Get("yaml"), sv.Field(j), kf)
		}
	}
}

// envName is the environment variable of a key: zalo.api_base → CLUBBOT_ZALO_API_BASE.
func envName(key string) string {
	return "CLUBBOT_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func applyEnv(c *Config, env []string) error {
	vals := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "CLUBBOT_") {
			vals[k] = v
		}
	}
	var errs []string
	fields(c, func(key string, f reflect.Value, _ reflect.StructField) {
		v, ok := vals[envName(key)]
		if !ok {
			return
		}
		delete(vals, envName(key))
		switch f.Kind() {
		case reflect.String:
			f.SetString(v)
		case reflect.Int:
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s (%s): want a whole number, got %q", key, envName(key), v))
				return
			}
			f.SetInt(int64(n))
		case reflect.Bool:
			switch strings.ToLower(v) {
			case "1", "true", "yes", "on":
				f.SetBool(true)
			case "0", "false", "no", "off", "":
				f.SetBool(false)
			default:
				errs = append(errs, fmt.Sprintf("%s (%s): want true or false, got %q", key, envName(key), v))
			}
		}
	})
	var unknown []string
	for k := range vals {
		unknown = append(unknown, k)
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, fmt.Sprintf("%s: unknown setting (no such key)", k))
	}
	if len(errs) > 0 {
		return errors.New("config:\n  " + strings.Join(errs, "\n  "))
	}
	return nil
}

// validate checks every key and reports each bad one on its own line.
func (c Config) validate() error {
	var errs []string
	bad := func(key, msg string) { errs = append(errs, key+": "+msg) }
	if c.HTTP.Addr == "" {
		bad("http.addr", "must not be empty (e.g. :8080)")
	}
	if c.HTTP.PublicURL != "" {
		if u, err := url.Parse(c.HTTP.PublicURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			bad("http.public_url", fmt.Sprintf("want an absolute http(s) URL, got %q", c.HTTP.PublicURL))
		}
	}
	for _, p := range c.trustedProxies() {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				bad("http.trusted_proxies", fmt.Sprintf("%q is not an IP address or CIDR range", p))
			}
		}
	}
	if c.Store.Path == "" {
		bad("store.path", "must not be empty")
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("redis.url", fmt.Sprintf("want redis://host:port/db, got %q", c.Redis.URL))
		}
	}
	for key, v := range map[string]string{"zalo.api_base": c.Zalo.APIBase, "zalo.oauth_base": c.Zalo.OAuthBase} {
		if u, err := url.Parse(v); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			bad(key, fmt.Sprintf("want an absolute http(s) URL, got %q", v))
		}
	}
	if c.Zalo.AppID == "" {
		bad("zalo.app_id", "required: the Zalo app id signs every webhook event")
	}
	if c.Zalo.OASecretKey == "" {
		bad("zalo.oa_secret_key", "required: without it no webhook event can be verified")
	}
	if _, err := time.LoadLocation(c.Digest.Timezone); err != nil || c.Digest.Timezone == "" {
		bad("digest.timezone", fmt.Sprintf("unknown time zone %q", c.Digest.Timezone))
	}
	if _, _, err := parseSchedule(c.Digest.Schedule); err != nil {
		bad("digest.schedule", err.Error())
	}
	if c.Reminders.DayOfMonth < 0 || c.Reminders.DayOfMonth > 31 {
		bad("reminders.day_of_month", fmt.Sprintf("want 1–31, or 0 for no reminders, got %d", c.Reminders.DayOfMonth))
	}
	if _, err := time.Parse("15:04", c.Reminders.Time); err != nil {
		bad("reminders.time", fmt.Sprintf("want a time like 09:00, got %q", c.Reminders.Time))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", fmt.Sprintf("want debug, info, warn or error, got %q", c.Log.Level))
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		bad("log.format", fmt.Sprintf("want json or console, got %q", c.Log.Format))
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New("config:\n  " + strings.Join(errs, "\n  "))
	}
	return nil
}

// trustedProxies splits http.trusted_proxies ("10.0.0.1, 10.1.0.0/16").
func (c Config) trustedProxies() []string {
	var out []string
	for _, p := range strings.Split(c.HTTP.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseSchedule reads "MON 07:00" (weekday and time of the weekly digest).
func parseSchedule(s string) (time.Weekday, time.Duration, error) {
	day, hm, ok := strings.Cut(strings.TrimSpace(s), " ")
	days := map[string]time.Weekday{"SUN": time.Sunday, "MON": time.Monday, "TUE": time.Tuesday, "WED": time.Wednesday,
		"THU": time.Thursday, "FRI": time.Friday, "SAT": time.Saturday}
	wd, okDay := days[strings.ToUpper(day)]
	t, err := time.Parse("15:04", strings.TrimSpace(hm))
	if !ok || !okDay || err != nil {
		return 0, 0, fmt.Errorf("want a weekday and a time like \"MON 07:00\", got %q", s)
	}
	return wd, time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// masked returns the configuration as key=value lines with secrets masked, for the log.
func (c Config) masked() map[string]string {
	out := map[string]string{}
	fields(&c, func(key string, f reflect.Value, sf reflect.StructField) {
		v := fmt.Sprint(f.Interface())
		if sf.Tag.Get("secret") == "true" && v != "" {
			v = mask(v)
		}
		out[key] = v
	})
	return out
}

// mask keeps a secret recognisable to its owner without revealing it.
func mask(s string) string {
	if len(s) <= 4 {
		return "****"
	}
	return s[:2] + "****"
}

// reminderAt is reminders.time as a duration after midnight.
func (c Config) reminderAt() time.Duration {
	t, _ := time.Parse("15:04", c.Reminders.Time)
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
}
