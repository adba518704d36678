package main

import (
	"testing"

	"github.com/ferry-ota/ferry/internal/manifest"
)

func TestRelatedBase(t *testing.T) {
	t.Parallel()
	old := []manifest.File{
		{Path: "a/b/x.go", Size: 10},
		{Path: "a/b/y.go", Size: 20},
		{Path: "a/c/z.go", Size: 30},
		{Path: "a/b/empty.go", Size: 0},
		{Path: "a/b/data.json", Size: 5},
	}
	tests := []struct {
		path   string
		want   string
		wantOK bool
	}{
		{"a/b/xx.go", "a/b/x.go", true},  // longest common prefix of the same extension
		{"a/b/new.go", "a/b/y.go", true}, // equal prefixes: the larger file
		{"a/new.go", "a/c/z.go", true},   // equal prefixes across folders too
		{"a/b/more.json", "a/b/data.json", true},
		{"a/b/readme.md", "", false}, // no old file of that extension
	}
	for _, tt := range tests {
		got, ok := relatedBase(tt.path, old)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("relatedBase(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.wantOK)
		}
	}
}
