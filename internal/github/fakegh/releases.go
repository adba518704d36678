package fakegh

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type release struct {
	draft   bool
	id      int64
	tag     string
	created time.Time
	assets  []*asset
}

type asset struct {
	tag     string
	id      int64
	name    string
	data    []byte
	updated time.Time
}

// AddRelease creates a published release of tag (the newest is "latest")
// and returns its id.
func (s *Server) AddRelease(tag string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addRelease(tag).id
}

func (s *Server) addRelease(tag string) *release {
	s.nextID++
	rel := &release{id: s.nextID, tag: tag, created: time.Now().UTC().Truncate(time.Second)}
	s.releases = append(s.releases, rel)
	return rel
}

// PutAsset attaches data as asset name to the release of tag, creating the
// release, and replacing an asset of that name.
func (s *Server) PutAsset(tag, name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.findTag(tag)
	if rel == nil {
		rel = s.addRelease(tag)
	}
	s.putAsset(rel, name, data)
}

// Asset returns the content of asset name of the release of tag.
func (s *Server) Asset(tag, name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rel := s.findTag(tag); rel != nil {
		for _, a := range rel.assets {
			if a.name == name {
				return bytes.Clone(a.data), true
			}
		}
	}
	return nil, false
}

func (s *Server) putAsset(rel *release, name string, data []byte) *asset {
	for i, a := range rel.assets {
		if a.name == name {
			rel.assets = append(rel.assets[:i], rel.assets[i+1:]...)
			break
		}
	}
	s.nextID++
	a := &asset{tag: rel.tag, id: s.nextID, name: name, data: bytes.Clone(data), updated: time.Now().UTC().Truncate(time.Second)}
	rel.assets = append(rel.assets, a)
	return a
}

// AssetPath returns the URL path, on the storage host (StorageNet), of the
// bytes of a release asset, or "" when there is no such asset.
func (s *Server) AssetPath(tag, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rel := s.findTag(tag); rel != nil {
		for _, a := range rel.assets {
			if a.name == name {
				return fmt.Sprintf("/assets/%d", a.id)
			}
		}
	}
	return ""
}

func (s *Server) findTag(tag string) *release {
	for _, r := range s.releases {
		if r.tag == tag {
			return r
		}
	}
	return nil
}

func (s *Server) findAsset(id string) (*release, int) {
	n, _ := strconv.ParseInt(id, 10, 64)
	for _, r := range s.releases {
		for i, a := range r.assets {
			if a.id == n {
				return r, i
			}
		}
	}
	return nil, -1
}

func (s *Server) latestRelease(*http.Request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.releases) - 1; i >= 0; i-- {
		if !s.releases[i].draft {
			return answer{status: http.StatusOK, body: s.releaseJSON(s.releases[i])}
		}
	}
	return errAnswer(http.StatusNotFound, "Not Found")
}

