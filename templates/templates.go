// Package templates embeds clubbot's default conversation flows (flows/*.yaml), message
// wording (messages.yaml) and digest wording (digest/*.tmpl). Admin edits are stored as new
// revisions in the store; these files are the defaults a fresh installation starts from.
package templates

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

//go:embed flows/*.yaml messages.yaml digest/*.tmpl
var files embed.FS

// Flows returns the default flow templates by file name without extension (the flow id).
func Flows() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := fs.ReadDir(files, "flows")
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".yaml" {
			continue
		}
		b, err := files.ReadFile("flows/" + e.Name())
		if err == nil {
			out[strings.TrimSuffix(e.Name(), ".yaml")] = b
		}
	}
	return out
}

// Messages returns the default message wording (YAML: key → text/template).
func Messages() []byte {
	b, _ := files.ReadFile("messages.yaml")
	return b
}

// Digest returns the default wording of the weekly digest (digest/*.tmpl, Go
// text/template) by file name.
func Digest() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := fs.ReadDir(files, "digest")
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".tmpl" {
			continue
		}
		if b, err := files.ReadFile("digest/" + e.Name()); err == nil {
			out[e.Name()] = b
		}
	}
	return out
}