func (s *Server) releaseByTag(r *http.Request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.findTag(r.PathValue("tag"))
	if rel == nil || rel.draft {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	return answer{status: http.StatusOK, body: s.releaseJSON(rel)}
}

// listReleases lists every release, drafts included, newest first.
func (s *Server) listReleases(*http.Request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []map[string]any{}
	for i := len(s.releases) - 1; i >= 0; i-- {
		list = append(list, s.releaseJSON(s.releases[i]))
	}
	return answer{status: http.StatusOK, body: list}
}

// updateRelease handles {"draft": false}: publishing a draft.
func (s *Server) updateRelease(r *http.Request) answer {
	var in struct {
		Draft *bool `json:"draft"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		return errAnswer(http.StatusBadRequest, "Problems parsing JSON")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rel := range s.releases {
		if strconv.FormatInt(rel.id, 10) == r.PathValue("id") {
			if in.Draft != nil {
				rel.draft = *in.Draft
			}
			return answer{status: http.StatusOK, body: s.releaseJSON(rel)}
		}
	}
	return errAnswer(http.StatusNotFound, "Not Found")
}

func (s *Server) createRelease(r *http.Request) answer {
	var in struct {
		TagName string `json:"tag_name"`
		Draft   bool   `json:"draft"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || in.TagName == "" {
		return answer{status: http.StatusUnprocessableEntity, body: map[string]any{"message": "Validation Failed",
			"errors": []map[string]string{{"resource": "Release", "code": "missing_field", "field": "tag_name"}}}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findTag(in.TagName) != nil {
		return answer{status: http.StatusUnprocessableEntity, body: map[string]any{"message": "Validation Failed",
			"errors": []map[string]string{{"resource": "Release", "code": "already_exists", "field": "tag_name"}}}}
	}
	rel := s.addRelease(in.TagName)
	rel.draft = in.Draft
	return answer{status: http.StatusCreated, body: s.releaseJSON(rel)}
}

func (s *Server) getAsset(r *http.Request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel, i := s.findAsset(r.PathValue("id"))
	if rel == nil {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	a := rel.assets[i]
	if r.Header.Get("Accept") == "application/octet-stream" {
		return answer{status: http.StatusFound, location: fmt.Sprintf("%s/assets/%d?X-Amz-Signature=fake", s.storage.URL, a.id)}
	}
	return answer{status: http.StatusOK, body: s.assetJSON(a)}
}

// browserDownload is github.com's download link of a public release asset:
// a 302 to storage that does not use the API rate limit.
func (s *Server) browserDownload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var a *asset
	if rel := s.findTag(r.PathValue("tag")); rel != nil && r.PathValue("owner") == s.Owner && r.PathValue("repo") == s.Repo {
		for _, x := range rel.assets {
			if x.name == r.PathValue("name") {
				a = x
			}
		}
	}
	s.mu.Unlock()
	if a == nil {
		http.NotFound(w, r)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("%s/assets/%d?X-Amz-Signature=fake", s.storage.URL, a.id), http.StatusFound)
}

func (s *Server) deleteAsset(r *http.Request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel, i := s.findAsset(r.PathValue("id"))
	if rel == nil {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	rel.assets = append(rel.assets[:i], rel.assets[i+1:]...)
	return answer{status: http.StatusNoContent}
}

func (s *Server) uploadAsset(r *http.Request) answer {
	name := r.URL.Query().Get("name")
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<30))
	if err != nil || name == "" || int64(len(data)) != r.ContentLength {
		return errAnswer(http.StatusBadRequest, "Bad Content-Length or name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var rel *release
	for _, x := range s.releases {
		if strconv.FormatInt(x.id, 10) == r.PathValue("id") {
			rel = x
		}
	}
	if rel == nil {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	for _, a := range rel.assets {
		if a.name == name {
			return answer{status: http.StatusUnprocessableEntity, body: map[string]any{"message": "Validation Failed",
				"errors": []map[string]string{{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}}}}
		}
	}
	return answer{status: http.StatusCreated, body: s.assetJSON(s.putAsset(rel, name, data))}
}

// serveStorage is the storage host an asset download redirects to. Like a
// pre-signed S3 URL, it refuses a request that carries an Authorization.
func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "Only one auth mechanism allowed", http.StatusBadRequest)
		return
	}
	id, _ := strings.CutPrefix(r.URL.Path, "/assets/")
	s.mu.Lock()
	rel, i := s.findAsset(id)
	var a *asset
	if rel != nil {
		a = rel.assets[i]
	}
	s.mu.Unlock()
	if a == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, a.name, a.updated, bytes.NewReader(a.data))
}

func (s *Server) releaseJSON(r *release) map[string]any {
	base := fmt.Sprintf("%s/repos/%s/%s/releases/%d", s.URL, s.Owner, s.Repo, r.id)
	assets := []map[string]any{}
	for _, a := range r.assets {
		assets = append(assets, s.assetJSON(a))
	}
	return map[string]any{
		"url": base, "assets_url": base + "/assets", "id": r.id, "node_id": "RE_fake",
		"upload_url": fmt.Sprintf("%s/uploads/repos/%s/%s/releases/%d/assets{?name,label}", s.URL, s.Owner, s.Repo, r.id),
		"html_url":   fmt.Sprintf("https://github.com/%s/%s/releases/tag/%s", s.Owner, s.Repo, r.tag),
		"tag_name":   r.tag, "target_commitish": "main", "name": r.tag, "draft": r.draft, "prerelease": false,
		"created_at": r.created, "published_at": r.created, "assets": assets, "body": "",
		"author":      map[string]any{"login": "fake-user", "id": 1, "type": "User"},
		"tarball_url": fmt.Sprintf("%s/repos/%s/%s/tarball/%s", s.URL, s.Owner, s.Repo, r.tag),
		"zipball_url": fmt.Sprintf("%s/repos/%s/%s/zipball/%s", s.URL, s.Owner, s.Repo, r.tag),
	}
}

func (s *Server) assetJSON(a *asset) map[string]any {
	sum := sha256.Sum256(a.data)
	return map[string]any{
		"url": fmt.Sprintf("%s/repos/%s/%s/releases/assets/%d", s.URL, s.Owner, s.Repo, a.id),
		"id":  a.id, "node_id": "RA_fake", "name": a.name, "label": "", "state": "uploaded",
		"content_type": "application/octet-stream", "size": len(a.data), "download_count": 0,
		"digest": "sha256:" + hex.EncodeToString(sum[:]), "created_at": a.updated, "updated_at": a.updated,
		"browser_download_url": fmt.Sprintf("%s/github.com/%s/%s/releases/download/%s/%s", s.URL, s.Owner, s.Repo, a.tag, a.name),
		"uploader":             map[string]any{"login": "fake-user", "id": 1, "type": "User"},
	}
}
